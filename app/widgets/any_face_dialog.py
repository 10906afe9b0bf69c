"""File ▸ Open face mesh…: fit our template to a face mesh of any topology, with progress and
Cancel, then show the face with its fit-error heat map and landmarks before it is used.

The fit runs on a plain worker thread (:func:`core.fit.any_face.open_face`); its progress
callback emits Qt signals, and Cancel sets an event the fit polls between steps (the core then
raises ``KeyboardInterrupt``, nothing is kept). The result image is rendered by the core's numpy
rasteriser (no second VTK view): the face's own mesh, coloured by its distance to the fitted
template (blue 0 mm -> red :data:`HEAT_MAX_MM`, grey outside the face), with the 68 landmarks.
"""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
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
    done = Signal(object)
    error = Signal(str, bool)  # message, cancelled


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
    px, _ = view.project(lm)
    for x, y in np.round(px).astype(int):
        img[max(y - 1, 0):y + 2, max(x - 1, 0):x + 2] = (255, 230, 40)
    return img


class AnyFaceDialog(QDialog):
    """Fits ``path`` on open; ``face`` holds the :class:`core.fit.any_face.AnyFace` once done.

    Accepting ("Use this face") leaves it to the caller to make the face current.
    """

    def __init__(self, path: str, parent=None, landmarks: str | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open face mesh")
        self.setObjectName("any_face_dialog")
        self.path, self.face = path, None
        self._cancel = threading.Event()
        self.message = QLabel(f"Fitting our template to {path}…")
        self.message.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.use_button = self.buttons.addButton("Use this face",
                                                 QDialogButtonBox.ButtonRole.AcceptRole)
        self.use_button.setEnabled(False)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.cancel)
        lay = QVBoxLayout(self)
        for w in (self.message, self.progress, self.image, self.buttons):
            lay.addWidget(w)
        self._signals = sig = _Signals()
        sig.progress.connect(self._on_progress)
        sig.done.connect(self._on_done)
        sig.error.connect(self._on_error)
        self._thread = threading.Thread(target=self._run, args=(landmarks,), daemon=True)
        self._thread.start()

    def _run(self, landmarks) -> None:
        from core.fit.any_face import open_face

        try:
            face = open_face(self.path, landmarks=landmarks,
                             progress=lambda m, f: self._signals.progress.emit(m, f),
                             cancelled=self._cancel.is_set)
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
            "not at all).")
        img = np.ascontiguousarray(fit_image(face))
        qimg = QImage(img.data, img.shape[1], img.shape[0], 3 * img.shape[1],
                      QImage.Format.Format_RGB888).copy()
        self.image.setPixmap(QPixmap.fromImage(qimg))
        self.use_button.setEnabled(True)

    def _on_error(self, message: str, cancelled: bool) -> None:
        self.progress.setValue(0)
        self.message.setText(message if cancelled else f"Could not fit this face. {message}")
        if cancelled:
            self.reject()
