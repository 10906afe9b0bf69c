"""What makes the face read as a face: skin albedo with a dark mouth interior, teeth and eyes.

All of it is placed once per neutral face from its landmarks (iBUG-68 vertex indices) and its
eyeball vertices, and then follows the animation rigidly, with no per-vertex work per frame:

* **skin albedo** (V, 3) uint8, drawn as the skin's vertex colours: skin tone, lips a little
  redder, and the mouth interior darkening with its depth behind the lips (a vertex is interior
  when the neutral face's own surface hides it from the front, see :func:`mouth_interior`);
* **teeth**: two arches of rounded crowns behind the lips. The upper arch moves with the skull
  (a rigid fit to nose-bridge, eye-corner and temple landmarks), the lower with the jaw: turned
  about a hinge between the jaw outline's ends (landmarks 0 and 16) as the inner lower lip
  (landmarks 65–67) turns about it, and carried with that lip, so an open mouth shows the lower
  teeth just above the lower lip;
* **throat**: a dark plane behind the mouth that closes the mouth bag's open back;
* **eyes**: a smooth sphere fitted to each eyeball (radius 16 mm on the default face) with
  sclera, iris, limbal ring and pupil as vertex colours and a glossy specular highlight; each
  follows a rigid fit to its eyeball's vertices. They replace the low-poly eyeball meshes.

The rigid fits are Kabsch solutions on a few points (:func:`rigid_fit`), about 30 µs each.
Shapes: V vertices, F faces, K = 68 landmarks.
"""

from __future__ import annotations

import numpy as np
import pyvista as pv

from core.mesh.albedo import THROAT_RGB, mouth_interior, skin_albedo

__all__ = ["FaceParts", "mouth_interior", "rigid_fit", "skin_albedo", "teeth_meshes"]


TOOTH_RGB = np.array([242, 234, 214], np.uint8)
SCLERA_RGB = np.array([236, 232, 226], np.float32)
IRIS_RGB = np.array([92, 62, 38], np.float32)
IRIS_INNER_RGB = np.array([140, 102, 60], np.float32)
LIMBUS_RGB = np.array([40, 28, 20], np.float32)
PUPIL_RGB = np.array([8, 6, 6], np.float32)

#: Iris, limbus and pupil as half-angles (radians) from the gaze axis of a 16 mm eyeball.
PUPIL_ANGLE, IRIS_ANGLE, LIMBUS_WIDTH = 0.17, 0.47, 0.06
#: Landmarks that move with the skull (temples, nose bridge and tip, inner eye corners) and with
#: the jaw (the chin).
SKULL_LANDMARKS = (0, 16, 27, 28, 29, 30, 39, 42)
JAW_LANDMARKS = (65, 66, 67)
#: The jaw hinge (near the ear) is the midpoint of the jaw outline's ends (landmarks 0 and 16).
HINGE_LANDMARKS = (0, 16)
#: Crown widths (mm) from the midline outwards: incisors, canine, premolars, first molar.
UPPER_WIDTHS = (8.5, 6.5, 7.5, 7.0, 6.5, 10.0)
LOWER_WIDTHS = (5.5, 6.0, 7.0, 7.0, 7.0, 11.0)


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


