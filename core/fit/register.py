"""Landmark-guided non-rigid registration of our template to a user's face mesh.

Stages (all in the template frame: metres, z up, face towards -y):

1. **similarity** from landmark pairs (robust Umeyama): user -> template frame;
2. **identity fit**: the PCA identity basis (``resources/identity_basis.npz``), ridge-regularised
   by its standard deviations, fitted to the landmarks and to closest-point correspondences,
   alternating with a rigid update of the similarity (3 rounds); detected landmarks are
   re-embedded on the template for each new identity estimate (``landmark_rows``);
3. **non-rigid ICP**: a per-vertex displacement ``D`` of the identity fit minimising
   ``sum_i w_i |x_i + d_i - c_i|^2 + alpha |L D|^2 + beta |A (X + D) - landmarks|^2`` for a
   decreasing stiffness ``alpha`` (:data:`STIFFNESS`), ``L`` the template's graph Laplacian (the
   eyeballs are linked to their nearest skin vertices so they follow the lids). Correspondences
   ``c_i`` are the nearest user surface samples, half point-to-point, half point-to-plane;
   ``w_i = 0`` (rejected) when the pair is farther than the stage's distance, the normals differ
   by more than 60 degrees, or the user's point lies on an open boundary (holes, cut edges).
   Extra pieces (eyes, teeth, shoulders) are thus ignored where they do not fit.

Landmarks are given as a sparse (K, V_t) matrix ``A`` of barycentric rows on the template and K
points on the user's mesh. Shapes: V_t template vertices, V_u user vertices, K landmark pairs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu
from scipy.spatial import cKDTree

from core.fit.align import Similarity, robust_umeyama, umeyama
from core.fit.raster import vertex_normals
from core.mesh.topology import boundary_vertices, vertex_adjacency

__all__ = ["Registration", "register", "STIFFNESS"]

#: (stiffness alpha, rejection distance in metres, landmark weight beta) per NICP stage.
STIFFNESS = (
    (40.0, 0.03, 4.0),
    (15.0, 0.02, 2.0),
    (5.0, 0.012, 1.0),
    (2.0, 0.008, 0.5),
    (1.0, 0.006, 0.25),
)
#: Normal compatibility: pairs whose normals differ by more than 60 degrees are rejected.
_MIN_NORMAL_COS = 0.5
#: Expected residual (metres) of the identity fit; sets the ridge prior (noise^2 / std^2).
_IDENTITY_NOISE = 0.002
#: At most this many user surface samples are used for correspondences.
_MAX_SAMPLES = 80_000


@dataclass(frozen=True)
class Registration:
    """Result of :func:`register`.

    Attributes
    ----------
    to_template : Similarity, user -> template frame
    vertices : (V_t, 3) float64, the fitted template in the template frame
    identity : (k,) float64, identity-basis coefficients of stage 2
    accepted : (V_t,) bool, template vertices with an accepted correspondence at the end
    """

    to_template: Similarity
    vertices: np.ndarray
    identity: np.ndarray
    accepted: np.ndarray


class _Target:
    """User surface samples (vertices + face centroids) with normals, searched in the user's own
    coordinates (one KD-tree for all similarity updates); matches come back in the template
    frame of the current similarity."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray):
        v = np.asarray(vertices, float)
        n = vertex_normals(v, faces)
        tri = v[faces]
        fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        fn /= np.maximum(np.linalg.norm(fn, axis=1, keepdims=True), 1e-20)
        on_border = np.zeros(len(v), bool)
        on_border[boundary_vertices(faces)] = True
        used = np.zeros(len(v), bool)
        used[faces.ravel()] = True
        pts = np.concatenate([v[used], tri.mean(axis=1)])
        nrm = np.concatenate([n[used], fn])
        border = np.concatenate([on_border[used], on_border[faces].any(axis=1)])
        if len(pts) > _MAX_SAMPLES:
            keep = np.random.default_rng(0).choice(len(pts), _MAX_SAMPLES, replace=False)
            pts, nrm, border = pts[keep], nrm[keep], border[keep]
        self.points, self.normals, self.border = pts, nrm, border
        self.tree = cKDTree(pts)
        self.sim: Similarity | None = None
        self.flip = False

    def match(self, x: np.ndarray, nx: np.ndarray, max_dist: float):
        """Targets (N, 3), weights (N,) and distances (N,) for template-frame points x with
        normals nx, under the current similarity ``self.sim``."""
        sim = self.sim
        d, j = self.tree.query(sim.inverse(x), k=1)
        d = d * sim.scale  # template-frame distance
        p = sim.apply(self.points[j])
        n = self.normals[j] @ sim.rotation.T
        if self.flip:
            n = -n
        plane = x + ((p - x) * n).sum(axis=1, keepdims=True) * n
        target = 0.5 * (p + plane)
        ok = (d < max_dist) & ((nx * n).sum(axis=1) > _MIN_NORMAL_COS) & ~self.border[j]
        return target, ok.astype(float), d


