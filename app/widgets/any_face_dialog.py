"""File ▸ Open face mesh…: fit our template to a face mesh of any topology, with progress and
Cancel, then show the face with its fit-error heat map and landmarks before it is used.

Two steps when the landmarks are detected: (1) the face is found and its 68 iBUG points are
shown on a render of the mesh, where any of them can be dragged (it is lifted back onto the
surface; :func:`core.fit.detect.move_ibug_point`); (2) "Fit" fits with the corrected points.
With a landmark file the dialog goes straight to step 2.

Both steps run on a plain worker thread (:func:`core.fit.any_face.open_face`); its progress
callback emits Qt signals, and Cancel sets an event the fit polls between steps (the core then
raises ``KeyboardInterrupt``, nothing is kept). The result image is rendered by the core's numpy
rasteriser (no second VTK view): the face's own mesh, coloured by its distance to the fitted
template (blue 0 mm -> red :data:`HEAT_MAX_MM`, grey outside the face), with the 68 landmarks.
"""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage, QMouseEvent, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QProgressBar,
    QVBoxLayout,
)

from app.errors import user_message

__all__ = ["AnyFaceDialog", "HEAT_MAX_MM", "fit_image"]

#: Upper end of the fit-error colour scale (mm at our template's scale).
HEAT_MAX_MM = 2.0


class _Signals(QObject):
    progress = Signal(str, float)
    detected = Signal(object)
    done = Signal(object)
    error = Signal(str, bool)  # message, cancelled


#: Picking radius (pixels) for dragging a landmark in the image.
PICK_PX = 9


class _PointImage(QLabel):
    """An image whose marked points can be dragged; ``moved(k, x, y)`` on release."""

    moved = Signal(int, float, float)

    def __init__(self) -> None:
        super().__init__()
        self.points = np.zeros((0, 2))
        self._drag: int | None = None

    def mousePressEvent(self, ev: QMouseEvent) -> None:  # noqa: N802 - Qt API
        p = np.array([ev.position().x(), ev.position().y()])
        if len(self.points):
            d = np.linalg.norm(self.points - p, axis=1)
            k = int(np.argmin(d))
            self._drag = k if d[k] <= PICK_PX else None

    def mouseReleaseEvent(self, ev: QMouseEvent) -> None:  # noqa: N802 - Qt API
        if self._drag is not None:
            self.moved.emit(self._drag, ev.position().x(), ev.position().y())
        self._drag = None


def _mark(img: np.ndarray, px: np.ndarray, color=(255, 230, 40)) -> np.ndarray:
    for x, y in np.round(px).astype(int):
        img[max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2] = color
    return img


def fit_image(face, size: int = 360) -> np.ndarray:
    """(size, size, 3) uint8: the face's mesh seen from the front, coloured by fit error."""
    from core.fit.raster import View, render

    fit, mesh = face.fit, face.mesh
    err = np.clip(np.nan_to_num(fit.error_face_mm, nan=-1.0) / HEAT_MAX_MM, -1.0, 1.0)
    colors = np.empty((len(err), 3))
    colors[:, 0] = 0.25 + 0.7 * np.clip(err, 0, 1)
    colors[:, 1] = 0.45 - 0.2 * np.abs(np.clip(err, 0, 1) - 0.5)
    colors[:, 2] = 0.95 - 0.7 * np.clip(err, 0, 1)
    colors[err < 0] = (0.62, 0.62, 0.62)
    sim = fit.to_template
    fwd = sim.rotation.T @ np.array([0.0, 1.0, 0.0])
    up = sim.rotation.T @ np.array([0.0, 0.0, 1.0])
    lm = fit.landmarks
    view = View(fwd, up, lm.mean(axis=0), 2.4 * float(np.ptp(lm, axis=0).max()), size)
    img = render(mesh.vertices, mesh.faces, view, colors=colors).image.copy()
    return _mark(img, view.project(lm)[0])


