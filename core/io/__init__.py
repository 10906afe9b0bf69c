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

from core.io.atomic import ExportCancelled
from core.io.datasets import (
    GenericDataset,
    LandmarkSpec,
    Sequence,
    SequenceRef,
    iter_coma,
    iter_generic,
    load_coma,
    load_generic,
    load_sequence,
    scan_coma,
)
from core.io.export import export_glb, export_sequence, export_video, write_manifest
from core.io.mesh_io import MeshData, check_topology, load_mesh, save_mesh

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
