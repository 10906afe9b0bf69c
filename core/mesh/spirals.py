"""Spiral neighbourhoods (Neural3DMM / SpiralNet++ style) with fixed length and no padding index.

Spiral of vertex ``v``: ``[v]``, then its 1-ring in circulator order (counter-clockwise for
CCW-wound faces) starting at the neighbour on the Dijkstra shortest path from ``v`` toward the
reference vertex of its connected component (the paper's rule; a reference vertex starts at its
nearest neighbour), then each following ring, until ``length * dilation`` entries, then every
``dilation``-th entry. Ring ``k + 1`` is gathered by walking, for each vertex ``u`` of ring ``k``
in order, the fan of ``u`` counter-clockwise from the end of its already-visited arc, so rings
continue the spiral's turning direction. Rings are exactly the breadth-first layers, so they only
run out when the whole component is used; such small components repeat their spiral cyclically
(without dilation) instead of padding with ``-1``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from core.errors import InvalidInputError
from core.mesh.topology import edges_from_faces, ordered_one_rings

__all__ = ["default_reference_vertices", "coarse_reference_vertices", "compute_spirals"]


def default_reference_vertices(labels: np.ndarray) -> np.ndarray:
    """Lowest vertex index of every connected component.

    Parameters
    ----------
    labels : (V,) int
        Component ids ``0 .. n_components - 1``.

    Returns
    -------
    reference : (n_components,) int64
    """
    labels = np.asarray(labels, dtype=np.int64)
    _, first = np.unique(labels, return_index=True)
    return first.astype(np.int64)


def coarse_reference_vertices(
    fine_vertices: np.ndarray,
    fine_reference: np.ndarray,
    coarse_vertices: np.ndarray,
    coarse_labels: np.ndarray,
) -> np.ndarray:
    """Carry reference vertices to a coarser level: nearest coarse vertex of the same component.

    Parameters
    ----------
    fine_vertices : (Vf, 3) float
    fine_reference : (n_components,) int
        One fine vertex per component, ordered by component id.
    coarse_vertices : (Vc, 3) float
    coarse_labels : (Vc,) int

    Returns
    -------
    reference : (n_components,) int64
        Coarse vertex indices (a surviving reference keeps its position; ties -> lowest index).
    """
    out = np.empty(len(fine_reference), dtype=np.int64)
    for comp, ref in enumerate(np.asarray(fine_reference, dtype=np.int64)):
        members = np.flatnonzero(coarse_labels == comp)
        d = np.linalg.norm(coarse_vertices[members] - fine_vertices[ref], axis=1)
        out[comp] = members[int(np.argmin(d))]
    return out


def compute_spirals(
    vertices: np.ndarray,
    faces: np.ndarray,
    labels: np.ndarray,
    reference: np.ndarray,
    length: int = 9,
    dilation: int = 1,
) -> np.ndarray:
    """Fixed-length spiral indices of every vertex.

    Parameters
    ----------
    vertices : (V, 3) float
    faces : (F, 3) int
        Every vertex referenced by a face.
    labels : (V,) int
        Connected-component ids ``0 .. n_components - 1``.
    reference : (n_components,) int
        One reference vertex per component (fixes where every ring starts).
    length : int
        Entries per spiral ``S`` (>= 1).
    dilation : int
        Keep every ``dilation``-th entry of a spiral of ``S * dilation`` entries (>= 1).

    Returns
    -------
    spirals : (V, S) int64
        ``spirals[v, 0] == v``; every entry is a vertex of ``v``'s component; deterministic.
    """
    if length < 1 or dilation < 1:
        raise InvalidInputError(
            f"expected spiral length >= 1 and dilation >= 1, found {length} and {dilation}"
        )
    v = np.asarray(vertices, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    reference = np.asarray(reference, dtype=np.int64)
    n = len(v)
    n_comp = int(labels.max()) + 1
    if len(reference) != n_comp or (labels[reference] != np.arange(n_comp)).any():
        raise InvalidInputError(
            f"expected one reference vertex per connected component ({n_comp}), found "
            f"{reference.tolist()}; pass reference[c] = a vertex of component c"
        )
    rings = ordered_one_rings(faces, n)
    start = _ring_starts(v, faces, reference, rings)
    sizes = np.bincount(labels, minlength=n_comp).tolist()
    want = length * dilation
    out = np.empty((n, length), dtype=np.int64)
    for vi in range(n):
        ring1 = rings[vi]
        k = ring1.index(start[vi])
        ring1 = ring1[k:] + ring1[:k]
        spiral = [vi, *ring1]
        visited = set(spiral)
        last = ring1
        while len(spiral) < want and last:
            nxt = _next_ring(rings, last, visited)
            spiral.extend(nxt)
            visited.update(nxt)
            last = nxt
        if sizes[labels[vi]] >= want:
            out[vi] = spiral[:want][::dilation]
        else:  # small component: every vertex is in ``spiral``; repeat it cyclically
            out[vi] = np.resize(np.asarray(spiral, dtype=np.int64), length)
    return out


def _next_ring(rings: list[list[int]], last: list[int], visited: set[int]) -> list[int]:
    """Breadth-first layer after ``last``, ordered by walking each fan counter-clockwise."""
    nxt: list[int] = []
    seen: set[int] = set()
    for u in last:
        fan = rings[u]
        m = len(fan)
        inside = [w in visited for w in fan]
        anchor = next((j for j in range(m) if inside[j] and not inside[(j + 1) % m]), -1)
        for t in range(1, m + 1):
            w = fan[(anchor + t) % m]
            if w not in visited and w not in seen:
                nxt.append(w)
                seen.add(w)
    return nxt


def _ring_starts(
    vertices: np.ndarray, faces: np.ndarray, reference: np.ndarray, rings: list[list[int]]
) -> list[int]:
    """First 1-ring entry of every vertex: next vertex on the shortest path toward the reference."""
    n = len(vertices)
    e = edges_from_faces(faces)
    length = np.linalg.norm(vertices[e[:, 0]] - vertices[e[:, 1]], axis=1)
    length = length + 1e-12 * (length.max() + 1.0)  # keep coincident vertices connected
    graph = sp.csr_matrix((length, (e[:, 0], e[:, 1])), shape=(n, n))
    _, pred, _ = dijkstra(
        graph, directed=False, indices=reference, return_predecessors=True, min_only=True
    )
    start = pred.tolist()
    for r in reference.tolist():
        nb = np.asarray(rings[r], dtype=np.int64)
        d = np.linalg.norm(vertices[nb] - vertices[r], axis=1)
        start[r] = int(nb[np.lexsort((nb, d))[0]])  # nearest neighbour, ties -> lowest index
    return start
