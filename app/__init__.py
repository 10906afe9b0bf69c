"""Sparse2Dense Studio: the PySide6 desktop editor (``python main.py``).

Importing the package applies :func:`app.qt_compat.apply` first: PySide6 6.12 drops references
to None/True on CPython 3.11, which aborts a long-running GUI (see that module).
"""

from app import qt_compat as _qt_compat

__version__ = "0.1.0"

_qt_compat.apply()
