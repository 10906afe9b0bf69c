"""The 3-D view of the session's face: shaded face, landmark spheres, wireframe, heat map.

It only reads the session: every session signal that changes what is on screen calls
:meth:`Viewport.refresh`, which overwrites the mesh points in place and asks Qt for one repaint
(``plotter.update()``, or ``repaint()`` for a drag preview; never ``render()``, which would draw
twice). Grabbing landmarks with the
mouse lives in :mod:`app.widgets.landmark_drag`.
"""

from __future__ import annotations

import time

import numpy as np
import pyvista as pv
from PySide6.QtCore import QPointF, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.errors import guarded
from app.widgets.gl_view import StillAntiAliasing, StudioInteractor, opaque_background
from app.widgets.landmark_drag import LandmarkDragFilter
from app.widgets.scene import (
    BACKGROUND,
    add_face,
    add_three_point_lights,
    frame_camera,
    pv_faces,
    use_caption_font,
)

__all__ = ["Viewport"]

_LM_NORMAL = np.array([255, 200, 60], np.uint8)
_LM_PINNED = np.array([230, 50, 50], np.uint8)
_LM_SELECTED = np.array([70, 230, 255], np.uint8)
_LM_MIRROR = np.array([170, 240, 255], np.uint8)
#: Landmark sphere size in (logical) pixels, the selected one's, and the pick radius.
LANDMARK_PX = 10
SELECTED_PX = 15
PICK_RADIUS_PX = 12.0
#: Landmark spheres are drawn this far (metres) out of the skin along the neutral face's
#: normal, so that a landmark lying on the surface is not half hidden by it.
LANDMARK_LIFT = 0.0012
#: A landmark facing away from the camera counts as hidden (not pickable) when the skin under
#: the mouse is this much (metres) closer to the camera: a landmark on the far side of the head,
#: not one that the decoder left a few millimetres under the surface.
OCCLUSION_M = 0.015


