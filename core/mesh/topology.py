"""Combinatorial helpers on triangle meshes: edges, open boundaries, adjacency, components and
ordered 1-rings.

All functions take plain arrays (``faces : (F, 3) int``) and return plain arrays; none of them
looks at vertex positions except :func:`check_mesh`, which validates both.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components as _cc

from core.errors import InvalidInputError

__all__ = [
    "check_mesh",
    "edges_from_faces",
    "boundary_vertices",
    "vertex_adjacency",
    "connected_components",
    "ordered_one_rings",
]


def check_mesh(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate a triangle mesh and return it as ``(float64, int64)`` copies.

    Parameters
    ----------
    vertices : (V, 3) float
        Vertex positions; must be finite.
    faces : (F, 3) int
        Triangle indices into ``vertices``; every vertex must be used by at least one face and
        no face may repeat a vertex.

    Returns
    -------
    vertices : (V, 3) float64
    faces : (F, 3) int64

    Raises
    ------
    InvalidInputError
        On wrong shapes, non-finite positions, out-of-range or degenerate faces, or unreferenced
        vertices.
    """
    v = np.asarray(vertices)
    f = np.asarray(faces)
    if v.ndim != 2 or v.shape[1] != 3 or len(v) == 0:
        raise InvalidInputError(
            f"expected vertices of shape (V, 3) with V > 0, found {v.shape}; pass an (V, 3) array"
        )
    if f.ndim != 2 or f.shape[1] != 3 or len(f) == 0:
        raise InvalidInputError(
            f"expected faces of shape (F, 3) with F > 0, found {f.shape}; triangulate the mesh first"
        )
    if not np.issubdtype(f.dtype, np.integer):
        raise InvalidInputError(f"expected integer faces, found dtype {f.dtype}; cast to int64")
    v = v.astype(np.float64)
    f = f.astype(np.int64)
    if not np.isfinite(v).all():
        raise InvalidInputError(
            "expected finite vertex positions, found NaN/inf; clean the mesh before building topology"
        )
    if f.min() < 0 or f.max() >= len(v):
        raise InvalidInputError(
            f"expected face indices in [0, {len(v)}), found [{f.min()}, {f.max()}]; "
            "the faces do not belong to these vertices"
        )
    if ((f[:, 0] == f[:, 1]) | (f[:, 1] == f[:, 2]) | (f[:, 2] == f[:, 0])).any():
        raise InvalidInputError(
            "expected faces with 3 distinct vertices, found degenerate faces; "
            "remove them (trimesh: mesh.update_faces(mesh.nondegenerate_faces()))"
        )
    used = np.zeros(len(v), dtype=bool)
    used[f.ravel()] = True
    if not used.all():
        raise InvalidInputError(
            f"expected every vertex to be used by a face, found {int((~used).sum())} unreferenced "
            "vertices; remove them (trimesh: mesh.remove_unreferenced_vertices())"
        )
    return v, f


def edges_from_faces(faces: np.ndarray) -> np.ndarray:
    """Unique undirected edges of a triangle mesh.

    Parameters
    ----------
    faces : (F, 3) int

    Returns
    -------
    edges : (E, 2) int64
        ``edges[:, 0] < edges[:, 1]``, rows sorted lexicographically.
    """
    return np.unique(_face_edges(faces), axis=0)


def boundary_vertices(faces: np.ndarray) -> np.ndarray:
    """Vertices on the open boundary of a triangle mesh: the ends of the edges that only one
    triangle uses (for the head, the rim of the neck).

    Parameters
    ----------
    faces : (F, 3) int

    Returns
    -------
    vertices : (B,) int64, sorted; empty for a closed mesh
    """
    edges, counts = np.unique(_face_edges(faces), axis=0, return_counts=True)
    return np.unique(edges[counts == 1])


def _face_edges(faces: np.ndarray) -> np.ndarray:
    """(3F, 2) int64 the three edges of every face, each as (lower, higher) vertex index."""
    f = np.asarray(faces, dtype=np.int64)
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]], axis=0)  # (3F, 2)
    return np.sort(e, axis=1)


