"""How a face is drawn: meshes, colours, lights and camera (shared by the viewport and the grid).

The skin is one actor drawn with per-vertex albedo (skin, redder lips, a dark mouth interior) or
the displacement heat map; teeth and eyes are separate small actors placed rigidly per frame
(:mod:`app.widgets.face_parts`). Playback and drags only overwrite the skin's points in place.
"""

from __future__ import annotations

import numpy as np
import pyvista as pv

from app.widgets.face_parts import FaceParts
from core.mesh.normals import VertexNormals
from core.mesh.topology import boundary_vertices

__all__ = [
    "SKIN",
    "BACKGROUND",
    "HEAT_MAX_MM",
    "FaceActors",
    "add_face",
    "frame_camera",
    "software_gl",
    "pv_faces",
    "make_native",
    "add_three_point_lights",
    "THREE_POINT",
    "SkinCulling",
    "caption_font_file",
    "use_caption_font",
]

SKIN = (0.87, 0.70, 0.60)
#: Solid background: a gradient costs a full-screen shaded quad per frame (~10% of a frame on
#: llvmpipe at 1280x720).
BACKGROUND = "#2c3139"
#: Upper end of the heat map's colour scale (mm of displacement from the neutral face).
HEAT_MAX_MM = 20.0
#: The eyeballs are low-poly, uneven meshes; one dark, glossy colour reads best as eyes.
EYES = (0.22, 0.17, 0.14)


