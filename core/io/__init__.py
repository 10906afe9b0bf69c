"""Mesh input, dataset loaders and atomic exporters.

* :mod:`core.io.mesh_io` — ``load_mesh`` (OBJ/PLY, vertex order kept, validated), ``save_mesh``,
  ``check_topology``.
* :mod:`core.io.datasets` — CoMA (``FaceTalk_*/<expression>/*.ply``) and the generic
  template + landmarks + sequences layout; eager or one sequence at a time.
* :mod:`core.io.export` — ``export_sequence`` (OBJ/PLY/NPZ folder + manifest), ``export_glb``
  (morph-target animation), ``export_video`` (MP4/GIF), ``write_manifest``; all atomic.

Errors are the domain exceptions of :mod:`core.errors` (``MeshFormatError``, ``DatasetError``,
``ExportError`` and its subclass :class:`ExportCancelled`, ``InvalidInputError``).
"""

from __future__ import annotations

import importlib

_WHERE = {
    "ExportCancelled": "core.io.atomic",
    "GenericDataset": "core.io.datasets",
    "LandmarkSpec": "core.io.datasets",
    "Sequence": "core.io.datasets",
    "SequenceRef": "core.io.datasets",
    "iter_coma": "core.io.datasets",
    "iter_generic": "core.io.datasets",
    "load_coma": "core.io.datasets",
    "load_generic": "core.io.datasets",
    "load_sequence": "core.io.datasets",
    "scan_coma": "core.io.datasets",
    "export_glb": "core.io.export_gltf",
    "export_sequence": "core.io.export",
    "export_video": "core.io.export_video",
    "write_manifest": "core.io.export",
    "MeshData": "core.io.mesh_io",
    "check_topology": "core.io.mesh_io",
    "load_mesh": "core.io.mesh_io",
    "save_mesh": "core.io.mesh_io",
}


def __getattr__(name: str):
    """Import a public name on first use (PEP 562): ``core.io.mesh_io`` alone stays light."""
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'core.io' has no attribute {name!r}")


__all__ = [
    "ExportCancelled",
    "GenericDataset",
    "LandmarkSpec",
    "MeshData",
    "Sequence",
    "SequenceRef",
    "check_topology",
    "export_glb",
    "export_sequence",
    "export_video",
    "iter_coma",
    "iter_generic",
    "load_coma",
    "load_generic",
    "load_mesh",
    "load_sequence",
    "save_mesh",
    "scan_coma",
    "write_manifest",
]
