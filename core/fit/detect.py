"""Automatic face landmarks on any mesh: render it, run MediaPipe FaceMesh, lift onto the surface.

MediaPipe (``pip install '.[anyface]'``, ``mediapipe==0.10.14``) ships its face detector and the
478-point face-mesh model and runs offline. The mesh is rendered by :mod:`core.fit.raster` from
up to 24 axis-aligned views (6 viewing directions x 4 image-up directions, the common conventions
first); each detection is lifted onto the surface and checked in 3-D: the lifted 478 points are
aligned (robust Umeyama) to the same detector's points on our template, and a relative residual
above :data:`MAX_FACE_RESIDUAL` means "not a face". The best view is then refined by a second,
zoomed render looking straight at the face (its direction from that alignment).

Shapes: P = 478 MediaPipe points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from core.errors import S2DError
from core.fit.align import Similarity, robust_umeyama
from core.fit.raster import Render, View, lift, render, vertex_normals

__all__ = [
    "MediaPipeUnavailableError",
    "NoFaceFoundError",
    "Detection",
    "mediapipe_available",
    "detect_face",
    "template_mediapipe_points",
    "MAX_FACE_RESIDUAL",
    "ibug_pixels",
    "move_ibug_point",
]

#: Relative residual (RMS / spread) of the lifted points against the template's above which a
#: detection is not accepted as a face (faces measure 0.03-0.08; random hits > 0.2).
MAX_FACE_RESIDUAL = 0.15
#: At least this fraction of the detected points must land on the surface (eye holes of a mask
#: without eyeballs lose the iris and eyelid points, ~13 %).
_MIN_HIT_FRACTION = 0.75
#: Stop trying further views once a detection is this good.
_GOOD_RESIDUAL = 0.12


class MediaPipeUnavailableError(S2DError):
    """mediapipe is not installed (automatic landmarks need it)."""


class NoFaceFoundError(S2DError):
    """No view of the mesh shows a face the detector and the 3-D check accept."""


@dataclass(frozen=True)
class Detection:
    """Detected MediaPipe points on a mesh.

    Attributes
    ----------
    points : (P, 3) float64 surface points in the mesh's coordinates
    residual : float, relative residual against the template (see module docstring)
    to_template : Similarity, user -> template frame estimated from the points
    render : Render, the (refined) view the points were found in
    pixels : (P, 2) float, the points in that render's image
    views_tried : int
    """

    points: np.ndarray
    residual: float
    to_template: Similarity
    render: Render
    pixels: np.ndarray
    views_tried: int


def mediapipe_available() -> bool:
    """True when ``import mediapipe`` works."""
    try:
        import mediapipe  # noqa: F401
    except Exception:  # noqa: BLE001 - any import failure means "not usable"
        return False
    return True


class _FaceMesh:
    """A MediaPipe FaceMesh (static images, refined eyes/lips), closed on exit."""

    def __enter__(self):
        try:
            import mediapipe as mp
        except Exception as exc:  # noqa: BLE001
            raise MediaPipeUnavailableError(
                "automatic landmarks need mediapipe, which is not installed; run "
                "`pip install -e '.[anyface]'` or pass --landmarks FILE with 68 points"
            ) from exc
        self._fm = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True,
            refine_landmarks=True,
            max_num_faces=1,
            min_detection_confidence=0.3,
        )
        return self

    def __call__(self, image: np.ndarray) -> np.ndarray | None:
        """(H, W, 3) uint8 -> (P, 3) normalised (x, y, z) or None."""
        import warnings

        with warnings.catch_warnings():  # protobuf 4 warns inside mediapipe on every call
            warnings.simplefilter("ignore", UserWarning)
            res = self._fm.process(image)
        if not res.multi_face_landmarks:
            return None
        lm = res.multi_face_landmarks[0].landmark
        return np.array([[p.x, p.y, p.z] for p in lm])

    def __exit__(self, *exc) -> None:
        self._fm.close()


def _lift_detection(rend: Render, v, f, norm_pts: np.ndarray):
    size = rend.view.size
    pix = norm_pts[:, :2] * size
    xyz, face = lift(rend, v, f, pix, depth_hint=norm_pts[:, 2])
    return xyz, face, pix


@lru_cache(maxsize=1)
def _template_embedding() -> tuple[np.ndarray, np.ndarray]:
    """Template faces (P,) and barycentrics (P, 3) of the detector's points on our template."""
    from core.assets import load_face

    face = load_face()
    v, f = face.vertices.astype(float), face.faces
    view = View(
        np.array([0.0, 1.0, 0.0]),
        np.array([0.0, 0.0, 1.0]),
        v.mean(axis=0),
        1.3 * float(np.ptp(v, axis=0).max()),
        512,
    )
    rend = render(v, f, view)
    with _FaceMesh() as fm:
        pts = fm(rend.image)
    if pts is None:
        raise NoFaceFoundError(
            "the detector found no face on our own template; reinstall mediapipe==0.10.14"
        )
    xyz, tri, _ = _lift_detection(rend, v, f, pts)
    corners = v[f[tri]]  # (P, 3, 3)
    bary = np.stack([_bary3(corners[i], xyz[i]) for i in range(len(xyz))])
    return tri, bary