def _winding_flipped(target: _Target, template: np.ndarray, t_faces) -> bool:
    """True when the user's faces are wound inward relative to the template (e.g. mirrored)."""
    nt = vertex_normals(template, t_faces)
    sim = target.sim
    d, j = target.tree.query(sim.inverse(template), k=1)
    close = d < np.median(d)
    n = target.normals[j] @ sim.rotation.T
    return float((nt * n)[close].sum(axis=1).mean()) < 0


def _laplacian(t_vertices: np.ndarray, t_faces: np.ndarray, skin: np.ndarray) -> sp.csr_matrix:
    """Uniform graph Laplacian (V_t, V_t) with non-skin vertices linked to 3 nearest skin ones."""
    n = len(t_vertices)
    adj = vertex_adjacency(t_faces, n).tolil()
    skin_idx = np.flatnonzero(skin)
    tree = cKDTree(t_vertices[skin_idx])
    other = np.flatnonzero(~skin)
    if len(other):
        _, nn = tree.query(t_vertices[other], k=3)
        for i, row in zip(other, skin_idx[nn], strict=True):
            for j in row:
                adj[i, j] = adj[j, i] = 1.0
    adj = adj.tocsr()
    deg = np.asarray(adj.sum(axis=1)).ravel()
    return (sp.eye(n) - sp.diags(1.0 / np.maximum(deg, 1.0)) @ adj).tocsr()