def vertex_adjacency(faces: np.ndarray, n_vertices: int) -> sp.csr_matrix:
    """Symmetric 0/1 vertex adjacency matrix.

    Parameters
    ----------
    faces : (F, 3) int
    n_vertices : int

    Returns
    -------
    adjacency : (V, V) scipy.sparse.csr_matrix of float64, with ones for every edge (no diagonal)
    """
    e = edges_from_faces(faces)
    rows = np.concatenate([e[:, 0], e[:, 1]])
    cols = np.concatenate([e[:, 1], e[:, 0]])
    data = np.ones(len(rows), dtype=np.float64)
    return sp.csr_matrix((data, (rows, cols)), shape=(n_vertices, n_vertices))


def connected_components(faces: np.ndarray, n_vertices: int) -> np.ndarray:
    """Label the edge-connected components of a mesh.

    Parameters
    ----------
    faces : (F, 3) int
    n_vertices : int

    Returns
    -------
    labels : (V,) int64
        Component id per vertex; ids are numbered in the order of each component's lowest vertex
        index (component 0 contains vertex 0), so they are stable under re-ordering of faces.
    """
    _, raw = _cc(vertex_adjacency(faces, n_vertices), directed=False)
    # Renumber by first occurrence so the labelling does not depend on scipy internals.
    _, first = np.unique(raw, return_index=True)
    order = np.argsort(first, kind="stable")
    remap = np.empty_like(order)
    remap[order] = np.arange(len(order))
    return remap[raw].astype(np.int64)


def ordered_one_rings(faces: np.ndarray, n_vertices: int) -> list[list[int]]:
    """Neighbours of every vertex in circulator order (counter-clockwise for CCW-wound faces).

    For each face ``(v, a, b)`` (rotated so ``v`` comes first) the link ``a -> b`` is recorded;
    walking the links gives the counter-clockwise fan around ``v`` with respect to the normal
    implied by the face winding. Boundary fans start at the neighbour without an incoming link.
    Non-manifold fans (possible after decimation) are split into chains that are concatenated in
    a deterministic order (chains without an incoming link first, then by lowest vertex index).

    Parameters
    ----------
    faces : (F, 3) int
    n_vertices : int

    Returns
    -------
    rings : list of V lists of int
        ``rings[v]`` holds every edge-neighbour of ``v`` exactly once. The start of a closed fan
        is its lowest vertex index (callers rotate it, see ``core.mesh.spirals``).
    """
    f = np.asarray(faces, dtype=np.int64)
    # (3F, 3): one row (v, a, b) per face corner, the face rotated so that v comes first
    corners = np.concatenate([f, f[:, [1, 2, 0]], f[:, [2, 0, 1]]], axis=0)
    order = np.lexsort((corners[:, 2], corners[:, 1], corners[:, 0]))
    corners = corners[order]
    starts = np.searchsorted(corners[:, 0], np.arange(n_vertices + 1))
    links = corners[:, 1:].tolist()
    rings: list[list[int]] = []
    for v in range(n_vertices):
        rings.append(_chain(links[starts[v] : starts[v + 1]]))
    return rings


def _chain(links: list[list[int]]) -> list[int]:
    """Order the neighbours of one vertex from its directed links ``a -> b`` (sorted by a, b)."""
    succ: dict[int, list[int]] = {}
    has_pred: set[int] = set()
    nodes: set[int] = set()
    for a, b in links:
        succ.setdefault(a, []).append(b)
        has_pred.add(b)
        nodes.add(a)
        nodes.add(b)
    remaining = sorted(nodes)
    left = set(remaining)
    out: list[int] = []
    while left:
        heads = [u for u in remaining if u in left and u not in has_pred]
        cur = heads[0] if heads else next(u for u in remaining if u in left)
        while cur is not None:
            out.append(cur)
            left.discard(cur)
            cur = next((b for b in succ.get(cur, ()) if b in left), None)
    return out