def _fit_sphere(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares sphere (centre (3,), radius) through points (N, 3)."""
    p = np.asarray(points, np.float64)
    a = np.c_[2 * p, np.ones(len(p))]
    sol = np.linalg.lstsq(a, (p**2).sum(1), rcond=None)[0]
    centre = sol[:3]
    return centre, float(np.sqrt(sol[3] + centre @ centre))


# --------------------------------------------------------------------------------------- teeth
def _arch(widths_mm, y_front, z_edge, cx, half_width, depth, height, up: float):
    """One arch of teeth (PolyData) in the face's frame (metres): ellipsoid crowns along a
    parabola y = y_front + k x^2 reaching ``depth`` behind the front at ``half_width``;
    crowns reach ``height`` from the biting edge ``z_edge`` in direction ``up`` (+1 / -1)."""
    widths = np.asarray(widths_mm, np.float64) / 1000.0
    k = depth / half_width**2
    centres = np.cumsum(widths) - widths / 2  # arc length of each crown's centre, one side
    parts = []
    for side in (-1.0, 1.0):
        for i, (s, w) in enumerate(zip(centres, widths, strict=True)):
            x = _x_at_arc_length(s, k)
            slope = 2 * k * x
            thick = 0.0045 if i < 3 else 0.008
            h = height * (1.0 if i < 3 else 0.75)
            crown = pv.ParametricSuperEllipsoid(
                w / 2 * 0.985, thick / 2, h / 2, n1=0.45, n2=0.6, u_res=10, v_res=8, w_res=2
            )
            crown.rotate_z(np.degrees(np.arctan(slope)) * side, inplace=True)
            crown.translate(
                (
                    cx + side * x,
                    y_front + k * x * x + thick / 2,
                    z_edge + up * (h / 2 - 0.0004 * i),
                ),
                inplace=True,
            )
            parts.append(crown)
    teeth = pv.merge(parts).triangulate()
    teeth = teeth.compute_normals(auto_orient_normals=False, split_vertices=False)
    return teeth


def _x_at_arc_length(s: float, k: float) -> float:
    """x where the arc length of y = k x^2 from 0 reaches s (Newton on the closed form)."""
    x = s
    for _ in range(8):
        u = 2 * k * x
        length = (u * np.sqrt(1 + u * u) + np.arcsinh(u)) / (4 * k) if k > 0 else x
        x -= (length - s) / np.sqrt(1 + u * u)
    return float(x)


def throat_mesh(neutral: np.ndarray, lm_idx: np.ndarray) -> pv.PolyData:
    """A dark plane 45 mm behind the lips that closes the mouth bag's open back (through it one
    would otherwise see the inside of the neck)."""
    lm = np.asarray(neutral, np.float64)[lm_idx]
    c = lm[60:68].mean(0)
    return pv.Plane(
        center=(c[0], c[1] + 0.045, c[2] - 0.004),
        direction=(0, -1, 0),
        i_size=0.05,
        j_size=0.04,
        i_resolution=1,
        j_resolution=1,
    )


def teeth_meshes(neutral: np.ndarray, lm_idx: np.ndarray) -> tuple[pv.PolyData, pv.PolyData]:
    """Upper and lower arches (PolyData, face frame) placed behind the neutral's lips."""
    lm = np.asarray(neutral, np.float64)[lm_idx]
    cx = lm[48:68, 0].mean()
    z_mid = lm[60:68, 2].mean()
    y_front = lm[[61, 62, 63, 65, 66, 67], 1].max() + 0.003  # 3 mm behind the lip contact line
    half = 0.5 * abs(lm[54, 0] - lm[48, 0])
    upper = _arch(UPPER_WIDTHS, y_front, z_mid - 0.0025, cx, half, 0.018, 0.011, +1.0)
    lower = _arch(
        LOWER_WIDTHS, y_front + 0.0018, z_mid - 0.0005, cx, 0.9 * half, 0.017, 0.009, -1.0
    )
    return upper, lower


# ---------------------------------------------------------------------------------------- eyes
def eye_sphere(centre: np.ndarray, radius: float, gaze=(0.0, -1.0, 0.0)) -> pv.PolyData:
    """A smooth eyeball (PolyData) with sclera/iris/limbus/pupil vertex colours ``rgb``."""
    gaze = np.asarray(gaze, np.float64) / np.linalg.norm(gaze)
    ball = pv.Sphere(
        radius=radius, center=centre, direction=gaze, theta_resolution=28, phi_resolution=24
    )
    ball = ball.compute_normals(auto_orient_normals=False, split_vertices=False)
    d = (np.asarray(ball.points, np.float64) - centre) / radius
    angle = np.arccos(np.clip(d @ gaze, -1.0, 1.0))  # (N,) from the gaze axis
    iris_t = np.clip(angle / IRIS_ANGLE, 0, 1)[:, None]
    rgb = IRIS_INNER_RGB + iris_t * (IRIS_RGB - IRIS_INNER_RGB)
    rgb = np.where((angle > IRIS_ANGLE - LIMBUS_WIDTH)[:, None], LIMBUS_RGB, rgb)
    rgb = np.where((angle > IRIS_ANGLE)[:, None], SCLERA_RGB, rgb)
    rgb = np.where((angle < PUPIL_ANGLE)[:, None], PUPIL_RGB, rgb)
    ball.point_data["rgb"] = rgb.astype(np.uint8)
    return ball


_CACHE: dict = {}


def _placed(neutral: np.ndarray, faces: np.ndarray, lm_idx: np.ndarray, eye_ids: list):
    """(albedo, upper teeth, lower teeth, eye balls) of a neutral face, cached for the last two
    faces (a compare grid shows one face many times; the meshes are shared, never changed)."""
    import hashlib

    key = hashlib.blake2b(np.ascontiguousarray(neutral).tobytes(), digest_size=16).digest()
    if key not in _CACHE:
        balls = []
        for ids in eye_ids:
            centre, radius = _fit_sphere(neutral[ids])
            balls.append(eye_sphere(centre, 0.995 * radius))
        _CACHE[key] = (
            skin_albedo(neutral, faces, lm_idx),
            *teeth_meshes(neutral, lm_idx),
            balls,
            throat_mesh(neutral, lm_idx),
        )
        while len(_CACHE) > 2:
            _CACHE.pop(next(iter(_CACHE)))
    return _CACHE[key]