class Viewport(QWidget):
    """The main 3-D view. ``plotter`` is a pyvistaqt ``QtInteractor`` (a
    :class:`~app.widgets.gl_view.StudioInteractor`).

    Signals
    -------
    frame_shown(int, float)
        After each repaint: the session's drag-preview version on screen and the time
        (``time.perf_counter``) the frame was swapped (used by the benchmark).
    """

    frame_shown = Signal(int, float)

    def __init__(self, session, parent: QWidget | None = None, multi_samples: int = 0) -> None:
        super().__init__(parent)
        self.session = session
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.plotter = StudioInteractor(self, auto_update=False, multi_samples=multi_samples)
        self.plotter.enable_direct_present()  # a native window, presented directly
        layout.addWidget(self.plotter)
        # FXAA on still frames where MSAA is off (software GL); never on drag or playback frames
        self.still_aa = StillAntiAliasing(
            self.plotter, multi_samples == 0, lambda: session.dragging or session.playback.playing
        )
        self._pending_version = 0  # drag-preview version of the data handed to the next paint
        self._caption_text = None
        self._build_scene()
        self.drag_filter = LandmarkDragFilter(self, session)
        self.plotter.installEventFilter(self.drag_filter)
        self.plotter.frameSwapped.connect(self._on_swapped)
        s = session
        for sig in (s.motion_changed, s.edits_changed, s.frame_changed):
            sig.connect(self.refresh)
        s.preview_changed.connect(lambda: self.refresh(paint=True))
        s.face_changed.connect(self._sync_face)
        s.face_changed.connect(self.reset_camera)
        s.options_changed.connect(self._apply_options)
        self._apply_options()

    # ------------------------------------------------------------------------------- scene
    def _build_scene(self) -> None:
        s, p = self.session, self.plotter
        p.set_background(BACKGROUND)
        opaque_background(p)  # lets StudioInteractor hand frames over without an alpha pass
        add_three_point_lights(p)
        face = s.template
        self._user = None  # app.widgets.user_mesh.UserMeshMap of a face of another topology
        self.face = add_face(
            p, s.current_vertices(), face.faces, face.skin, landmarks=s.landmarks.indices
        )
        normals = pv.PolyData(face.vertices, pv_faces(face.faces)).compute_normals(
            cell_normals=False, auto_orient_normals=False, split_vertices=False
        )
        self._lift = (
            LANDMARK_LIFT
            * np.asarray(normals.point_data["Normals"], np.float32)[s.landmarks.indices]
        )  # (K, 3)
        self.lm_mesh = pv.PolyData(np.array(s.current_landmarks(), np.float32))
        self.lm_mesh.point_data["rgb"] = np.tile(_LM_NORMAL, (len(s.landmarks.indices), 1))
        self.lm_actor = p.add_mesh(
            self.lm_mesh,
            scalars="rgb",
            rgb=True,
            render_points_as_spheres=True,
            point_size=LANDMARK_PX,
            render=False,
            reset_camera=False,
            pickable=False,
        )
        # the selected landmark: a bigger sphere at the requested position and a line to where
        # the decoded face put it (the achieved position)
        self.sel_mesh = pv.PolyData(np.zeros((2, 3), np.float32), lines=np.array([2, 0, 1]))
        self.sel_line = p.add_mesh(
            self.sel_mesh,
            color=_LM_SELECTED / 255.0,
            line_width=2,
            render=False,
            reset_camera=False,
            pickable=False,
        )
        self.sel_point = p.add_mesh(
            pv.PolyData(np.zeros((1, 3), np.float32)),
            color=_LM_SELECTED / 255.0,
            point_size=SELECTED_PX,
            render_points_as_spheres=True,
            render=False,
            reset_camera=False,
            pickable=False,
        )
        self.heat_bar = p.add_scalar_bar(
            title="displacement (mm)",
            mapper=self.face.skin_actor.mapper,
            n_labels=4,
            vertical=True,
            position_x=0.86,
            position_y=0.25,
            height=0.5,
            width=0.06,
            title_font_size=12,
            label_font_size=11,
            fmt="%.0f",
            color="white",
        )
        self.heat_bar.SetVisibility(False)
        self.caption = p.add_text(
            "", position="upper_left", font_size=10, color="#d0d4da", render=False
        )
        self._caption_ascii = not use_caption_font(self.caption.GetTextProperty())
        self.reset_camera()

    def _shown(self, vertices: np.ndarray) -> np.ndarray:
        """Template-topology vertices -> what the face actors show (the user's own mesh for a
        face of another topology)."""
        return vertices if self._user is None else self._user(vertices)

    @guarded
    def _sync_face(self) -> None:
        """Rebuild the face actors when the face's topology changes (user mesh <-> ours)."""
        from app.widgets.user_mesh import UserMeshMap

        user = self.session.face.user
        if (self._user.user if self._user is not None else None) is user:
            return
        p, s = self.plotter, self.session
        self.face.remove(p)
        self._user = UserMeshMap(user) if user is not None else None
        faces = self._user.faces if self._user is not None else s.template.faces
        skin = self._user.skin if self._user is not None else s.template.skin
        # teeth, eyes and the mouth are placed from landmarks of our own topology
        self.face = add_face(
            p,
            self._shown(s.current_vertices()),
            faces,
            skin,
            landmarks=None if user is not None else s.landmarks.indices,
        )
        self.heat_bar.SetLookupTable(self.face.skin_actor.mapper.GetLookupTable())
        self._apply_options()

    def reset_camera(self) -> None:
        frame_camera(self.plotter, self.session.face.vertices[self.session.landmarks.indices])
        self.refresh()

    # ----------------------------------------------------------------------------- refresh
    @guarded
    def refresh(self, *_args, paint: bool | None = None) -> None:
        """Copy the session's current face and landmarks into the meshes; schedule a paint.

        While a drag decode is pending the whole refresh is left to its result (``paint=None``),
        so a mouse move costs one update of the meshes and one render, not two.
        """
        s = self.session
        if paint is None and s.decode_pending:
            return  # the pending drag decode's result refreshes everything, then paints
        self.face.neutral = self._shown(s.face.vertices)
        self.face.set_points(self._shown(s.current_vertices()))
        lm = s.current_landmarks() + self._lift
        self.lm_mesh.points[:] = lm
        self.lm_mesh.point_data["rgb"][:] = self._landmark_colours()
        self.lm_mesh.point_data.Modified()
        r = s.readout()
        shown = r is not None and s.view["landmarks"]
        self.sel_point.SetVisibility(shown)
        self.sel_line.SetVisibility(shown)
        if shown:
            k = r["landmark"]
            self.sel_point.mapper.dataset.points[:] = lm[k]
            self.sel_mesh.points[:] = np.stack([r["achieved"], r["requested"]])
        # static per motion (the frame number is in the playback bar): re-rasterising the text
        # on every frame would cost render time
        face = f"{s.face.name} · " if s.face.path else ""
        n = s.n_motion_frames
        # two short lines in the corner, not one long line over the head: "A → B" / "τ = …"
        what, _, detail = s.source.describe(ascii_only=self._caption_ascii).partition(", ")
        frames = f" · {n} frames" if n > 1 else ""
        text = face + what + (f"\n{detail}{frames}" if detail else frames)
        if text != self._caption_text:
            self._caption_text = text
            self.caption.SetText(2, text)
        self._pending_version = s.preview_version
        self.still_aa.moving()
        if paint and s.dragging:
            # a drag preview is painted now: a posted update waited behind the next mouse
            # moves, and the latency of later drags doubled (65-76 ms instead of 34 ms median
            # in tests/benchmarks/bench_gui.py)
            self.plotter.repaint()
        elif paint or (paint is None and not s.decode_pending):
            self.plotter.update()

    def _landmark_colours(self) -> np.ndarray:
        s = self.session
        col = np.tile(_LM_NORMAL, (len(s.landmarks.indices), 1))
        if s.pins:
            col[sorted(s.pins)] = _LM_PINNED
        if s.selected is not None:
            if s.symmetric:
                col[s.landmarks.mirror[s.selected]] = _LM_MIRROR
            col[s.selected] = _LM_SELECTED
        return col

    @guarded
    def _apply_options(self) -> None:
        v = self.session.view
        self.face.set_wireframe(v["wireframe"])
        self.face.set_heatmap(v["heatmap"], self._shown(self.session.current_vertices()))
        self.heat_bar.SetVisibility(v["heatmap"])
        self.lm_actor.SetVisibility(v["landmarks"])
        self.refresh()

    def _on_swapped(self) -> None:
        self.frame_shown.emit(self._pending_version, time.perf_counter())

    # ------------------------------------------------------------------- picking helpers
    def _display(self, pos: QPointF) -> tuple[float, float]:
        """Qt widget coordinates (logical px) -> VTK display coordinates (device px)."""
        dpr = self.plotter.devicePixelRatioF()
        return pos.x() * dpr, (self.plotter.height() - pos.y() - 1) * dpr

    def _project(self, points: np.ndarray) -> np.ndarray:
        """World points (N, 3) -> VTK display (N, 3): x, y in device px and NDC depth."""
        ren = self.plotter.renderer
        w, h = ren.GetSize()
        m = ren.GetActiveCamera().GetCompositeProjectionTransformMatrix(
            ren.GetTiledAspectRatio(), -1, 1
        )
        mat = np.array([[m.GetElement(i, j) for j in range(4)] for i in range(4)])
        hom = np.c_[np.asarray(points, np.float64), np.ones(len(points))] @ mat.T
        ndc = hom[:, :3] / hom[:, 3:4]
        x0, y0 = ren.GetOrigin()
        return np.c_[x0 + (ndc[:, 0] + 1) * 0.5 * w, y0 + (ndc[:, 1] + 1) * 0.5 * h, ndc[:, 2]]

    def landmark_at(self, pos: QPointF) -> int | None:
        """The landmark under the mouse (front-most within the pick radius), or None."""
        if not self.session.view["landmarks"]:
            return None
        x, y = self._display(pos)
        lm = self.session.current_landmarks()
        proj = self._project(lm)
        dist = np.hypot(proj[:, 0] - x, proj[:, 1] - y)
        radius = PICK_RADIUS_PX * self.plotter.devicePixelRatioF()
        near = np.flatnonzero(dist <= radius)
        if near.size == 0:
            return None
        # closest on screen; among near-equal ones the front-most
        order = sorted(near, key=lambda i: (round(dist[i] / 3.0), proj[i, 2]))
        k = int(order[0])
        return None if self._occluded(k, lm[k], x, y) else k

    def _occluded(self, k: int, point: np.ndarray, x: float, y: float) -> bool:
        """Whether landmark ``k`` at ``point`` is on the far side of the head from the camera:
        its vertex normal on the displayed face points away from the camera and the skin under
        (x, y) is clearly in front of it. A landmark dragged beyond what the face can follow
        lies under the skin but still faces the camera: it stays pickable."""
        from vtkmodules.vtkRenderingCore import vtkCellPicker

        normal = self.face.skin_mesh.point_data["Normals"][self.session.landmarks.indices[k]]
        if float(np.dot(normal, self.plotter.camera.direction)) <= 0.0:
            return False  # faces the camera
        picker = vtkCellPicker()
        picker.SetTolerance(0.0005)
        picker.PickFromListOn()
        picker.AddPickList(self.face.skin_actor)
        if not picker.Pick(x, y, 0, self.plotter.renderer):
            return False
        eye = np.array(self.plotter.camera.position)
        hit = np.array(picker.GetPickPosition())
        return np.linalg.norm(hit - eye) < np.linalg.norm(point - eye) - OCCLUSION_M

    def display_to_world(self, x: float, y: float, z: float) -> np.ndarray:
        ren = self.plotter.renderer
        ren.SetDisplayPoint(x, y, z)
        ren.DisplayToWorld()
        w = np.array(ren.GetWorldPoint(), np.float64)
        return w[:3] / w[3]

    def ray_plane(self, pos: QPointF, point: np.ndarray, normal: np.ndarray) -> np.ndarray:
        """Where the mouse ray at ``pos`` meets the plane through ``point`` with ``normal``."""
        x, y = self._display(pos)
        near, far = self.display_to_world(x, y, 0.0), self.display_to_world(x, y, 1.0)
        ray = far - near
        denom = float(np.dot(ray, normal))
        if abs(denom) < 1e-12:
            return np.asarray(point, np.float64)
        return near + ray * float(np.dot(np.asarray(point) - near, normal)) / denom

    def view_rows(self) -> np.ndarray:
        """(2, 3) the camera's right and up directions (the plane a mouse drag moves in)."""
        cam = self.plotter.camera
        d = np.array(cam.direction, np.float64)
        up = np.array(cam.up, np.float64)
        right = np.cross(d, up)
        right /= np.linalg.norm(right)
        up = np.cross(right, d)
        return np.stack([right, up / np.linalg.norm(up)])

    def world_to_widget(self, point: np.ndarray) -> QPointF:
        """Qt widget coordinates (logical px) of a world point (tests, benchmarks)."""
        x, y, _ = self._project(np.asarray(point, np.float64)[None])[0]
        dpr = self.plotter.devicePixelRatioF()
        return QPointF(x / dpr, self.plotter.height() - 1 - y / dpr)

    # ------------------------------------------------------------------- capture, cleanup
    def render_frame(self, t: int) -> np.ndarray:
        """(H, W, 3) uint8 image of frame ``t`` of the displayed motion (video export)."""
        verts = self.session.frames_vertices()[t]
        self.face.set_points(self._shown(verts))
        hidden = [
            a
            for a in (self.lm_actor, self.sel_point, self.sel_line, self.caption)
            if a.GetVisibility()
        ]
        for a in hidden:
            a.SetVisibility(False)
        self.still_aa.hold_still()  # an exported frame is a still: smooth edges (FXAA)
        try:
            self.plotter.render()  # screenshot() alone may return the previous frame
            img = self.plotter.screenshot(return_img=True)
        finally:
            for a in hidden:
                a.SetVisibility(True)
        return np.ascontiguousarray(img[..., :3])

    def hold_still(self) -> None:
        """Draw the view with FXAA now (screenshots), not ``STILL_MS`` after its last change."""
        self.still_aa.hold_still()
        self.plotter.update()

    def close_plotter(self) -> None:
        """Remove the event filter, then close the plotter (before the window goes)."""
        self.plotter.removeEventFilter(self.drag_filter)
        self.face.release()
        self.plotter.close()
