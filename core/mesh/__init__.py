"""Mesh topology, decimation / up-sampling, spirals and the decoder's mesh hierarchy.

Pure numpy/scipy/trimesh functions (no psbody, no rtree); see ``core.mesh.hierarchy`` for the
object the decoder is built from. The names are imported on first use (PEP 562): loading a
hierarchy needs neither trimesh nor the decimation code.
"""

from __future__ import annotations

import importlib

_WHERE = {
    "HIERARCHY_FORMAT_VERSION": "core.mesh.hierarchy",
    "MeshHierarchy": "core.mesh.hierarchy",
    "boundary_vertices": "core.mesh.topology",
    "build_hierarchy": "core.mesh.hierarchy",
    "check_mesh": "core.mesh.topology",
    "closest_points_on_triangles": "core.mesh.sampling",
    "coarse_reference_vertices": "core.mesh.spirals",
    "compute_spirals": "core.mesh.spirals",
    "connected_components": "core.mesh.topology",
    "default_reference_vertices": "core.mesh.spirals",
    "downsample": "core.mesh.sampling",
    "edges_from_faces": "core.mesh.topology",
    "ordered_one_rings": "core.mesh.topology",
    "qslim_decimate": "core.mesh.sampling",
    "target_size": "core.mesh.sampling",
    "upsample": "core.mesh.sampling",
    "upsampling_weights": "core.mesh.sampling",
    "vertex_adjacency": "core.mesh.topology",
    "vertex_quadrics": "core.mesh.sampling",
}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'core.mesh' has no attribute {name!r}")


__all__ = [
    "HIERARCHY_FORMAT_VERSION",
    "MeshHierarchy",
    "boundary_vertices",
    "build_hierarchy",
    "check_mesh",
    "closest_points_on_triangles",
    "coarse_reference_vertices",
    "compute_spirals",
    "connected_components",
    "default_reference_vertices",
    "downsample",
    "edges_from_faces",
    "ordered_one_rings",
    "qslim_decimate",
    "target_size",
    "upsample",
    "upsampling_weights",
    "vertex_adjacency",
    "vertex_quadrics",
]
