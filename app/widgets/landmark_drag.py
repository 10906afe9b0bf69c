"""Grab landmarks with the mouse: a Qt event filter on the viewport's QtInteractor.

* Left press on a landmark grabs it and returns True for press/move/release, so VTK's trackball
  never sees them and the camera does not rotate; a press elsewhere returns False (rotate/zoom
  as usual).
* The grabbed landmark moves in the camera's view plane through its position: each move
  intersects the mouse ray with that plane (keeping the offset between the click and the
  landmark centre) and calls ``session.drag_to``.
* Ctrl+click pins/unpins; right click opens a small menu; Escape cancels a drag.
* Keys never reach VTK (its default bindings would e.g. switch every actor to wireframe);
  the window's shortcuts are handled by Qt before the widget sees the key.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QMenu

from app.errors import report

__all__ = ["LandmarkDragFilter"]


class LandmarkDragFilter(QObject):
    """Event filter installed on ``viewport.plotter`` (see module docstring)."""

    def __init__(self, viewport, session) -> None:
        super().__init__(viewport)
        self.viewport = viewport
        self.session = session
        self._grab: tuple | None = None  # (landmark, plane point, plane normal, offset)
        self._hover = False

    @property
    def grabbing(self) -> bool:
        return self._grab is not None

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        try:
            return bool(self._handle(event))
        except Exception as exc:  # noqa: BLE001 - never raise into Qt's event loop
            self._grab = None
            self.session.cancel_drag()
            report(exc, "landmark drag")
            return False

    def _handle(self, ev) -> bool:
        t = ev.type()
        if t == QEvent.Type.MouseButtonPress:
            return self._press(ev)
        if t == QEvent.Type.MouseMove:
            if self._grab is not None:
                k, point, normal, offset = self._grab
                hit = self.viewport.ray_plane(ev.position(), point, normal)
                self.session.drag_to(hit + offset)
                return True
            if ev.buttons() == Qt.MouseButton.NoButton:
                self._update_hover(ev)
            return False
        if t == QEvent.Type.MouseButtonRelease and self._grab is not None:
            if ev.button() == Qt.MouseButton.LeftButton:
                self._grab = None
                self.session.end_drag()
                self.viewport.plotter.setCursor(Qt.CursorShape.OpenHandCursor)
            return True
        if t in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            if (
                t == QEvent.Type.KeyPress
                and ev.key() == Qt.Key.Key_Escape
                and self._grab is not None
            ):
                self._grab = None
                self.session.cancel_drag()
            return True
        if t == QEvent.Type.MouseButtonDblClick:
            return self.viewport.landmark_at(ev.position()) is not None
        return False

    def _press(self, ev) -> bool:
        if self._grab is not None:
            return True
        k = self.viewport.landmark_at(ev.position())
        if k is None:
            return False
        button, mods = ev.button(), ev.modifiers()
        if button == Qt.MouseButton.RightButton:
            self._menu(k, ev.globalPosition().toPoint())
            return True
        if button != Qt.MouseButton.LeftButton:
            return False
        if mods & Qt.KeyboardModifier.ControlModifier:
            self.session.pin(k)
            return True
        if not self.session.begin_drag(k, self.viewport.view_rows()):
            return True
        point = np.array(self.session.current_landmarks()[k], np.float64)
        normal = np.array(self.viewport.plotter.camera.direction, np.float64)
        hit = self.viewport.ray_plane(ev.position(), point, normal)
        self._grab = (k, point, normal, point - hit)
        self.viewport.plotter.setCursor(Qt.CursorShape.ClosedHandCursor)
        return True

    def _update_hover(self, ev) -> None:
        over = self.viewport.landmark_at(ev.position()) is not None
        if over != self._hover:
            self._hover = over
            shape = Qt.CursorShape.OpenHandCursor if over else Qt.CursorShape.ArrowCursor
            self.viewport.plotter.setCursor(shape)

    def _menu(self, k: int, global_pos) -> None:
        s = self.session
        s.select(k)
        menu = QMenu(self.viewport)
        menu.addAction(f"{s.landmarks.names[k]}").setEnabled(False)
        menu.addAction("Unpin" if k in s.pins else "Pin", lambda: s.pin(k))
        menu.addAction("Reset this landmark", lambda: s.reset_landmark(k))
        menu.addAction("Reset all landmarks", s.reset_all)
        menu.popup(global_pos)