def _bary3(tri: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Barycentric coordinates (3,) of a point on a 3-D triangle (3, 3)."""
    a = np.stack([tri[1] - tri[0], tri[2] - tri[0]], axis=1)
    uv = np.linalg.lstsq(a, p - tri[0], rcond=None)[0]
    return np.array([1.0 - uv.sum(), uv[0], uv[1]])


def template_mediapipe_points(template_vertices: np.ndarray | None = None) -> np.ndarray:
    """The detector's 478 points on our template (or on a deformed copy of it), (P, 3)."""
    from core.assets import load_face

    face = load_face()
    v = face.vertices if template_vertices is None else template_vertices
    tri, bary = _template_embedding()
    return np.einsum("pk,pkc->pc", bary, np.asarray(v, float)[face.faces[tri]])


def candidate_views(vertices: np.ndarray, size: int = 320) -> list[View]:
    """The 24 axis-aligned views of a mesh, common conventions first."""
    v = np.asarray(vertices, float)
    center = 0.5 * (v.min(axis=0) + v.max(axis=0))
    extent = 1.05 * float(np.ptp(v, axis=0).max())
    e = np.eye(3)
    # (forward, up): OBJ/three.js (face +z, y up), Blender/ours (face -y, z up), then the rest
    first = [(-e[2], e[1]), (e[1], e[2]), (-e[1], e[2]), (e[2], e[1])]
    rest = []
    for fwd in (e[0], -e[0], e[1], -e[1], e[2], -e[2]):
        for up in (e[0], -e[0], e[1], -e[1], e[2], -e[2]):
            if abs(fwd @ up) < 0.5 and not any(
                np.allclose(fwd, a) and np.allclose(up, b) for a, b in first
            ):
                rest.append((fwd, up))
    return [View(fw, up, center, extent, size) for fw, up in first + rest]


def detect_face(
    vertices: np.ndarray,
    faces: np.ndarray,
    *,
    progress: Callable[[str, float], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Detection:
    """Find the face on a mesh and return the detector's 478 points on its surface.

    Parameters
    ----------
    vertices : (V, 3) float, faces : (F, 3) int
        The (possibly decimated) mesh, in the user's coordinates.
    progress : callable(message, fraction) or None
    cancelled : callable() -> bool or None; checked between views (raises KeyboardInterrupt)

    Raises
    ------
    MediaPipeUnavailableError, NoFaceFoundError
    """
    v, f = np.asarray(vertices, float), np.asarray(faces, np.int64)
    normals = vertex_normals(v, f)
    tpl = template_mediapipe_points()
    best: Detection | None = None
    views = candidate_views(v)
    tried = 0
    with _FaceMesh() as fm:
        for k, view in enumerate(views):
            if cancelled is not None and cancelled():
                raise KeyboardInterrupt
            if progress is not None:
                progress(f"looking for the face: view {k + 1}/{len(views)}", k / len(views) * 0.5)
            tried += 1
            rend = render(v, f, view, normals)
            pts = fm(rend.image)
            if pts is None:
                continue
            det = _check(rend, v, f, pts, tpl, tried)
            if det is not None and (best is None or det.residual < best.residual):
                best = det
            if best is not None and best.residual < _GOOD_RESIDUAL:
                break
        if best is None:
            raise NoFaceFoundError(
                f"no face found on this mesh in {tried} views (front, back, sides, top, bottom, "
                "each turned 4 ways); is it a face? A profile-only or very partial scan cannot "
                "be detected: pass --landmarks FILE with 68 points or vertex indices instead"
            )
        if progress is not None:
            progress("refining the landmarks in a frontal view", 0.5)
        refined = _refine(fm, v, f, normals, best, tpl)
    if refined is not None and refined.residual <= best.residual * 1.05:
        best = refined
    return best


def _check(rend, v, f, pts, tpl, tried) -> Detection | None:
    xyz, face, pix = _lift_detection(rend, v, f, pts)
    ok = face >= 0
    if ok.sum() < _MIN_HIT_FRACTION * len(xyz):
        return None
    sim, rel = robust_umeyama(xyz[ok], tpl[ok])
    if rel > MAX_FACE_RESIDUAL:
        return None
    xyz[~ok] = sim.inverse(tpl[~ok])
    return Detection(xyz, rel, sim, rend, pix, tried)


def _refine(fm, v, f, normals, det: Detection, tpl) -> Detection | None:
    """Render straight at the face (direction from the alignment), zoomed on it, and detect."""
    sim: Similarity = det.to_template
    fwd = sim.rotation.T @ np.array([0.0, 1.0, 0.0])
    up = sim.rotation.T @ np.array([0.0, 0.0, 1.0])
    spread = float(np.ptp(tpl, axis=0).max()) / sim.scale  # face size in user units
    view = View(fwd, up, det.points.mean(axis=0), 2.0 * spread, 512)
    rend = render(v, f, view, normals)
    pts = fm(rend.image)
    if pts is None:
        return None
    return _check(rend, v, f, pts, tpl, det.views_tried + 1)


def ibug_pixels(det: Detection) -> np.ndarray:
    """Our 68 landmarks of a detection in its render's image, (68, 2) pixels."""
    from core.fit.mp68 import ibug68_from_mediapipe

    return ibug68_from_mediapipe(det.pixels)


def move_ibug_point(
    det: Detection, vertices: np.ndarray, faces: np.ndarray, k: int, pixel: np.ndarray
) -> Detection:
    """Move iBUG point ``k`` to an image position (user correction before fitting).

    The position is lifted onto the surface along the view ray; the MediaPipe points that make
    up point ``k`` (see :mod:`core.fit.mp68`) move by the same 3-D offset. A pixel off the mesh
    leaves the detection unchanged. ``vertices``/``faces`` are the mesh the render shows.
    """
    from dataclasses import replace

    from core.fit.mp68 import ibug_members

    ids, w = ibug_members(k)
    xyz, hit = lift(det.render, vertices, faces, np.asarray(pixel, float)[None])
    if hit[0] < 0:
        return det
    points, pixels = det.points.copy(), det.pixels.copy()
    points[ids] += xyz[0] - w @ points[ids]  # the weights sum to 1: the mix lands on xyz
    pixels[ids] += np.asarray(pixel, float) - w @ pixels[ids]
    return replace(det, points=points, pixels=pixels)
