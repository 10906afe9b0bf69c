"""Per-vertex albedo of a face: skin, rosier cheeks and nose tip, redder lips and a dark mouth
interior.

Placed once per neutral face from its iBUG-68 landmarks (vertex indices); the colours then
follow the vertices through any animation. Used by the studio's viewport and the command line's
video renderer (:mod:`core.io.render`). A vertex is in the mouth interior when the neutral
face's own surface hides it from the front (:func:`mouth_interior`): with the mouth closed the
interior is behind the lips. The face looks towards -y, z up. Shapes: V vertices, F faces.
"""

from __future__ import annotations

import numpy as np

from core.glossary import INNER_LIPS, MOUTH

__all__ = ["SKIN_RGB", "eye_albedo", "mouth_interior", "skin_albedo"]

SKIN_RGB = np.array([222, 179, 153], np.float32)
LIP_RGB = np.array([196, 118, 112], np.float32)
#: Blush of the cheeks and the nose tip, blended in with a Gaussian falloff (weights below).
BLUSH_RGB = np.array([226, 156, 136], np.float32)
#: (landmark weights of the centre, z lift (m), sigma (m), peak weight) of each blush; centres
#: on the cheekbones (between the jaw's landmark 1/15 and the nose wing 31/35, lifted 8 mm) and
#: the nose tip (30).
BLUSH = (
    ({1: 0.5, 31: 0.5}, 0.008, 0.017, 0.45),
    ({15: 0.5, 35: 0.5}, 0.008, 0.017, 0.45),
    ({30: 1.0}, 0.0, 0.010, 0.35),
)
MOUTH_RGB = np.array([92, 30, 34], np.float32)  # just behind the lips
THROAT_RGB = np.array([22, 8, 10], np.float32)  # deep inside

SCLERA_RGB = np.array([236, 232, 226], np.float32)
IRIS_RGB = np.array([96, 66, 44], np.float32)
LIMBUS_RGB = np.array([44, 30, 22], np.float32)
PUPIL_RGB = np.array([12, 10, 10], np.float32)
#: Half-angles (degrees, from the eyeball's centre, around its forward axis -y) of the pupil,
#: the iris and the dark ring at the iris' edge: a 24 mm eyeball with a 12 mm iris and a 4 mm
#: pupil.
PUPIL_DEG, LIMBUS_DEG, IRIS_DEG = 10.0, 26.0, 30.0

#: Depths (metres) behind the neutral face's visible surface over which the mouth interior goes
#: from lip colour to its darkest.
INTERIOR_DEPTH = (0.003, 0.014)


def mouth_interior(
    neutral: np.ndarray, faces: np.ndarray, lm_idx: np.ndarray, res: float = 5e-4
) -> np.ndarray:
    """Depth (V,) float32 in metres of each vertex behind the neutral face's frontal surface,
    for vertices in the box around the mouth (0 elsewhere and on the visible surface).

    The face looks towards -y (z up). The box spans the mouth corners' width (+30 %) and the
    height from the chin to the nose base; a tiny z-buffer of the faces inside it, seen from the
    front, gives the visible depth at each vertex. With the mouth closed the interior is hidden
    behind the lips, so what the buffer hides there is the mouth.
    """
    v = np.asarray(neutral, np.float64)
    lm = v[lm_idx]
    cx = lm[MOUTH, 0].mean()
    half = 0.65 * abs(lm[54, 0] - lm[48, 0])
    z_lo, z_hi = lm[8, 2] + 0.5 * (lm[57, 2] - lm[8, 2]), lm[33, 2]
    y_lip = lm[INNER_LIPS, 1].mean()
    box = (np.abs(v[:, 0] - cx) < half) & (v[:, 2] > z_lo) & (v[:, 2] < z_hi)
    box &= v[:, 1] < y_lip + 0.115  # the throat, not the back of the head
    f = np.asarray(faces)[box[np.asarray(faces)].all(1)]
    depth = np.zeros(len(v), np.float32)
    if len(f) == 0:
        return depth
    x0, z1 = cx - half, z_hi
    w, h = int(2 * half / res) + 2, int((z_hi - z_lo) / res) + 2
    zbuf = np.full(h * w, np.inf)
    px, pz = (v[:, 0] - x0) / res, (z1 - v[:, 2]) / res
    # sample each triangle at a barycentric lattice (dense enough at 0.5 mm for this mesh)
    bary = _lattice(8)  # (S, 3)
    xs, zs, ys = px[f] @ bary.T, pz[f] @ bary.T, v[f, 1] @ bary.T  # (F', S) each
    col = np.clip(np.round(xs).astype(int), 0, w - 1)
    row = np.clip(np.round(zs).astype(int), 0, h - 1)
    np.minimum.at(zbuf, (row * w + col).ravel(), ys.ravel())
    i = np.flatnonzero(box)
    col = np.clip(np.round(px[i]).astype(int), 0, w - 1)
    row = np.clip(np.round(pz[i]).astype(int), 0, h - 1)
    seen = zbuf[row * w + col]
    depth[i] = np.where(np.isfinite(seen), np.maximum(v[i, 1] - seen, 0.0), 0.0)
    return depth