def caption_font_file() -> str | None:
    """A TrueType font with τ and → for captions in the 3-D views (VTK's built-in fonts lack
    them): DejaVu Sans, shipped with matplotlib (found without importing it) or the system's."""
    import importlib.util
    from pathlib import Path

    candidates = []
    spec = importlib.util.find_spec("matplotlib")
    if spec is not None and spec.submodule_search_locations:
        root = Path(list(spec.submodule_search_locations)[0])
        candidates.append(root / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf")
    candidates.append(Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"))
    return next((str(c) for c in candidates if c.is_file()), None)


def use_caption_font(text_property) -> bool:
    """Set a VTK text property to :func:`caption_font_file`; False when none is found (then
    captions must stay ASCII)."""
    path = caption_font_file()
    if path is None:
        return False
    text_property.SetFontFamily(4)  # VTK_FONT_FILE
    text_property.SetFontFile(path)
    return True


def software_gl(renderer: str) -> bool:
    """Whether an OpenGL renderer string names a CPU rasteriser (llvmpipe, softpipe, swrast)."""
    r = renderer.lower()
    return not r or any(s in r for s in ("llvmpipe", "softpipe", "swrast", "software"))


def make_native(widget) -> None:
    """Give a QOpenGLWidget its own native window: Qt then composes only its area on each
    repaint instead of the whole main window (measured on llvmpipe: -35% wall time per frame
    with a 1280x720 view in a 1900x840 window)."""
    from PySide6.QtCore import Qt

    widget.setAttribute(Qt.WidgetAttribute.WA_NativeWindow)


def pv_faces(faces: np.ndarray) -> np.ndarray:
    """(F, 3) triangles -> VTK's flat cell array (4F,)."""
    f = np.asarray(faces, np.int64)
    return np.hstack([np.full((len(f), 1), 3, np.int64), f]).ravel()


class SkinCulling:
    """Back-face culling of the skin, on whenever it leaves the picture as it is.

    Culling skips the half of the head that faces away from the camera; on llvmpipe the VTK
    render of a frame goes from 10.7 to 8.9 ms at 855x780 (``tests/benchmarks/bench_gui.py``).
    The skin is consistently wound and closed except for the rim of the neck, so back faces are only
    ever seen through that opening, from below it. Before each render of its renderer this
    turns culling on when the camera is outside the head's bounding box and sees every rim
    vertex from the head's side of the rim's plane at an elevation of at least
    ``min_elevation_deg`` (the rim is not quite planar: from just above its plane, a
    pixel-thin sliver of the neck's inner wall can show at the rim), and off otherwise
    (checked against renders without culling in ``tests/test_app_window.py``). With a
    parallel projection the view direction is used instead of the camera position.
    """

    def __init__(
        self, renderer, actor, mesh, rim: np.ndarray, min_elevation_deg: float = 5.0
    ) -> None:
        self.renderer, self.actor, self.mesh = renderer, actor, mesh
        self.rim = np.asarray(rim, np.int64)
        self.min_sin = float(np.sin(np.radians(min_elevation_deg)))
        self.enabled = True
        self._tag = renderer.AddObserver("StartEvent", self._before_render)

    def safe(self) -> bool:
        """Whether culling leaves the picture unchanged for the renderer's current camera."""
        if not self.enabled or len(self.rim) < 3:
            return False
        rim = np.asarray(self.mesh.points[self.rim], np.float64)  # (R, 3)
        lo, hi = np.asarray(self.mesh.GetBounds(), np.float64).reshape(3, 2).T  # VTK's bounds
        c = rim.mean(0)
        n = np.linalg.svd(rim - c, full_matrices=False)[2][2]  # normal of the rim's plane
        if np.dot((lo + hi) / 2 - c, n) < 0:
            n = -n  # towards the head (the centre of its bounding box)
        cam = self.renderer.GetActiveCamera()
        if cam.GetParallelProjection():
            return float(np.dot(cam.GetDirectionOfProjection(), n)) < -self.min_sin
        eye = np.asarray(cam.GetPosition(), np.float64)
        if np.all(eye >= lo) and np.all(eye <= hi):
            return False  # the camera may be inside the head
        rays = eye - rim  # (R, 3) from each rim vertex to the eye
        sin_elev = (rays @ n) / np.linalg.norm(rays, axis=1)
        return bool(np.min(sin_elev) > self.min_sin)

    def _before_render(self, *_args) -> None:
        try:
            on = self.safe()
        except Exception:  # noqa: BLE001 - never break a render (e.g. non-finite points)
            on = False
        prop = self.actor.GetProperty()
        if bool(prop.GetBackfaceCulling()) != on:
            prop.SetBackfaceCulling(on)

    def remove(self) -> None:
        self.renderer.RemoveObserver(self._tag)


class FaceActors:
    """The pyvista meshes and actors of one face (see module docstring)."""

    def __init__(
        self,
        skin_mesh,
        skin_actor,
        wire_actor,
        neutral,
        normals: VertexNormals,
        culling: SkinCulling | None = None,
        parts: FaceParts | None = None,
    ):
        self.skin_mesh = skin_mesh
        self.skin_actor, self.wire_actor = skin_actor, wire_actor
        self.neutral = np.asarray(neutral, np.float32)
        self.heatmap = False
        self._normals = normals
        self.culling = culling
        self.parts = parts
        self.eye_actor = None  # the low-poly eyeballs, drawn only without ``parts``

    def set_points(self, vertices: np.ndarray) -> None:
        """Overwrite the shared points (V, 3) and normals; the heat values when shown; place
        the teeth and eyes."""
        self.skin_mesh.points[:] = vertices
        self.skin_mesh.point_data["Normals"][:] = self._normals(vertices)
        if self.parts is not None:
            if self.parts.neutral is not self.neutral and self.parts.set_neutral(self.neutral):
                self.skin_mesh.point_data["albedo"][:] = self.parts.albedo
                self.skin_mesh.point_data.Modified()
            self.parts.update(vertices)
        if self.heatmap:
            disp = np.linalg.norm(vertices - self.neutral, axis=1) * 1000.0
            self.skin_mesh.point_data["disp_mm"][:] = disp
            self.skin_mesh.point_data.Modified()

    def set_heatmap(self, on: bool, vertices: np.ndarray) -> None:
        self.heatmap = bool(on)
        _colour_by(self.skin_actor.mapper, "disp_mm" if self.heatmap else "albedo")
        self.set_points(vertices)

    def remove(self, plotter) -> None:
        """Take every actor of this face out of ``plotter`` (before another face replaces it)."""
        self.release()
        actors = [self.skin_actor, self.eye_actor, self.wire_actor]
        actors += self.parts.actors if self.parts is not None else []
        for actor in actors:
            if actor is not None:
                plotter.remove_actor(actor, render=False)

    def release(self) -> None:
        """Drop the render observer (before the plotter closes)."""
        if self.culling is not None:
            self.culling.remove()
            self.culling = None

    def set_wireframe(self, on: bool) -> None:
        if self.wire_actor is not None:
            self.wire_actor.SetVisibility(bool(on))


def add_face(
    plotter,
    vertices: np.ndarray,
    faces: np.ndarray,
    skin: np.ndarray,
    wireframe: bool = True,
    landmarks: np.ndarray | None = None,
) -> FaceActors:
    """Add a face (V, 3) with faces (F, 3) and the skin mask (V,) to the active renderer.

    With ``landmarks`` (68,) vertex indices the face gets its mouth interior, teeth and eyes
    (:class:`app.widgets.face_parts.FaceParts`); without, plain skin and dark eyeballs.
    """
    v = np.asarray(vertices, np.float32)
    faces = np.asarray(faces)
    skin_faces = skin[faces].all(1)
    normals = VertexNormals(faces, len(v))
    skin_mesh = pv.PolyData(v.copy(), pv_faces(faces[skin_faces]))
    skin_mesh.point_data["disp_mm"] = np.zeros(len(v), np.float32)
    skin_mesh.point_data["Normals"] = normals(v)
    skin_mesh.point_data.active_normals_name = "Normals"
    parts = None
    if landmarks is not None:
        parts = FaceParts(plotter, faces, skin, landmarks, v)
        skin_mesh.point_data["albedo"] = parts.albedo.copy()
    else:
        skin_mesh.point_data["albedo"] = np.tile(
            np.round(np.asarray(SKIN) * 255).astype(np.uint8), (len(v), 1)
        )
    skin_actor = plotter.add_mesh(
        skin_mesh,
        scalars="disp_mm",
        cmap="YlOrRd",
        clim=(0.0, HEAT_MAX_MM),
        show_scalar_bar=False,
        specular=0.25,
        specular_power=18,
        diffuse=0.9,
        ambient=0.06,
        render=False,
        reset_camera=False,
        name=None,
    )
    skin_actor.prop.interpolation = "phong"  # smooth, from our normals
    _colour_by(skin_actor.mapper, "albedo")
    eye_actor = None
    if parts is None and (~skin_faces).any():  # eyeballs of a face without landmarks
        eye_mesh = pv.PolyData(v.copy(), pv_faces(faces[~skin_faces]))
        eye_mesh.SetPoints(skin_mesh.GetPoints())  # one point array for both actors
        eye_mesh.GetPointData().SetNormals(skin_mesh.GetPointData().GetNormals())
        eye_actor = plotter.add_mesh(
            eye_mesh, color=EYES, specular=0.7, specular_power=50, render=False, reset_camera=False
        )
        eye_actor.prop.interpolation = "phong"
    wire = None
    if wireframe:
        wire = plotter.add_mesh(
            skin_mesh,
            style="wireframe",
            color="#15171a",
            opacity=0.22,
            line_width=1,
            render=False,
            reset_camera=False,
        )
        wire.SetVisibility(False)
    culling = SkinCulling(
        plotter.renderer, skin_actor, skin_mesh, boundary_vertices(faces[skin_faces])
    )
    face = FaceActors(skin_mesh, skin_actor, wire, v, normals, culling, parts)
    face.eye_actor = eye_actor
    if parts is not None:
        parts.update(v)
    return face


def _colour_by(mapper, array: str) -> None:
    """Colour the skin by its ``albedo`` (RGB, direct) or ``disp_mm`` (through the heat LUT)."""
    mapper.SetScalarVisibility(True)
    mapper.SetScalarModeToUsePointFieldData()
    mapper.SelectColorArray(array)
    if array == "albedo":
        mapper.SetColorModeToDirectScalars()
    else:
        mapper.SetColorModeToMapScalars()


#: Three-point lighting in camera coordinates (x right, y up, z towards the viewer): a warm key
#: light above-left, a cool fill from the right, a rim light from behind. They follow the camera.
#: Measured on llvmpipe: ~10% less CPU per frame than VTK's 5-light kit.
THREE_POINT = (
    ((-0.6, 0.6, 1.0), 0.85, (1.0, 0.96, 0.90)),  # key
    ((0.9, -0.1, 1.0), 0.45, (0.90, 0.95, 1.0)),  # fill
    ((0.0, 0.8, -1.0), 0.45, (1.0, 1.0, 1.0)),  # back / rim
)


def add_three_point_lights(plotter) -> None:
    """Replace the renderer's lights by :data:`THREE_POINT`."""
    plotter.remove_all_lights()
    for position, intensity, color in THREE_POINT:
        plotter.add_light(
            pv.Light(
                position=position,
                focal_point=(0.0, 0.0, 0.0),
                intensity=intensity,
                color=color,
                light_type="camera light",
            )
        )


def frame_camera(plotter, landmarks: np.ndarray, distance: float = 0.5) -> None:
    """Look at the face from the front (-y), z up, centred on its landmarks (K, 3)."""
    c = np.asarray(landmarks, np.float64).mean(0)
    cam = plotter.camera
    cam.focal_point = tuple(c)
    cam.position = tuple(c + np.array([0.0, -distance, 0.02]))
    cam.up = (0.0, 0.0, 1.0)
    cam.view_angle = 30.0
    plotter.renderer.ResetCameraClippingRange()