class FaceParts:
    """The teeth and eye actors of one face and the skin's albedo; see the module docstring.

    ``update(vertices)`` places the parts for a frame (V, 3); ``set_neutral(neutral)`` re-places
    them for another face of the same topology.
    """

    def __init__(
        self, plotter, faces: np.ndarray, skin: np.ndarray, lm_idx: np.ndarray, neutral: np.ndarray
    ) -> None:
        self.plotter, self.faces = plotter, np.asarray(faces)
        self.lm_idx = np.asarray(lm_idx, np.int64)
        eyes = np.flatnonzero(~np.asarray(skin, bool))
        self.eye_ids = [
            i for i in (eyes[neutral[eyes, 0] < 0], eyes[neutral[eyes, 0] >= 0]) if len(i) >= 4
        ]
        self.actors: list = []
        self.neutral: np.ndarray | None = None
        self.albedo: np.ndarray | None = None
        self.set_neutral(neutral)

    def set_neutral(self, neutral: np.ndarray) -> bool:
        """Rebuild the parts for a neutral face (V, 3); False when it is the same face."""
        neutral = np.asarray(neutral, np.float32)
        if self.neutral is not None and np.array_equal(neutral, self.neutral):
            self.neutral = neutral  # the same face: remember this array, rebuild nothing
            return False
        for actor in self.actors:
            self.plotter.remove_actor(actor, render=False)
        self.neutral = neutral
        self.albedo, upper, lower, balls, throat = _placed(
            neutral, self.faces, self.lm_idx, self.eye_ids
        )
        add = dict(render=False, reset_camera=False, pickable=False)
        tooth = dict(
            color=TOOTH_RGB / 255.0,
            specular=0.35,
            specular_power=40,
            diffuse=0.75,
            ambient=0.3,
            smooth_shading=False,
        )
        self.upper = self.plotter.add_mesh(upper, **tooth, **add)
        self.lower = self.plotter.add_mesh(lower, **tooth, **add)
        self.throat = self.plotter.add_mesh(
            throat, color=THROAT_RGB / 255.0, ambient=1.0, diffuse=0.0, specular=0.0, **add
        )
        self.eyes = [
            self.plotter.add_mesh(
                ball,
                scalars="rgb",
                rgb=True,
                specular=0.9,
                specular_power=90,
                diffuse=0.8,
                ambient=0.05,
                **add,
            )
            for ball in balls
        ]
        for a in (self.upper, self.lower, *self.eyes):
            a.prop.interpolation = "phong"
        self.actors = [self.upper, self.lower, self.throat, *self.eyes]
        self._skull0 = neutral[self.lm_idx[list(SKULL_LANDMARKS)]]
        self._hinge0 = neutral[self.lm_idx[list(HINGE_LANDMARKS)]].mean(0).astype(np.float64)
        self._chin0 = neutral[self.lm_idx[list(JAW_LANDMARKS)]].mean(0) - self._hinge0
        return True

    def update(self, vertices: np.ndarray) -> None:
        """Place teeth and eyes for a frame (V, 3) (rigid fits; no per-vertex work)."""
        v = np.asarray(vertices)
        skull = rigid_fit(self._skull0, v[self.lm_idx[list(SKULL_LANDMARKS)]])
        jaw = skull @ self._jaw_matrix(skull, v)
        self.upper.user_matrix = skull
        self.throat.user_matrix = skull
        self.lower.user_matrix = jaw
        for actor, ids in zip(self.eyes, self.eye_ids, strict=True):
            actor.user_matrix = rigid_fit(self.neutral[ids], v[ids])

    def _jaw_matrix(self, skull: np.ndarray, v: np.ndarray) -> np.ndarray:
        """4x4 jaw motion in the skull's frame: turned about the hinge's x axis by the angle the
        inner lower lip turned about it, and moved so that the lip's neutral point lands on it
        (a jaw also slides forward and down as it opens)."""
        lip = v[self.lm_idx[list(JAW_LANDMARKS)]].mean(0)
        local = skull[:3, :3].T @ (lip - skull[:3, 3]) - self._hinge0  # skull frame, from hinge
        a = np.arctan2(local[2], local[1]) - np.arctan2(self._chin0[2], self._chin0[1])
        c, s = np.cos(a), np.sin(a)
        m = np.eye(4)
        m[1:3, 1:3] = [[c, -s], [s, c]]
        m[:3, 3] = (local + self._hinge0) - m[:3, :3] @ (self._chin0 + self._hinge0)
        return m

    def set_visible(self, on: bool) -> None:
        for a in self.actors:
            a.SetVisibility(bool(on))
