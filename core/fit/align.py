"""Similarity alignment (Umeyama 1991) and the plain-words units/orientation of a fitted face.

The template frame is the shipped face's: metres, z up, the face looking towards -y, the subject's
right at -x. A :class:`Similarity` maps a user's coordinates into it: ``y = s R x + t``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Similarity", "umeyama", "robust_umeyama", "describe_frame"]


@dataclass(frozen=True)
class Similarity:
    """``y = scale * rotation @ x + translation`` (rotation (3, 3) proper, det = +1)."""

    scale: float
    rotation: np.ndarray
    translation: np.ndarray

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Points (..., 3) user -> template frame."""
        return self.scale * np.asarray(x, float) @ self.rotation.T + self.translation

    def inverse(self, y: np.ndarray) -> np.ndarray:
        """Points (..., 3) template frame -> user coordinates."""
        return ((np.asarray(y, float) - self.translation) @ self.rotation) / self.scale

    def inverse_vectors(self, d: np.ndarray) -> np.ndarray:
        """Displacements (..., 3) template frame -> user coordinates (no translation)."""
        return (np.asarray(d, float) @ self.rotation) / self.scale

    def as_array(self) -> np.ndarray:
        """(4, 4) homogeneous matrix."""
        m = np.eye(4)
        m[:3, :3] = self.scale * self.rotation
        m[:3, 3] = self.translation
        return m

    @classmethod
    def from_array(cls, m: np.ndarray) -> Similarity:
        """Inverse of :meth:`as_array`."""
        m = np.asarray(m, float)
        a = m[:3, :3]
        s = float(np.cbrt(np.linalg.det(a)))
        return cls(s, a / s, m[:3, 3].copy())


def umeyama(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None) -> Similarity:
    """Least-squares similarity with ``dst ~ s R src + t`` (R a proper rotation).

    Parameters
    ----------
    src, dst : (N, 3) float, N >= 3 (not all collinear)
    weights : (N,) float >= 0 or None
    """
    x, y = np.asarray(src, float), np.asarray(dst, float)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, float)
    w = w / w.sum()
    mx, my = w @ x, w @ y
    xc, yc = x - mx, y - my
    cov = (yc * w[:, None]).T @ xc  # (3, 3)
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[2] = -1.0
    rot = u @ np.diag(d) @ vt
    var = float(w @ (xc**2).sum(axis=1))
    scale = float((sig * d).sum() / var) if var > 0 else 1.0
    return Similarity(scale, rot, my - scale * rot @ mx)


def robust_umeyama(
    src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None, iterations: int = 4
) -> tuple[Similarity, float]:
    """Umeyama re-weighted against outliers (Cauchy weights on the residual).

    Returns the similarity and the relative residual: the RMS distance after alignment of the
    best 80 % of the points (a few misplaced points, e.g. on a mask's cut rim, do not count)
    divided by the RMS spread of ``dst`` (0 = perfect; faces against the template measure
    0.02-0.10, a non-face > 0.2).
    """
    x, y = np.asarray(src, float), np.asarray(dst, float)
    w0 = np.ones(len(x)) if weights is None else np.asarray(weights, float)
    w = w0.copy()
    spread = float(np.sqrt(((y - y.mean(axis=0)) ** 2).sum(axis=1).mean()))
    for _ in range(iterations):
        sim = umeyama(x, y, w)
        r = np.linalg.norm(sim.apply(x) - y, axis=1)
        c = max(float(np.median(r)) * 2.0, 1e-9)
        w = w0 / (1.0 + (r / c) ** 2)
    sim = umeyama(x, y, w)
    r = np.linalg.norm(sim.apply(x) - y, axis=1)
    best = r <= np.percentile(r, _TRIM_PERCENT)
    rel = float(np.sqrt((w0[best] * r[best] ** 2).sum() / w0[best].sum())) / max(spread, 1e-12)
    return sim, rel


#: robust_umeyama's residual counts the best this-many percent of the points.
_TRIM_PERCENT = 80.0
_AXES = ("+x", "-x", "+y", "-y", "+z", "-z")


def _axis_name(vec: np.ndarray) -> str:
    k = int(np.argmax(np.abs(vec)))
    name = "xyz"[k]
    sign = "+" if vec[k] > 0 else "-"
    tilt = np.degrees(np.arccos(min(1.0, abs(vec[k]) / np.linalg.norm(vec))))
    return f"{sign}{name}" + (f" (tilted {tilt:.0f} deg)" if tilt > 10 else "")


def describe_frame(sim: Similarity) -> dict:
    """Units, up axis and facing direction of the user's mesh, from user -> template.

    Returns a dict: ``units`` ("mm", "cm", "m" or "unknown"), ``metres_per_unit`` (float),
    ``up`` and ``facing`` (axis names such as "+y"), ``text`` (one sentence).
    """
    up = sim.rotation.T @ np.array([0.0, 0.0, 1.0])  # template up, in user axes
    facing = sim.rotation.T @ np.array([0.0, -1.0, 0.0])  # direction the face looks
    s = sim.scale
    units = "unknown"
    for name, m in (("m", 1.0), ("cm", 0.01), ("mm", 0.001), ("dm", 0.1), ("in", 0.0254)):
        if 0.6 < s / m < 1.6:
            units = name
            break
    text = (
        f"units: {units} (1 unit = {s:.4g} m to match our template), up: {_axis_name(up)}, "
        f"face looks towards {_axis_name(facing)}"
    )
    return {
        "units": units,
        "metres_per_unit": float(s),
        "up": _axis_name(up),
        "facing": _axis_name(facing),
        "text": text,
    }
