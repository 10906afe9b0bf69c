"""Bind every vertex of a user's mesh to the fitted template and carry template motion over.

Scheme (measured against the normal-offset scheme in ``docs/any_face.md``): each user vertex is
bound to the closest point of the fitted template (triangle + barycentric coordinates); a
template motion is carried over as a **displacement**: the user vertex moves by the barycentric
interpolation of its triangle's displacements, rotated and scaled back into the user's frame.
For a mesh equal to the template every vertex is bound to itself with weight 1, so the round trip
is exact.

Parts the template does not cover:

* surface farther than :data:`NEAR` from the template (hair, shoulders, a long neck) fades from
  full motion to **still** over the next :data:`FADE` (a Gaussian falloff);
* a separate piece (connected component other than the largest) whose median distance to the
  template exceeds :data:`PIECE_GAP` (teeth, tongue, eyes the template does not have) follows
  the template **rigidly**: all its vertices move by the mean motion of the template points they
  are bound to (a translation).

**Seams.** Where the user's mesh joins two template regions that are not neighbours on the
template (the sealed lips of a scan: its mouth-interior strip touches both our upper and lower
lip), neighbouring user vertices would follow different lips and the strip would tear into
spikes when the mouth opens. Vertices on such edges (bound triangles more than 2 rings apart on
the template) and their 1-ring get the average binding of their neighbours
(:data:`SEAM_SMOOTHING` rounds), so the strip stretches smoothly instead. Stored as extra
sparse rows (``seam_*``).

The whole carry-over is one sparse (V_u, V_t) matrix ``W``: user displacements = W @ template
displacements. Distances are in the template frame (metres).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from core.fit.closest import closest_on_mesh
from core.mesh.topology import connected_components, edges_from_faces, vertex_adjacency

__all__ = ["Binding", "bind", "NEAR", "FADE", "PIECE_GAP", "SEAM_SMOOTHING"]

#: User surface within this distance (m) of the fitted template moves fully.
NEAR = 0.01
#: Beyond NEAR, motion fades out as exp(-((d - NEAR) / FADE)^2).
FADE = 0.01
#: Separate pieces whose median distance to the template exceeds this (m) move rigidly.
PIECE_GAP = 0.004
#: Averaging rounds of the bindings of seam vertices over their user-mesh neighbours.
SEAM_SMOOTHING = 4
#: Triangles around this many nearest template vertices are tested per user vertex.
_CANDIDATE_VERTICES = 3
#: Barycentric coordinates this close to 1 are snapped to the vertex (exact round trip).
_SNAP = 1e-6


@dataclass(frozen=True)
class Binding:
    """Per-user-vertex binding to the template.

    Attributes
    ----------
    tri : (V_u, 3) int64, template vertex indices of the bound triangle
    bary : (V_u, 3) float64, barycentric weights (rows sum to 1)
    distance : (V_u,) float64, distance to the fitted template (m)
    gain : (V_u,) float64 in [0, 1], the falloff (1 = full motion)
    piece : (V_u,) int64, rigid-piece id (-1 = deforms with the surface)
    seam_row, seam_col, seam_w : (N,) int64, int64, float64
        Replacement rows of W for seam vertices (COO triplets; empty when there is no seam)
    """

    tri: np.ndarray
    bary: np.ndarray
    distance: np.ndarray
    gain: np.ndarray
    piece: np.ndarray
    seam_row: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    seam_col: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    seam_w: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def matrix(self, n_template: int) -> sp.csr_matrix:
        """The sparse carry-over matrix W (V_u, V_t)."""
        n = len(self.tri)
        rows = np.repeat(np.arange(n), 3)
        cols, vals = self.tri.ravel(), self.bary.ravel()
        if len(self.seam_row):
            keep = ~np.isin(rows, self.seam_row)
            rows = np.concatenate([rows[keep], self.seam_row])
            cols = np.concatenate([cols[keep], self.seam_col])
            vals = np.concatenate([vals[keep], self.seam_w])
        w = sp.csr_matrix((vals, (rows, cols)), shape=(n, n_template))
        if (self.piece >= 0).any():
            w = w.tolil()
            for p in np.unique(self.piece[self.piece >= 0]):
                idx = np.flatnonzero(self.piece == p)
                mean_row = sp.csr_matrix(w[idx].mean(axis=0))
                for i in idx:
                    w[i] = mean_row
            w = w.tocsr()
        return (sp.diags(self.gain) @ w).tocsr()

    def transfer(self, displacements: np.ndarray, n_template: int | None = None) -> np.ndarray:
        """Template displacements (T, V_t, 3) -> user displacements (T, V_u, 3), template frame."""
        d = np.asarray(displacements)
        t, v_t = d.shape[0], d.shape[1]
        w = self.matrix(n_template or v_t)
        flat = d.transpose(1, 0, 2).reshape(v_t, t * 3)  # (V_t, T*3)
        return np.asarray(w @ flat).reshape(-1, t, 3).transpose(1, 0, 2)

    def arrays(self) -> dict[str, np.ndarray]:
        """The fields as arrays for an npz file (``bind_*`` keys)."""
        return {
            "bind_tri": self.tri,
            "bind_bary": self.bary,
            "bind_distance": self.distance,
            "bind_gain": self.gain,
            "bind_piece": self.piece,
            "bind_seam_row": self.seam_row,
            "bind_seam_col": self.seam_col,
            "bind_seam_w": self.seam_w,
        }

    @classmethod
    def from_arrays(cls, d) -> Binding:
        """Inverse of :meth:`arrays`."""
        return cls(
            np.asarray(d["bind_tri"], np.int64),
            np.asarray(d["bind_bary"], float),
            np.asarray(d["bind_distance"], float),
            np.asarray(d["bind_gain"], float),
            np.asarray(d["bind_piece"], np.int64),
            np.asarray(d["bind_seam_row"], np.int64),
            np.asarray(d["bind_seam_col"], np.int64),
            np.asarray(d["bind_seam_w"], float),
        )


def identity_binding(n_vertices: int) -> Binding:
    """Every vertex bound to itself (a mesh of the template's own topology)."""
    idx = np.arange(n_vertices)
    bary = np.zeros((n_vertices, 3))
    bary[:, 0] = 1.0
    return Binding(
        np.stack([idx, idx, idx], axis=1),
        bary,
        np.zeros(n_vertices),
        np.ones(n_vertices),
        np.full(n_vertices, -1, np.int64),
    )


def bind(
    user_vertices: np.ndarray,
    user_faces: np.ndarray,
    template_vertices: np.ndarray,
    template_faces: np.ndarray,
) -> Binding:
    """Bind user vertices (V_u, 3), already in the template frame, to the fitted template.

    Parameters
    ----------
    user_vertices : (V_u, 3) float, user_faces : (F_u, 3) int (for the pieces)
    template_vertices : (V_t, 3) float, template_faces : (F_t, 3) int
    """
    u = np.asarray(user_vertices, float)
    tv = np.asarray(template_vertices, float)
    tf = np.asarray(template_faces, np.int64)
    _, tid, bary, dist = closest_on_mesh(u, tv, tf, k=_CANDIDATE_VERTICES)
    snap = bary.max(axis=1) > 1.0 - _SNAP
    onehot = np.zeros_like(bary)
    onehot[np.arange(len(bary)), bary.argmax(axis=1)] = 1.0
    bary[snap] = onehot[snap]
    gain = np.where(dist <= NEAR, 1.0, np.exp(-(((dist - NEAR) / FADE) ** 2)))
    labels = connected_components(np.asarray(user_faces, np.int64), len(u))
    sizes = np.bincount(labels)
    piece = np.full(len(u), -1, np.int64)
    main = int(np.argmax(sizes))
    for p in range(len(sizes)):
        if p == main:
            continue
        idx = np.flatnonzero(labels == p)
        if len(idx) and np.median(dist[idx]) > PIECE_GAP:
            piece[idx] = p
            gain[idx] = float(np.median(gain[idx]))
    tri = tf[tid]
    seam = _seam_rows(np.asarray(user_faces, np.int64), len(u), tf, len(tv), tri, bary)
    return Binding(tri, bary, dist, gain, piece, *seam)


def _seam_rows(faces, n_user, t_faces, n_template, tri, bary):
    """COO rows (row, col, w) replacing the bindings of seam vertices (see module docstring)."""
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    ring = vertex_adjacency(t_faces, n_template) + sp.eye(n_template)
    ring2 = (ring @ ring).tocsr()  # template vertices within 2 edges
    main = tri[np.arange(len(tri)), bary.argmax(axis=1)]  # (V_u,) dominant template vertex
    e = edges_from_faces(faces)  # (E, 2) user edges
    near = np.asarray(ring2[main[e[:, 0]], main[e[:, 1]]]).ravel() > 0
    if near.all():
        return empty
    adj = vertex_adjacency(faces, n_user) + sp.eye(n_user)
    seam = np.zeros(n_user)
    seam[np.unique(e[~near])] = 1.0
    seam = np.minimum(adj @ seam, 1.0)  # and their 1-ring
    avg = sp.diags(1.0 / np.asarray(adj.sum(axis=1)).ravel()) @ adj
    rows = np.repeat(np.arange(n_user), 3)
    w = sp.csr_matrix((bary.ravel(), (rows, tri.ravel())), shape=(n_user, n_template))
    on, off = sp.diags(seam), sp.diags(1.0 - seam)
    for _ in range(SEAM_SMOOTHING):
        w = (on @ (avg @ w) + off @ w).tocsr()
    idx = np.flatnonzero(seam > 0)
    sub_w = w[idx].tocoo()
    return idx[sub_w.row].astype(np.int64), sub_w.col.astype(np.int64), sub_w.data.astype(float)