def register(
    vertices: np.ndarray,
    faces: np.ndarray,
    user_landmarks: np.ndarray,
    template_landmarks: sp.csr_matrix,
    *,
    landmark_weights: np.ndarray | None = None,
    landmark_rows: Callable[[np.ndarray], sp.csr_matrix] | None = None,
    template: dict | None = None,
    progress: Callable[[str, float], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Registration:
    """Fit the template to a user mesh (see the module docstring).

    Parameters
    ----------
    vertices : (V_u, 3) float, faces : (F_u, 3) int
        The user's mesh (possibly decimated), in its own coordinates.
    user_landmarks : (K, 3) float, in the user's coordinates
    template_landmarks : (K, V_t) sparse, rows of barycentric weights on the template
    landmark_weights : (K,) float or None (jaw points from another definition can be down-weighted)
    landmark_rows : callable(alpha (k,)) -> (K, V_t) sparse, or None
        Re-embeds the landmarks for the current identity estimate (the detector's points move
        with the face's shape, :mod:`core.fit.detector_response`); called before the first
        alignment with zeros and after each identity round. None keeps ``template_landmarks``.
    template : dict or None
        ``vertices`` (V_t, 3), ``faces``, ``skin`` (V_t,) bool, ``mean``/``basis``/``std``
        (identity basis); default: the shipped face and basis.
    progress, cancelled : callbacks (see :func:`core.fit.detect.detect_face`)
    """
    tpl = template or _default_template()
    say = progress or (lambda msg, frac: None)
    stop = cancelled or (lambda: False)
    v_u, f_u = np.asarray(vertices, float), np.asarray(faces, np.int64)
    lm_u = np.asarray(user_landmarks, float)
    a = sp.csr_matrix(template_landmarks)
    w_lm = np.ones(len(lm_u)) if landmark_weights is None else np.asarray(landmark_weights, float)
    mean, basis, std = tpl["mean"], tpl["basis"], tpl["std"]
    t_faces, skin = tpl["faces"], tpl["skin"]
    k = len(std)
    bmat = basis.reshape(k, -1).T  # (3 V_t, k)
    if landmark_rows is not None:
        a = sp.csr_matrix(landmark_rows(np.zeros(k)))

    say("aligning the landmarks", 0.55)
    sim, _ = robust_umeyama(lm_u, a @ mean, w_lm)
    target = _Target(v_u, f_u)
    target.sim = sim
    target.flip = _winding_flipped(target, mean, t_faces)
    alpha = np.zeros(k)
    x = mean.copy()
    a_bmat = np.stack([a @ basis[i] for i in range(k)], axis=-1)  # (K, 3, k)
    for it in range(3):  # identity basis, alternating with the similarity
        if stop():
            raise KeyboardInterrupt
        say(f"fitting the identity ({it + 1}/3)", 0.6 + 0.03 * it)
        lm_t = sim.apply(lm_u)
        nx = vertex_normals(x, t_faces)
        c, w, _ = target.match(x, nx, 0.03)
        w = w * skin
        rows = [np.sqrt(w)[:, None, None] * basis.transpose(1, 2, 0)]  # (V_t, 3, k)
        rhs = [np.sqrt(w)[:, None] * (c - mean)]
        lw = np.sqrt(w_lm * max(w.sum(), 1.0) / max(len(lm_u), 1))
        rows.append(lw[:, None, None] * a_bmat)
        rhs.append(lw[:, None] * (lm_t - a @ mean))
        m = np.concatenate([r.reshape(-1, k) for r in rows])
        y = np.concatenate([r.reshape(-1) for r in rhs])
        reg = np.diag(_IDENTITY_NOISE**2 / std**2)
        alpha = np.linalg.solve(m.T @ m + reg, m.T @ y)
        x = mean + (bmat @ alpha).reshape(-1, 3)
        if landmark_rows is not None:
            a = sp.csr_matrix(landmark_rows(alpha))
            a_bmat = np.stack([a @ basis[i] for i in range(k)], axis=-1)
        # rigid update: move the user's points onto the template's matches
        c2, w2, _ = target.match(x, vertex_normals(x, t_faces), 0.02)
        sel = (w2 * skin) > 0
        if sel.sum() > 50:
            upd = umeyama(c2[sel], x[sel])
            sim = Similarity(
                upd.scale * sim.scale,
                upd.rotation @ sim.rotation,
                upd.scale * upd.rotation @ sim.translation + upd.translation,
            )
            target.sim = sim

    lap = _laplacian(mean, t_faces, skin)
    ltl = (lap.T @ lap).tocsc()
    ata = (a.T @ sp.diags(w_lm) @ a).tocsc()
    x0 = x.copy()
    d = np.zeros_like(x0)
    lm_t = sim.apply(lm_u)
    ok = np.zeros(len(x0), bool)
    for s, (stiff, dist, beta) in enumerate(STIFFNESS):
        for rep in range(2):
            if stop():
                raise KeyboardInterrupt
            say(
                f"non-rigid fit: stiffness {stiff:g} ({2 * s + rep + 1}/{2 * len(STIFFNESS)})",
                0.7 + 0.25 * (2 * s + rep) / (2 * len(STIFFNESS)),
            )
            cur = x0 + d
            c, w, _ = target.match(cur, vertex_normals(cur, t_faces), dist)
            w = w * skin
            ok = w > 0
            scale = max(w.sum(), 1.0) / len(w)  # keep alpha relative to the data weight
            lmw = beta * max(w.sum(), 1.0) / len(lm_u)  # landmarks weigh beta x the data in all
            lhs = sp.diags(w) + stiff * scale * ltl + lmw * ata
            rhs = w[:, None] * (c - x0) + lmw * (a.T @ (w_lm[:, None] * (lm_t - a @ x0)))
            d = splu(lhs.tocsc()).solve(rhs)
    return Registration(sim, x0 + d, alpha, ok)


def _default_template() -> dict:
    from core.assets import load_face, load_identity_basis

    face = load_face()
    basis = load_identity_basis()
    return {
        "vertices": face.vertices.astype(float),
        "faces": face.faces,
        "skin": face.skin,
        "mean": basis["mean"].astype(float),
        "basis": basis["basis"].astype(float),
        "std": basis["std"].astype(float),
    }
