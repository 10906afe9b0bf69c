"""Sparse2Dense Studio: the PySide6 desktop editor (``python main.py``)."""

__version__ = "0.1.0"
