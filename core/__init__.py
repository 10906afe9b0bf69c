"""Sparse2Dense Studio core: geometry, models, data, training, evaluation and export.

This package is GUI-free: it never imports PySide6, pyvista or vtk (``tests/test_core_boundary.py``
checks it). Shape glossary used in every docstring: B batch, T frames, K landmarks (68),
V vertices, F faces, C channels, L spiral length.
"""

from core.version import __version__

__all__ = ["__version__"]
