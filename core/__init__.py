"""Sparse2Dense Studio core: geometry, models, data, training, evaluation and export.

This package is GUI-free: it never imports PySide6, pyvista or vtk (``tests/test_core_boundary.py``
checks it). Shape glossary used in every docstring: B batch, T frames, K landmarks
(:data:`core.glossary.N_LANDMARKS` = 68), V vertices, F faces, C channels, S spiral length,
L the length of a landmark curve (SRVF).

The public API is importable from here and loaded lazily, so ``import core`` costs nothing (it
imports no torch; ``tests/test_core_api.py``)::

    from core import S2DPipeline, MotionGenerator, load_mesh, export_sequence
"""

from __future__ import annotations

import importlib

from core.version import __version__

#: public name -> module that defines it
_API = {
    "S2DPipeline": "core.pipeline",
    "MotionGenerator": "core.generate",
    "Motion": "core.motion",
    "load_face": "core.assets",
    "load_landmarks": "core.assets",
    "load_mesh": "core.io.mesh_io",
    "save_mesh": "core.io.mesh_io",
    "check_topology": "core.io.mesh_io",
    "export_sequence": "core.io.export",
    "export_glb": "core.io.export",
    "export_video": "core.io.export",
    "write_manifest": "core.io.export",
    "replay": "core.edit.replay",
    "S2DError": "core.errors",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
