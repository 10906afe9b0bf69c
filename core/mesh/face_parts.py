"""Teeth of a face: two arches of rounded crowns behind the lips, and how they follow a frame.

Numpy only (no VTK): the studio wraps the arrays in ``pv.PolyData``
(:mod:`app.widgets.face_parts`) and the command line's renderer draws them
(:mod:`core.io.render`), so both show the same teeth.

* :func:`teeth_meshes` places the arches once per neutral face from its iBUG-68 landmarks
  (vertex indices): crowns of super-ellipsoids along a parabola whose front sits 3 mm behind
  the lips' contact line and whose width follows the mouth corners.
* :class:`TeethRig` moves them per frame with two rigid matrices: the upper arch with the skull
  (a Kabsch fit, :func:`rigid_fit`, to nose-bridge, eye-corner and temple landmarks), the lower
  with the jaw, turned about a hinge between the jaw outline's ends (landmarks 0 and 16) as the
  inner lower lip (landmarks 65–67) turns about it and carried with that lip, so an open mouth
  shows the lower teeth just above the lower lip.

The face looks towards -y, z up, metres. Shapes: V vertices, P teeth points, Q teeth triangles.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from core.glossary import INNER_LIPS, MOUTH

__all__ = [
    "HINGE_LANDMARKS",
    "OPENING_LIT",
    "JAW_LANDMARKS",
    "SKULL_LANDMARKS",
    "TOOTH_RGB",
    "TeethMesh",
    "TeethRig",
    "rigid_fit",
    "teeth_meshes",
]

TOOTH_RGB = np.array([242, 234, 214], np.uint8)
#: Landmarks that move with the skull (temples, nose bridge and tip, inner eye corners) and with
#: the jaw (the inner lower lip).
SKULL_LANDMARKS = (0, 16, 27, 28, 29, 30, 39, 42)
JAW_LANDMARKS = (65, 66, 67)
#: The jaw hinge (near the ear) is the midpoint of the jaw outline's ends (landmarks 0 and 16).
HINGE_LANDMARKS = (0, 16)
#: Crown widths (mm) from the midline outwards: incisors, canine, premolars, first molar.
UPPER_WIDTHS = (8.5, 6.5, 7.5, 7.0, 6.5, 10.0)
LOWER_WIDTHS = (5.5, 6.0, 7.0, 7.0, 7.0, 11.0)
#: The lips' opening (mean gap between the inner lips 61-63 and 67-65, as a fraction of the inner
#: contour's width 60-64 on the neutral: 1.7 of 42 mm on the default face, whose lips are parted
#: by a slit) over which light reaches the teeth: none below, all above.
OPENING_LIT = (0.05, 0.11)
#: Crown tessellation: samples around (u, the seam repeated) and from pole to pole (v).
_NU, _NV = 10, 8
#: Super-ellipsoid exponents of a crown (north-south, east-west): boxy with rounded edges.
_N1, _N2 = 0.45, 0.6


class TeethMesh(NamedTuple):
    """One arch: points (P, 3) float64, triangles (Q, 3) int64 (counter-clockwise seen from
    outside), unit vertex normals (P, 3) float64 pointing outwards."""

    points: np.ndarray
    faces: np.ndarray
    normals: np.ndarray


# ------------------------------------------------------------------------------------ geometry
def rigid_fit(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """4x4 rotation + translation that best maps points ``src`` (N, 3) onto ``dst`` (N, 3)."""
    a, b = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    ca, cb = a.mean(0), b.mean(0)
    u, _, vt = np.linalg.svd((a - ca).T @ (b - cb))
    d = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0
    r = vt.T @ np.diag([1.0, 1.0, d]) @ u.T  # (3, 3), a proper rotation
    m = np.eye(4)
    m[:3, :3], m[:3, 3] = r, cb - r @ ca
    return m


def _power(x: np.ndarray, n: float) -> np.ndarray:
    """sign(x) |x|^n (the super-ellipsoid's signed power)."""
    return np.sign(x) * np.abs(x) ** n


def _crown_grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The unit crown's parameters: u (_NU,), v (_NV,) and its triangles on the closed grid
    (seam and poles merged): (2 (_NU-1)(_NV-1), 3) int64 into the (_NU-1) _NV grid points,
    counter-clockwise seen from outside (VTK's ParametricFunctionSource order)."""
    u = np.linspace(-np.pi, np.pi, _NU)  # the last column repeats the first
    v = np.linspace(-np.pi / 2, np.pi / 2, _NV)
    i, j = np.meshgrid(np.arange(_NU - 1), np.arange(_NV - 1), indexing="ij")
    a = (i * _NV + j).ravel()
    b, c, d = a + 1, a + _NV + 1, a + _NV  # (i, j+1), (i+1, j+1), (i+1, j)
    tri = np.stack([np.stack([a, c, d], 1), np.stack([a, b, c], 1)], 1).reshape(-1, 3)
    tri %= (_NU - 1) * _NV  # the seam column i = _NU-1 is column 0
    return u, v, tri


def _crown(rx: float, ry: float, rz: float) -> tuple[np.ndarray, np.ndarray]:
    """A super-ellipsoid crown centred at 0 with radii rx, ry, rz: points (P', 3) and triangles
    (Q', 3), the poles merged (one point each); degenerate pole triangles are dropped."""
    u, v, tri = _crown_grid()
    cu, su = np.cos(u[:-1])[:, None], np.sin(u[:-1])[:, None]  # (_NU-1, 1)
    cv, sv = np.cos(v)[None], np.sin(v)[None]  # (1, _NV)
    cv = np.where(np.abs(cv) < 1e-12, 0.0, cv)  # exactly 0 at the poles
    ring = _power(cv, _N1)
    p = np.stack(
        np.broadcast_arrays(
            rx * ring * _power(su, _N2), ry * ring * _power(cu, _N2), rz * _power(sv, _N1)
        ),
        -1,
    ).reshape(-1, 3)  # ((_NU-1) _NV, 3), index i _NV + j
    # merge each pole's copies into its first (i = 0) and drop the triangles that collapse
    j = np.arange(len(p)) % _NV
    keep_id = np.where(j == 0, 0, np.where(j == _NV - 1, _NV - 1, np.arange(len(p))))
    tri = keep_id[tri]
    tri = tri[(tri[:, 0] != tri[:, 1]) & (tri[:, 1] != tri[:, 2]) & (tri[:, 0] != tri[:, 2])]
    used, tri = np.unique(tri, return_inverse=True)
    return p[used], tri.reshape(-1, 3)


def _normals(points: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Unit vertex normals (P, 3): the mean of the unit normals of the triangles around each
    point (as VTK's normals filter, unweighted by area)."""
    e1 = points[faces[:, 1]] - points[faces[:, 0]]
    e2 = points[faces[:, 2]] - points[faces[:, 0]]
    fn = np.cross(e1, e2)
    fn /= np.maximum(np.linalg.norm(fn, axis=1, keepdims=True), 1e-30)
    vn = np.zeros_like(points)
    for k in range(3):
        np.add.at(vn, faces[:, k], fn)
    return vn / np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-30)


def _x_at_arc_length(s: float, k: float) -> float:
    """x where the arc length of y = k x^2 from 0 reaches s (Newton on the closed form)."""
    x = s
    for _ in range(8):
        u = 2 * k * x
        length = (u * np.sqrt(1 + u * u) + np.arcsinh(u)) / (4 * k) if k > 0 else x
        x -= (length - s) / np.sqrt(1 + u * u)
    return float(x)


def _arch(widths_mm, y_front, z_edge, cx, half_width, depth, height, up: float) -> TeethMesh:
    """One arch of crowns along the parabola y = y_front + k x^2 that reaches ``depth`` behind
    the front at ``half_width``; crowns reach ``height`` from the biting edge ``z_edge`` in the
    direction ``up`` (+1 upper, -1 lower). Incisors are 4.5 mm thick, the others 8 mm."""
    widths = np.asarray(widths_mm, np.float64) / 1000.0
    k = depth / half_width**2
    centres = np.cumsum(widths) - widths / 2  # arc length of each crown's centre, one side
    points, faces, n = [], [], 0
    for side in (-1.0, 1.0):
        for i, (s, w) in enumerate(zip(centres, widths, strict=True)):
            x = _x_at_arc_length(s, k)
            thick = 0.0045 if i < 3 else 0.008
            h = height * (1.0 if i < 3 else 0.75)
            p, tri = _crown(w / 2 * 0.985, thick / 2, h / 2)
            turn = np.arctan(2 * k * x) * side  # along the arch's tangent
            c, s_ = np.cos(turn), np.sin(turn)
            p = p @ np.array([[c, s_, 0.0], [-s_, c, 0.0], [0.0, 0.0, 1.0]])  # about z
            p += (
                cx + side * x,
                y_front + k * x * x + thick / 2,
                z_edge + up * (h / 2 - 0.0004 * i),
            )
            points.append(p)
            faces.append(tri + n)
            n += len(p)
    points, faces = np.concatenate(points), np.concatenate(faces)
    return TeethMesh(points, faces, _normals(points, faces))


def teeth_meshes(neutral: np.ndarray, lm_idx: np.ndarray) -> tuple[TeethMesh, TeethMesh]:
    """Upper and lower arches placed behind the lips of a neutral face (V, 3) with landmark
    vertex indices ``lm_idx`` (68,): the fronts 3 mm (upper) and 4.8 mm (lower) behind the
    inner lips' contact line, the biting edges 2.5 and 0.5 mm below the inner lips' mean
    height, 2 mm of overbite."""
    lm = np.asarray(neutral, np.float64)[np.asarray(lm_idx)]
    inner = lm[INNER_LIPS]  # (8, 3), landmarks 60-67
    cx = lm[MOUTH, 0].mean()
    z_mid = inner[:, 2].mean()
    y_front = inner[[1, 2, 3, 5, 6, 7], 1].max() + 0.003  # 3 mm behind the lip contact line
    half = 0.5 * abs(lm[54, 0] - lm[48, 0])
    upper = _arch(UPPER_WIDTHS, y_front, z_mid - 0.0025, cx, half, 0.018, 0.011, +1.0)
    lower = _arch(
        LOWER_WIDTHS, y_front + 0.0018, z_mid - 0.0005, cx, 0.9 * half, 0.017, 0.009, -1.0
    )
    return upper, lower


# -------------------------------------------------------------------------------------- motion
class TeethRig:
    """Rigid poses of the arches for any frame of one neutral face (see the module docstring).

    ``poses(vertices)`` gives the upper (skull) and lower (jaw) 4x4 matrices for a frame (V, 3);
    ``placed(vertices)`` the arches moved by them; ``light(vertices)`` how much light the lips
    let in. About 60 µs per frame, no per-vertex work beyond the landmarks.
    """

    def __init__(self, neutral: np.ndarray, lm_idx: np.ndarray) -> None:
        neutral = np.asarray(neutral, np.float64)
        self.lm_idx = np.asarray(lm_idx, np.int64)
        self.upper, self.lower = teeth_meshes(neutral, self.lm_idx)
        self._skull_ids = self.lm_idx[list(SKULL_LANDMARKS)]
        self._jaw_ids = self.lm_idx[list(JAW_LANDMARKS)]
        self._skull0 = neutral[self._skull_ids]
        self._hinge0 = neutral[self.lm_idx[list(HINGE_LANDMARKS)]].mean(0)
        self._chin0 = neutral[self._jaw_ids].mean(0) - self._hinge0
        inner = self.lm_idx[INNER_LIPS]  # (8,) landmarks 60-67
        self._gap_ids = (inner[[1, 2, 3]], inner[[7, 6, 5]])  # 61-63 facing 67-65
        self._mouth_w = float(np.linalg.norm(neutral[inner[0]] - neutral[inner[4]]))

    def light(self, vertices: np.ndarray) -> float:
        """How much light reaches the teeth through the lips of a frame (V, 3), from 0 (lips
        closed or parted by a slit: the teeth are in the mouth's shadow) to 1 (open), smoothly
        over :data:`OPENING_LIT`."""
        v = np.asarray(vertices, np.float64)
        gap = np.linalg.norm(v[self._gap_ids[0]] - v[self._gap_ids[1]], axis=1).mean()
        lo, hi = OPENING_LIT
        t = float(np.clip((gap / self._mouth_w - lo) / (hi - lo), 0.0, 1.0))
        return t * t * (3 - 2 * t)

    def poses(self, vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(skull, jaw) 4x4 float64 matrices of a frame (V, 3): identity on the neutral."""
        v = np.asarray(vertices)
        skull = rigid_fit(self._skull0, v[self._skull_ids])
        return skull, skull @ self._jaw_matrix(skull, v)

    def placed(self, vertices: np.ndarray) -> tuple[TeethMesh, TeethMesh]:
        """The upper and lower arches moved to a frame (V, 3) (points and normals)."""
        out = []
        for mesh, m in zip((self.upper, self.lower), self.poses(vertices), strict=True):
            r = m[:3, :3]
            out.append(TeethMesh(mesh.points @ r.T + m[:3, 3], mesh.faces, mesh.normals @ r.T))
        return out[0], out[1]

    def _jaw_matrix(self, skull: np.ndarray, v: np.ndarray) -> np.ndarray:
        """4x4 jaw motion in the skull's frame: turned about the hinge's x axis by the angle the
        inner lower lip turned about it, and moved so that the lip's neutral point lands on it
        (a jaw also slides forward and down as it opens)."""
        lip = np.asarray(v[self._jaw_ids], np.float64).mean(0)
        local = skull[:3, :3].T @ (lip - skull[:3, 3]) - self._hinge0  # skull frame, from hinge
        a = np.arctan2(local[2], local[1]) - np.arctan2(self._chin0[2], self._chin0[1])
        c, s = np.cos(a), np.sin(a)
        m = np.eye(4)
        m[1:3, 1:3] = [[c, -s], [s, c]]
        m[:3, 3] = (local + self._hinge0) - m[:3, :3] @ (self._chin0 + self._hinge0)
        return m
