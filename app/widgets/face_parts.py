"""What makes the face read as a face: skin albedo with a dark mouth interior, teeth and eyes.

All of it is placed once per neutral face from its landmarks (iBUG-68 vertex indices) and its
eyeball vertices, and then follows the animation rigidly, with no per-vertex work per frame:

* **skin albedo** (V, 3) uint8, drawn as the skin's vertex colours: skin tone, lips a little
  redder, and the mouth interior darkening with its depth behind the lips (a vertex is interior
  when the neutral face's own surface hides it from the front, see :func:`mouth_interior`);
* **teeth**: two arches of rounded crowns behind the lips, the upper moving with the skull, the
  lower with the jaw (:mod:`core.mesh.face_parts`, shared with the command line's videos; here
  they are wrapped in PolyData and moved by their actors' matrices);
* **throat**: a dark plane behind the mouth that closes the mouth bag's open back;
* **eyes**: a smooth sphere fitted to each eyeball (radius 16 mm on the default face) with
  sclera, iris, limbal ring and pupil as vertex colours and a glossy specular highlight; each
  follows a rigid fit to its eyeball's vertices. They replace the low-poly eyeball meshes.

The rigid fits are Kabsch solutions on a few points (:func:`core.mesh.face_parts.rigid_fit`),
about 30 µs each.
Shapes: V vertices, F faces, K = 68 landmarks.
"""

from __future__ import annotations

import numpy as np
import pyvista as pv

from core.mesh.albedo import THROAT_RGB, mouth_interior, skin_albedo
from core.mesh.face_parts import TOOTH_RGB, TeethMesh, TeethRig, rigid_fit

__all__ = ["FaceParts", "eye_sphere", "mouth_interior", "skin_albedo", "teeth_polydata"]


SCLERA_RGB = np.array([236, 232, 226], np.float32)
IRIS_RGB = np.array([92, 62, 38], np.float32)
IRIS_INNER_RGB = np.array([140, 102, 60], np.float32)
LIMBUS_RGB = np.array([40, 28, 20], np.float32)
PUPIL_RGB = np.array([8, 6, 6], np.float32)

#: Teeth: specular strength when lit, and how far towards the throat's colour they go in the
#: mouth's shadow (:meth:`core.mesh.face_parts.TeethRig.light` = 0).
TOOTH_SPECULAR, TEETH_SHADOW = 0.35, 0.85
#: Iris, limbus and pupil as half-angles (radians) from the gaze axis of a 16 mm eyeball.
PUPIL_ANGLE, IRIS_ANGLE, LIMBUS_WIDTH = 0.17, 0.47, 0.06


# ------------------------------------------------------------------------------------ geometry
def _fit_sphere(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares sphere (centre (3,), radius) through points (N, 3)."""
    p = np.asarray(points, np.float64)
    a = np.c_[2 * p, np.ones(len(p))]
    sol = np.linalg.lstsq(a, (p**2).sum(1), rcond=None)[0]
    centre = sol[:3]
    return centre, float(np.sqrt(sol[3] + centre @ centre))


def teeth_polydata(mesh: TeethMesh) -> pv.PolyData:
    """An arch of :func:`core.mesh.face_parts.teeth_meshes` as PolyData with its normals."""
    cells = np.hstack([np.full((len(mesh.faces), 1), 3, np.int64), mesh.faces]).ravel()
    poly = pv.PolyData(np.asarray(mesh.points, np.float32), cells)
    poly.point_data["Normals"] = np.asarray(mesh.normals, np.float32)
    poly.point_data.active_normals_name = "Normals"
    return poly


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
    """(albedo, teeth rig, upper teeth, lower teeth, eye balls, throat) of a neutral face, cached
    for the last two faces (a compare grid shows one face many times; the meshes are shared,
    never changed)."""
    import hashlib

    key = hashlib.blake2b(np.ascontiguousarray(neutral).tobytes(), digest_size=16).digest()
    if key not in _CACHE:
        balls = []
        for ids in eye_ids:
            centre, radius = _fit_sphere(neutral[ids])
            balls.append(eye_sphere(centre, 0.995 * radius))
        rig = TeethRig(neutral, lm_idx)
        _CACHE[key] = (
            skin_albedo(neutral, faces, lm_idx),
            rig,
            teeth_polydata(rig.upper),
            teeth_polydata(rig.lower),
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
        self.albedo, self.rig, upper, lower, balls, throat = _placed(
            neutral, self.faces, self.lm_idx, self.eye_ids
        )
        add = dict(render=False, reset_camera=False, pickable=False)
        tooth = dict(
            color=TOOTH_RGB / 255.0,
            specular=TOOTH_SPECULAR,
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
        self._light = 1.0  # as added: lit
        return True

    def update(self, vertices: np.ndarray) -> None:
        """Place teeth and eyes for a frame (V, 3) (rigid fits; no per-vertex work)."""
        v = np.asarray(vertices)
        skull, jaw = self.rig.poses(v)
        self._shade_teeth(self.rig.light(v))
        self.upper.user_matrix = skull
        self.throat.user_matrix = skull
        self.lower.user_matrix = jaw
        for actor, ids in zip(self.eyes, self.eye_ids, strict=True):
            actor.user_matrix = rigid_fit(self.neutral[ids], v[ids])

    def _shade_teeth(self, light: float) -> None:
        """Teeth colour and gloss for how much light the lips let in (0..1): in the mouth's
        shadow (seen through the slit of parted lips) they go most of the way to the throat's
        colour and lose their highlight."""
        light = round(light, 2)  # a change of the colour costs nothing; of 1/100, invisible
        if light == self._light:
            return
        self._light = light
        shade = TEETH_SHADOW * (1.0 - light)
        colour = (TOOTH_RGB + shade * (THROAT_RGB - TOOTH_RGB)) / 255.0
        for actor in (self.upper, self.lower):
            actor.prop.color = tuple(float(c) for c in colour)
            actor.prop.specular = TOOTH_SPECULAR * light

    def set_visible(self, on: bool) -> None:
        for a in self.actors:
            a.SetVisibility(bool(on))
