"""Where the face detector's points lie on our template, as a function of the face's identity.

MediaPipe's 478 points do not sit on fixed anatomical spots: on a wider nose or a longer chin the
detector places them a little differently (it leans towards its own average face). A fixed
embedding (the points detected once on our mean face) therefore makes the fitted template slide
along the surface by 1-2 mm on other identities. This module learns the detector's response to
identity: on anny identities of the PCA identity basis (``resources/identity_basis.npz``, known
correspondence), the detected points are mapped onto the mean shape through the triangle and
barycentric coordinates where they land, and a ridge regression predicts that mean-shape position
from the identity coefficients::

    position(z) = mean + sum_j z_j jac[j]        z = alpha / std   (k identity coefficients)

:func:`core.fit.register.register` re-embeds the detector's points with the current identity
estimate after each identity round. The model ships as ``resources/mediapipe_response.npz``
(arrays ``mean`` (P, 3), ``jac`` (k, P, 3) float32 in metres, ``ridge``, ``samples``,
``mediapipe``); rebuild it with ``python tests/benchmarks/train_mediapipe_response.py``.
Without the file the fixed embedding is used.

Shapes: P = 478 MediaPipe points, k identity coefficients, V_t template vertices.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp

__all__ = [
    "DetectorResponse",
    "load_response",
    "train_response",
    "fit_response",
    "save_response",
    "ibug68_weights",
    "RESOURCE",
]

RESOURCE = "mediapipe_response.npz"
#: Detected points farther than this (metres) from the identity's surface came from the
#: detector's fill-in of a miss and are not used for training.
_ON_SURFACE = 2e-4


@dataclass(frozen=True)
class DetectorResponse:
    """The learned embedding (see the module docstring).

    Attributes
    ----------
    mean : (P, 3) float64, position on the mean shape at z = 0
    jac : (k, P, 3) float64, change of that position per unit z_j
    """

    mean: np.ndarray
    jac: np.ndarray

    def positions(self, alpha: np.ndarray, std: np.ndarray) -> np.ndarray:
        """Predicted mean-shape positions (P, 3) for identity coefficients ``alpha`` (k,)."""
        z = np.asarray(alpha, float) / np.asarray(std, float)
        return self.mean + np.tensordot(z, self.jac, axes=1)

    def rows(
        self, alpha: np.ndarray, std: np.ndarray, mean_shape: np.ndarray, faces: np.ndarray
    ) -> sp.csr_matrix:
        """Barycentric rows (P, V_t) on the template of the predicted positions."""
        from core.fit.closest import closest_on_mesh

        _, tri, bary, _ = closest_on_mesh(self.positions(alpha, std), mean_shape, faces)
        p = len(tri)
        return sp.csr_matrix(
            (bary.ravel(), (np.repeat(np.arange(p), 3), np.asarray(faces)[tri].ravel())),
            shape=(p, len(mean_shape)),
        )


@lru_cache(maxsize=1)
def load_response() -> DetectorResponse | None:
    """The shipped model, or None when the resource is missing. Shapes are checked against the
    identity basis before use; a mismatching file is an error (it belongs to another basis)."""
    from core.assets import load_identity_basis, resource_path
    from core.errors import InvalidInputError

    path = resource_path(RESOURCE)
    if not path.is_file():
        return None
    k = len(load_identity_basis()["std"])
    with np.load(path, allow_pickle=False) as d:
        mean, jac = d["mean"], d["jac"]
        if mean.ndim != 2 or mean.shape[1] != 3 or jac.shape != (k, *mean.shape):
            raise InvalidInputError(
                f"{path}: expected mean (P, 3) and jac ({k}, P, 3), found {mean.shape} and "
                f"{jac.shape}; rebuild it with tests/benchmarks/train_mediapipe_response.py"
            )
        if not (np.isfinite(mean).all() and np.isfinite(jac).all()):
            raise InvalidInputError(f"{path}: non-finite values; rebuild it")
        return DetectorResponse(mean.astype(float), jac.astype(float))


def train_response(
    samples: int,
    *,
    seed: int = 7,
    ridge: float = 30.0,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[DetectorResponse, dict]:
    """Detect on ``samples`` random identities (normal z, seed ``seed``) and fit the model.

    Each identity is rendered and detected exactly as a user's mesh is
    (:func:`core.fit.detect.detect_face`). Returns the model and a dict of training facts.
    """
    from core.assets import load_face, load_identity_basis
    from core.fit.closest import closest_on_mesh
    from core.fit.detect import detect_face

    faces = load_face().faces
    basis = load_identity_basis()
    mean_shape, std = basis["mean"].astype(float), basis["std"].astype(float)
    rng = np.random.default_rng(seed)
    zs, ys = [], []
    for i in range(samples):
        z = rng.normal(size=len(std))
        v = mean_shape + np.tensordot(z * std, basis["basis"], axes=1)
        try:
            pts = detect_face(v, faces).points
        except Exception:  # noqa: BLE001 - an identity the detector misses is skipped
            continue
        _, tri, bary, dist = closest_on_mesh(pts, v, faces)
        on_mean = np.einsum("pk,pkc->pc", bary, mean_shape[faces[tri]])
        on_mean[dist > _ON_SURFACE] = np.nan
        zs.append(z)
        ys.append(on_mean)
        if progress is not None:
            progress(i + 1, samples)
    z, y = np.array(zs), np.array(ys)  # (N, k), (N, P, 3)
    model, facts = fit_response(z, y, ridge)
    return model, {**facts, "z": z, "y": y}


def fit_response(z: np.ndarray, y: np.ndarray, ridge: float = 30.0, rounds: int = 3):
    """Robust ridge regression of positions ``y`` (N, P, 3) (NaN: missed) on ``z`` (N, k).

    A detection that is off by far more than the others (a point lifted through a slit, a
    mouth corner put on the other lip) would pull a least-squares fit by millimetres: after each
    round, per point, samples farther from the prediction than ``max(3 x median, 1 mm)`` are
    replaced by the prediction, like the missed ones, and so are all points of a detection whose
    median distance exceeds 3 x the median detection's (trimmed least squares).
    """
    n, k = z.shape
    missed = ~np.isfinite(y).all(axis=2)  # (N, P)
    x = np.concatenate([np.ones((n, 1)), z], axis=1)
    reg = ridge * np.diag([0.0] + [1.0] * k)
    solve = np.linalg.inv(x.T @ x + reg) @ x.T  # (1 + k, N)
    fill = np.where(missed[..., None], np.nanmean(y, axis=0)[None], y)
    out = missed
    for _ in range(rounds):
        w = np.tensordot(solve, fill, axes=1)  # (1 + k, P, 3)
        pred = np.tensordot(x, w, axes=1)  # (N, P, 3)
        res = np.linalg.norm(np.where(missed[..., None], 0.0, y - pred), axis=2)
        limit = np.maximum(3.0 * np.median(res, axis=0), 1e-3)  # (P,)
        per_sample = np.median(res, axis=1)  # (N,) a whole detection gone wrong
        wrong = per_sample > max(3.0 * np.median(per_sample), 1e-3)
        out = missed | (res > limit) | wrong[:, None]
        fill = np.where(out[..., None], pred, y)
    w = np.tensordot(solve, fill, axes=1)
    facts = {
        "samples": n,
        "ridge": ridge,
        "missed_fraction": float(missed.mean()),
        "trimmed_fraction": float((out & ~missed).mean()),
    }
    return DetectorResponse(w[0], w[1:]), facts


def save_response(path: str | os.PathLike[str], model: DetectorResponse, facts: dict) -> None:
    """Write the model (float32) atomically."""
    import mediapipe

    from core.io.atomic import atomic_savez

    arrays = {
        "mean": model.mean.astype(np.float32),
        "jac": model.jac.astype(np.float32),
        "ridge": np.float64(facts["ridge"]),
        "samples": np.int64(facts["samples"]),
        "mediapipe": np.str_(mediapipe.__version__),
    }
    atomic_savez(path, arrays, compressed=True)


def ibug68_weights(
    z: np.ndarray, y: np.ndarray, n: int = 8, ridge: float = 1e-6
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Learned 478 -> 68 mapping: each of our 68 landmarks as an affine mix of ``n`` detector
    points, fitted on the training detections (``z``, ``y`` as in :func:`fit_response`).

    For every identity the detections are put back on its own surface (through the mean shape's
    triangle and barycentrics) and our landmark vertices are the targets. Per landmark, the
    ``n`` detector points nearest to it (on average) get weights summing to 1 (so the mix follows
    any similarity or orthographic projection, pixels included), least squares with a small
    ridge towards equal weights. Detections whose table-68 median error exceeds 3 x the median
    detection's are left out. Returns ids (68, n) int64, weights (68, n) float64 and facts.
    """
    from core.assets import load_face, load_identity_basis, load_landmarks
    from core.fit.closest import closest_on_mesh
    from core.fit.mp68 import table_ibug68

    faces, idx = load_face().faces, load_landmarks().indices
    basis = load_identity_basis()
    mean_shape, std = basis["mean"].astype(float), basis["std"].astype(float)
    pts, truth = [], []
    for zs, ys in zip(z, y, strict=True):
        v = mean_shape + np.tensordot(zs * std, basis["basis"], axes=1)
        ok = np.isfinite(ys).all(axis=1)
        p = np.full_like(ys, np.nan)
        _, tri, bary, _ = closest_on_mesh(ys[ok], mean_shape, faces)
        p[ok] = np.einsum("pk,pkc->pc", bary, v[faces[tri]])
        pts.append(p)
        truth.append(v[idx])
    pts, truth = np.array(pts), np.array(truth)  # (N, P, 3), (N, 68, 3)
    filled = np.where(np.isfinite(pts), pts, np.nanmean(pts, axis=0))
    err = np.median(np.linalg.norm(table_ibug68(filled) - truth, axis=2), axis=1)
    keep = err <= 3.0 * np.median(err)
    pts, truth = pts[keep], truth[keep]
    centre = np.nanmean(pts, axis=0)
    ids = np.zeros((len(idx), n), np.int64)
    weights = np.zeros((len(idx), n))
    for k in range(len(idx)):
        near = np.linalg.norm(centre[:468] - truth[:, k].mean(axis=0), axis=1)  # no iris points
        ids[k] = np.argsort(near)[:n]
        use = np.isfinite(pts[:, ids[k]]).all(axis=(1, 2))
        a = pts[use][:, ids[k]].transpose(0, 2, 1).reshape(-1, n)  # (N_k * 3, n)
        b = truth[use, k].reshape(-1)
        lam = ridge * use.sum()
        m = np.block(
            [[a.T @ a + lam * np.eye(n), np.ones((n, 1))], [np.ones((1, n)), np.zeros((1, 1))]]
        )
        rhs = np.concatenate([a.T @ b + lam / n, [1.0]])
        weights[k] = np.linalg.lstsq(m, rhs, rcond=None)[0][:n]
    return ids, weights, {"samples": int(keep.sum()), "points": n, "ridge": ridge}