class AnyFaceDialog(QDialog):
    """Fits ``path`` on open; ``face`` holds the :class:`core.fit.any_face.AnyFace` once done.

    Accepting ("Use this face") leaves it to the caller to make the face current.
    """

    def __init__(self, path: str, parent=None, landmarks: str | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open face mesh")
        self.setObjectName("any_face_dialog")
        self.path, self.face = path, None
        self.detection = self._fit_mesh = self._mesh = None
        self._cancel = threading.Event()
        self.message = QLabel(f"Fitting our template to {path}…")
        self.message.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.image = _PointImage()
        self.image.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.image.moved.connect(self._on_point_moved)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.fit_button = self.buttons.addButton("Fit", QDialogButtonBox.ButtonRole.ActionRole)
        self.fit_button.setEnabled(False)
        self.fit_button.clicked.connect(self._start_fit)
        self.use_button = self.buttons.addButton(
            "Use this face", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.use_button.setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.cancel)
        lay = QVBoxLayout(self)
        for w in (self.message, self.progress, self.image, self.buttons):
            lay.addWidget(w)
        self._signals = sig = _Signals()
        sig.progress.connect(self._on_progress)
        sig.detected.connect(self._on_detected)
        sig.done.connect(self._on_done)
        sig.error.connect(self._on_error)
        target = self._run if landmarks is not None else self._run_detect
        self._thread = threading.Thread(target=target, args=(landmarks,), daemon=True)
        self._thread.start()

    def _run_detect(self, _landmarks) -> None:
        from core.fit.face_fit import detect_for_fit
        from core.fit.load import load_any_mesh

        try:
            self._mesh = load_any_mesh(self.path)
            det = detect_for_fit(
                self._mesh,
                progress=lambda m, f: self._signals.progress.emit(m, f),
                cancelled=self._cancel.is_set,
            )
        except KeyboardInterrupt:
            self._signals.error.emit("Fitting cancelled; the current face is unchanged.", True)
        except Exception as exc:  # noqa: BLE001 - reported in the dialog
            self._signals.error.emit(user_message(exc), False)
        else:
            self._signals.detected.emit(det)

    def _on_detected(self, result) -> None:
        self.detection, fv, ff = result
        self._fit_mesh = (fv, ff)
        self.progress.setValue(50)
        self.message.setText(
            f"Found the face ({self.detection.render.view.size} px view, "
            f"{self._mesh.n_vertices} vertices). Drag any yellow point that is off, then Fit."
        )
        self._show_detection()
        self.fit_button.setEnabled(True)

    def _show_detection(self) -> None:
        from core.fit.detect import ibug_pixels

        px = ibug_pixels(self.detection)
        self.image.points = px
        self._set_image(_mark(self.detection.render.image.copy(), px))

    def _on_point_moved(self, k: int, x: float, y: float) -> None:
        from core.fit.detect import move_ibug_point

        if self.detection is None or not self.fit_button.isEnabled():
            return
        self.detection = move_ibug_point(self.detection, *self._fit_mesh, k, np.array([x, y]))
        self._show_detection()

    def _start_fit(self) -> None:
        self.fit_button.setEnabled(False)
        self.image.points = np.zeros((0, 2))
        self._thread = threading.Thread(target=self._run, args=(None,), daemon=True)
        self._thread.start()

    def _run(self, landmarks) -> None:
        from core.fit.any_face import open_face

        try:
            face = open_face(
                self.path,
                landmarks=landmarks,
                mesh=self._mesh,
                detection=self.detection,
                progress=lambda m, f: self._signals.progress.emit(m, f),
                cancelled=self._cancel.is_set,
            )
        except KeyboardInterrupt:
            self._signals.error.emit("Fitting cancelled; the current face is unchanged.", True)
        except Exception as exc:  # noqa: BLE001 - reported in the dialog
            self._signals.error.emit(user_message(exc), False)
        else:
            self._signals.done.emit(face)

    def running(self) -> bool:
        """Whether the fit is still in progress."""
        return self._thread.is_alive()

    def cancel(self) -> None:
        """Cancel a running fit (the dialog closes when it has stopped) or close."""
        if self.running():
            self._cancel.set()
            self.message.setText("Cancelling…")
        else:
            self.reject()

    def _on_progress(self, message: str, fraction: float) -> None:
        self.message.setText(message)
        self.progress.setValue(int(round(100 * fraction)))

    def _on_done(self, face) -> None:
        self.face = face
        self.progress.setValue(100)
        m = face.mesh
        self.message.setText(
            f"{m.n_vertices} vertices, {m.n_faces} triangles; landmarks: "
            f"{face.fit.meta['method']}.\n{face.fit.summary()}\nColours: distance to the fitted "
            f"template, blue 0 to red {HEAT_MAX_MM:g} mm (grey: outside the face, moves less or "
            "not at all)."
        )
        self._set_image(fit_image(face))
        self.use_button.setEnabled(True)

    def _set_image(self, img: np.ndarray) -> None:
        img = np.ascontiguousarray(img)
        qimg = QImage(
            img.data, img.shape[1], img.shape[0], 3 * img.shape[1], QImage.Format.Format_RGB888
        ).copy()
        self.image.setFixedSize(img.shape[1], img.shape[0])
        self.image.setPixmap(QPixmap.fromImage(qimg))

    def _on_error(self, message: str, cancelled: bool) -> None:
        self.progress.setValue(0)
        self.message.setText(message if cancelled else f"Could not fit this face. {message}")
        if cancelled:
            self.reject()
