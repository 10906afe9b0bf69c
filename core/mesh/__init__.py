"""Mesh topology, decimation / up-sampling, spirals and the decoder's mesh hierarchy.

Pure numpy/scipy/trimesh functions (no psbody, no rtree); see ``core.mesh.hierarchy`` for the
object the decoder is built from.
"""

from core.mesh.hierarchy import HIERARCHY_FORMAT_VERSION, MeshHierarchy, build_hierarchy
from core.mesh.sampling import (
    closest_points_on_triangles,
    downsample,
    qslim_decimate,
    target_size,
    upsample,
    upsampling_weights,
    vertex_quadrics,
)
from core.mesh.spirals import (
    coarse_reference_vertices,
    compute_spirals,
    default_reference_vertices,
)
from core.mesh.topology import (
    boundary_vertices,
    check_mesh,
    connected_components,
    edges_from_faces,
    ordered_one_rings,
    vertex_adjacency,
)

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