def _lattice(n: int) -> np.ndarray:
    """Barycentric coordinates (S, 3) of a regular lattice of n subdivisions per edge."""
    pts = [(i / n, j / n, (n - i - j) / n) for i in range(n + 1) for j in range(n + 1 - i)]
    return np.asarray(pts, np.float64)


def skin_albedo(neutral: np.ndarray, faces: np.ndarray, lm_idx: np.ndarray) -> np.ndarray:
    """Vertex colours (V, 3) uint8: skin, redder lips, dark mouth interior (module docstring)."""
    v = np.asarray(neutral, np.float64)
    lm = v[lm_idx]
    rgb = np.repeat(SKIN_RGB[None], len(v), axis=0)
    for weights, lift, sigma, peak in BLUSH:  # soft, so it reads as skin, not as paint
        centre = sum(w * lm[k] for k, w in weights.items()) + np.array([0.0, 0.0, lift])
        d2 = ((v - centre) ** 2).sum(1)
        a = peak * np.exp(-0.5 * d2 / sigma**2)
        rgb += a[:, None] * (BLUSH_RGB - rgb)
    # lips: inside the outer lip outline seen from the front, with a soft 1.5 mm edge
    outline = lm[48:60][:, [0, 2]]
    dist = _signed_distance_2d(v[:, [0, 2]], outline)  # < 0 inside
    lip = np.clip(0.5 - dist / 0.003, 0.0, 1.0) * (v[:, 1] < lm[MOUTH, 1].max() + 0.004)
    rgb += lip[:, None] * (LIP_RGB - SKIN_RGB)
    depth = mouth_interior(v, faces, lm_idx)
    t = np.clip((depth - INTERIOR_DEPTH[0]) / (INTERIOR_DEPTH[1] - INTERIOR_DEPTH[0]), 0, 1)
    inner = depth > INTERIOR_DEPTH[0]
    shade = MOUTH_RGB[None] + np.sqrt(t)[:, None] * (THROAT_RGB - MOUTH_RGB)[None]
    rgb[inner] = shade[inner]
    return np.clip(rgb, 0, 255).astype(np.uint8)


def _signed_distance_2d(p: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Distance (N,) of points (N, 2) to a closed polygon (M, 2), negative inside."""
    a, b = poly, np.roll(poly, -1, axis=0)  # (M, 2) edges a -> b
    ab = b - a
    t = np.clip(np.einsum("nmk,mk->nm", p[:, None] - a[None], ab) / (ab**2).sum(1), 0, 1)
    closest = a[None] + t[..., None] * ab[None]  # (N, M, 2)
    d = np.linalg.norm(p[:, None] - closest, axis=2).min(1)
    # even-odd rule for inside
    y, x = p[:, 1:2], p[:, 0:1]
    cross = ((a[None, :, 1] > y) != (b[None, :, 1] > y)) & (
        x < a[None, :, 0] + (y - a[None, :, 1]) * ab[None, :, 0] / (ab[None, :, 1] + 1e-30)
    )
    inside = cross.sum(1) % 2 == 1
    return np.where(inside, -d, d)


def eye_albedo(vertices: np.ndarray, eyes: np.ndarray) -> np.ndarray:
    """Colours (V, 3) uint8 for the eyeballs: sclera, iris, limbus and pupil looking ahead.

    vertices (V, 3) of the neutral face (looking towards -y); eyes (V,) bool marks the eyeball
    vertices (left of x = 0 one eyeball, right the other). Other vertices get the sclera colour
    (callers keep their own colours there).
    """
    v = np.asarray(vertices, np.float64)
    eyes = np.asarray(eyes, bool)
    rgb = np.repeat(SCLERA_RGB[None], len(v), axis=0)
    for side in (v[:, 0] < 0, v[:, 0] >= 0):
        sel = eyes & side
        if not sel.any():
            continue
        p = v[sel]
        # the eyeball's centre: least-squares sphere |p|^2 = 2 c.p + k (the mesh may be a cap)
        a = np.c_[2 * p, np.ones(len(p))]
        centre = np.linalg.lstsq(a, (p**2).sum(1), rcond=None)[0][:3]
        d = p - centre  # (n, 3) from the eyeball's centre
        cos = -d[:, 1] / np.maximum(np.linalg.norm(d, axis=1), 1e-12)
        deg = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
        col = np.repeat(SCLERA_RGB[None], len(d), axis=0)
        col[deg < IRIS_DEG] = LIMBUS_RGB
        col[deg < LIMBUS_DEG] = IRIS_RGB
        col[deg < PUPIL_DEG] = PUPIL_RGB
        rgb[sel] = col
    return np.clip(rgb, 0, 255).astype(np.uint8)
