"""Mesh down-sampling (COMA's QSlim variant, no psbody) and barycentric up-sampling.

Down-sampling keeps a *subset* of the fine vertices (edge collapses onto an existing endpoint,
no optimal placement), so ``coarse = fine[down_idx]`` exactly. Up-sampling maps every fine
vertex to the closest point of the coarse surface of its own connected component and stores
the affine barycentric weights of that point: ``fine ~= sum_k up_w[:, k] * coarse[up_idx[:, k]]``.
(COMA instead solves an unconstrained least-squares system, whose weights can be negative and do
not sum to 1.) ``trimesh.proximity.closest_point`` needs the optional ``rtree`` package, so the
closest point is found here with a KD-tree candidate search and the exact point-triangle routine
``trimesh.triangles.closest_point``; the barycentrics come from
``trimesh.triangles.points_to_barycentric``.
"""

from __future__ import annotations

import heapq
import math

import numpy as np
import trimesh
from scipy.spatial import cKDTree

from core.errors import InvalidInputError

__all__ = [
    "vertex_quadrics",
    "qslim_decimate",
    "closest_points_on_triangles",
    "upsampling_weights",
    "downsample",
    "upsample",
    "target_size",
]

#: Triangles whose area is below this fraction of the component's mean triangle area are ignored
#: as projection targets (their barycentric coordinates are ill-conditioned).
_DEGENERATE_AREA_FRACTION = 1e-10


def vertex_quadrics(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Garland-Heckbert quadric of every vertex (sum over incident faces of the plane quadric).

    Parameters
    ----------
    vertices : (V, 3) float
    faces : (F, 3) int

    Returns
    -------
    quadrics : (V, 4, 4) float64
        ``Q_v = sum_f e_f e_f^T`` with ``e_f = (n_f, -n_f . x_f)`` and unit normal ``n_f``;
        zero-area faces contribute nothing.
    """
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    tri = v[f]  # (F, 3, 3)
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])  # (F, 3)
    norm = np.linalg.norm(n, axis=1, keepdims=True)
    n = np.divide(n, norm, out=np.zeros_like(n), where=norm > 0)
    eq = np.concatenate([n, -(n * tri[:, 0]).sum(1, keepdims=True)], axis=1)  # (F, 4)
    q_face = eq[:, :, None] * eq[:, None, :]  # (F, 4, 4)
    q = np.zeros((len(v), 4, 4))
    for k in range(3):
        np.add.at(q, f[:, k], q_face)
    return q


def qslim_decimate(
    vertices: np.ndarray,
    faces: np.ndarray,
    n_target: int,
    labels: np.ndarray,
    min_component_vertices: int = 4,
) -> tuple[np.ndarray, np.ndarray]:
    """Decimate by quadric-error edge collapses onto an existing endpoint (COMA's QSlim variant).

    Edges are popped from a heap keyed by ``(cost, i, j)`` (ties broken by vertex indices, so the
    result is deterministic); ``cost = min(x_i^T Q x_i, x_j^T Q x_j)`` with ``Q = Q_i + Q_j`` and
    the cheaper endpoint survives with quadric ``Q``. Costs only grow, so stale heap entries are
    re-evaluated lazily when popped. Collapses that would leave a connected component with fewer
    than ``min_component_vertices`` vertices, or the mesh with fewer than ``n_target``, are
    skipped, so every component survives. Stops at ``n_target`` vertices or when no admissible
    collapse is left.

    Parameters
    ----------
    vertices : (V, 3) float
    faces : (F, 3) int
        Every vertex must be referenced (see ``core.mesh.topology.check_mesh``).
    n_target : int
        Number of vertices to keep, e.g. ``ceil(V / factor)``.
    labels : (V,) int
        Connected-component id of every vertex.
    min_component_vertices : int
        Floor on the surviving vertices of each component (components that start smaller keep all).

    Returns
    -------
    keep : (M,) int64
        Sorted indices of the surviving vertices (``M >= n_target``).
    coarse_faces : (Fc, 3) int64
        Faces re-indexed into ``keep``; degenerate and duplicate faces removed, winding preserved.
    """
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    n = len(v)
    if n_target < 1:
        raise InvalidInputError(f"expected n_target >= 1, found {n_target}")
    quad = vertex_quadrics(v, f)
    hom = np.concatenate([v, np.ones((n, 1))], axis=1)  # (V, 4) homogeneous positions

    face_list = f.tolist()
    vert_faces: list[set[int]] = [set() for _ in range(n)]
    for fi, (a, b, c) in enumerate(face_list):
        vert_faces[a].add(fi)
        vert_faces[b].add(fi)
        vert_faces[c].add(fi)
    parent = list(range(n))
    comp_alive = np.bincount(labels).tolist()
    alive = n
    lab = labels.tolist()

    def find(i: int) -> int:
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    def costs(i: int, j: int) -> tuple[float, float, np.ndarray]:
        qs = quad[i] + quad[j]
        return float(hom[i] @ qs @ hom[i]), float(hom[j] @ qs @ hom[j]), qs

    heap: list[tuple[float, int, int]] = []
    for i, j in _unique_edges(f).tolist():
        ci, cj, _ = costs(i, j)
        heap.append((min(ci, cj), i, j))
    heapq.heapify(heap)

    while alive > n_target and heap:
        cost, i0, j0 = heapq.heappop(heap)
        i, j = find(i0), find(j0)
        if i == j or not vert_faces[i] or not vert_faces[j]:
            continue
        if i > j:
            i, j = j, i
        keep_i, keep_j, qs = costs(i, j)
        new_cost = min(keep_i, keep_j)
        if new_cost > cost:
            heapq.heappush(heap, (new_cost, i, j))
            continue
        shared = vert_faces[i] & vert_faces[j]
        orphans = [
            u
            for u in {w for fi in shared for w in face_list[fi]} - {i, j}
            if vert_faces[u] <= shared
        ]
        loss = 1 + len(orphans) + ((vert_faces[i] | vert_faces[j]) <= shared)
        if comp_alive[lab[i]] - loss < min_component_vertices or alive - loss < n_target:
            continue  # inadmissible: skip this collapse, the edge leaves the queue
        keep, gone = (i, j) if keep_i < keep_j else (j, i)
        parent[gone] = keep
        quad[keep] = qs
        for fi in vert_faces[gone]:
            face = face_list[fi]
            if keep in face:  # the collapsed edge's faces become degenerate
                for u in face:
                    if u != gone:
                        vert_faces[u].discard(fi)
            else:
                face[face.index(gone)] = keep
                vert_faces[keep].add(fi)
        vert_faces[gone] = set()
        alive -= loss
        comp_alive[lab[i]] -= loss

    keep_mask = np.array([bool(s) for s in vert_faces])
    keep_idx = np.flatnonzero(keep_mask).astype(np.int64)
    live = sorted({fi for s in vert_faces for fi in s})
    new_faces = np.array([face_list[fi] for fi in live], dtype=np.int64).reshape(-1, 3)
    remap = np.full(n, -1, dtype=np.int64)
    remap[keep_idx] = np.arange(len(keep_idx))
    new_faces = remap[new_faces]
    _, first = np.unique(np.sort(new_faces, axis=1), axis=0, return_index=True)
    new_faces = new_faces[np.sort(first)]  # drop duplicate triangles, keep first occurrence
    return keep_idx, new_faces


def _unique_edges(faces: np.ndarray) -> np.ndarray:
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]], axis=0)
    return np.unique(np.sort(e, axis=1), axis=0)


def closest_points_on_triangles(
    points: np.ndarray, triangles: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact closest point of each query point on a triangle soup (no rtree needed).

    A first guess from the 8 triangles with nearest centroids bounds the distance ``d``; every
    triangle whose bounding sphere can be closer than ``d`` is then tested exactly with
    ``trimesh.triangles.closest_point``. Ties go to the lowest triangle index.

    Parameters
    ----------
    points : (P, 3) float
    triangles : (T, 3, 3) float

    Returns
    -------
    closest : (P, 3) float64
    triangle_id : (P,) int64
    distance : (P,) float64
    """
    pts = np.asarray(points, dtype=np.float64)
    tri = np.asarray(triangles, dtype=np.float64)
    centroid = tri.mean(axis=1)  # (T, 3)
    radius = np.linalg.norm(tri - centroid[:, None], axis=2).max(axis=1)  # (T,)
    tree = cKDTree(centroid)
    k = min(8, len(tri))
    _, guess = tree.query(pts, k=k)
    guess = np.asarray(guess).reshape(len(pts), k)
    pi = np.repeat(np.arange(len(pts)), k)
    ti = guess.ravel()
    cp = trimesh.triangles.closest_point(tri[ti], pts[pi])
    bound = np.linalg.norm(cp - pts[pi], axis=1).reshape(len(pts), k).min(axis=1)  # (P,)
    cand = tree.query_ball_point(pts, bound + radius.max() + 1e-12)
    pi = np.repeat(np.arange(len(pts)), [len(c) for c in cand])
    ti = np.concatenate([np.asarray(c, dtype=np.int64) for c in cand])
    cp = trimesh.triangles.closest_point(tri[ti], pts[pi])
    dist = np.linalg.norm(cp - pts[pi], axis=1)
    order = np.lexsort((ti, dist, pi))  # per point: smallest distance, then lowest triangle id
    pi, ti, cp, dist = pi[order], ti[order], cp[order], dist[order]
    first = np.flatnonzero(np.r_[True, pi[1:] != pi[:-1]])
    return cp[first], ti[first].astype(np.int64), dist[first]


def upsampling_weights(
    fine_vertices: np.ndarray,
    fine_labels: np.ndarray,
    down_idx: np.ndarray,
    coarse_faces: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Barycentric up-sampling from a vertex-subset coarse mesh back to the fine mesh.

    Kept vertices get weight 1 on themselves. Every other fine vertex is projected on the closest
    point of the coarse triangles of its own connected component; the barycentric coordinates of
    that point (``trimesh.triangles.points_to_barycentric``) are clipped at 0 and renormalised.

    Parameters
    ----------
    fine_vertices : (Vf, 3) float
    fine_labels : (Vf,) int
        Connected-component id of every fine vertex.
    down_idx : (Vc,) int
        Sorted indices of the coarse vertices in the fine mesh.
    coarse_faces : (Fc, 3) int
        Faces of the coarse mesh, indexing the coarse vertices.

    Returns
    -------
    up_idx : (Vf, 3) int64
        Coarse parent vertices of every fine vertex.
    up_w : (Vf, 3) float64
        Non-negative weights, each row sums to 1.
    """
    fv = np.asarray(fine_vertices, dtype=np.float64)
    labels = np.asarray(fine_labels, dtype=np.int64)
    down_idx = np.asarray(down_idx, dtype=np.int64)
    cf = np.asarray(coarse_faces, dtype=np.int64)
    cv = fv[down_idx]
    c_labels = labels[down_idx]
    n_fine = len(fv)
    up_idx = np.zeros((n_fine, 3), dtype=np.int64)
    up_w = np.zeros((n_fine, 3), dtype=np.float64)
    kept = np.zeros(n_fine, dtype=bool)
    kept[down_idx] = True
    up_idx[down_idx] = np.arange(len(down_idx))[:, None]
    up_w[down_idx, 0] = 1.0

    face_label = c_labels[cf[:, 0]]
    for comp in np.unique(labels):
        query = np.flatnonzero((labels == comp) & ~kept)
        if len(query) == 0:
            continue
        comp_faces = cf[face_label == comp]
        if len(comp_faces) == 0:
            raise InvalidInputError(
                f"expected coarse triangles in connected component {comp}, found none; "
                "increase min_component_vertices or use a smaller decimation factor"
            )
        tri = cv[comp_faces]  # (Tc, 3, 3)
        area = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
        good = area > _DEGENERATE_AREA_FRACTION * area.mean()
        if good.any():
            comp_faces, tri = comp_faces[good], tri[good]
        closest, tid, _ = closest_points_on_triangles(fv[query], tri)
        bary = trimesh.triangles.points_to_barycentric(tri[tid], closest)
        bary = np.clip(np.nan_to_num(bary, nan=0.0, posinf=0.0, neginf=0.0), 0.0, None)
        total = bary.sum(axis=1, keepdims=True)
        bad = total[:, 0] <= 0
        if bad.any():  # degenerate target: snap to its nearest corner
            d = np.linalg.norm(tri[tid[bad]] - closest[bad, None], axis=2)
            bary[bad] = 0.0
            bary[bad, d.argmin(axis=1)] = 1.0
            total[bad] = 1.0
        up_idx[query] = comp_faces[tid]
        up_w[query] = bary / total
    return up_idx, up_w


def downsample(x: np.ndarray, down_idx: np.ndarray) -> np.ndarray:
    """Restrict a per-vertex field to the coarse vertices.

    Parameters
    ----------
    x : (..., Vf, C) array
    down_idx : (Vc,) int

    Returns
    -------
    (..., Vc, C) array
    """
    return np.take(x, down_idx, axis=-2)


def upsample(x: np.ndarray, up_idx: np.ndarray, up_w: np.ndarray) -> np.ndarray:
    """Interpolate a coarse per-vertex field onto the fine vertices.

    Parameters
    ----------
    x : (..., Vc, C) array
    up_idx : (Vf, 3) int
    up_w : (Vf, 3) float

    Returns
    -------
    (..., Vf, C) array: ``sum_k up_w[:, k, None] * x[..., up_idx[:, k], :]``
    """
    g = np.take(x, up_idx, axis=-2)  # (..., Vf, 3, C)
    return (g * up_w[..., None]).sum(axis=-2)


def target_size(n_vertices: int, factor: float) -> int:
    """``ceil(n_vertices / factor)``, the vertex count COMA aims for at the next level."""
    return int(math.ceil(n_vertices / factor))
