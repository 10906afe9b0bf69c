"""Export dialog: format, destination, progress bar and cancel.

Folder formats write ``<folder>/frame_0001.obj`` … plus ``manifest.json``; single files get a
``.manifest.json`` beside them. Video frames are rendered from the viewport one per event-loop
turn (``render_frame`` is injected by the main window), then encoded in the background. Every
export is atomic: a failure or a cancel leaves nothing half-written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import guarded
from app.exporting import FORMATS, ExportController

__all__ = ["ExportDialog"]


class ExportDialog(QDialog):
    """Non-modal export dialog.

    Parameters
    ----------
    session : StudioSession
    render_frame : callable ``t -> (H, W, 3) uint8`` or None
        Renders frame t of the motion from the viewport (needed for MP4/GIF).
    default_dir : str
        Where the destination field starts.
    """

    def __init__(
        self, session, render_frame=None, default_dir: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.setObjectName("export_dialog")
        self.session = session
        self.render_frame = render_frame
        if session.exports is None:
            session.exports = ExportController(session)
        self.exports: ExportController = session.exports
        self._capture: dict | None = None

        self.format = QComboBox(self)
        for fmt, (text, _folder) in FORMATS.items():
            self.format.addItem(text, fmt)
        self.path = QLineEdit(self)
        self.path.setObjectName("export_path")
        self.path.setText(str(Path(default_dir or Path.home()) / "expression"))
        browse = QPushButton("Browse…", self)
        self.overwrite = QCheckBox("Replace an existing folder / file", self)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(self)
        self.export_button = self.buttons.addButton(
            "Export", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.cancel_button.setEnabled(False)

        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Format", self.format)
        form.addRow("Save to", path_row)
        form.addRow("", self.overwrite)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.progress)
        lay.addWidget(self.message)
        lay.addWidget(self.buttons)
        self.resize(560, 220)

        browse.clicked.connect(self._browse)
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        self.format.currentIndexChanged.connect(self._format_changed)
        self.exports.progress.connect(self._on_progress)
        self.exports.finished.connect(self._on_finished)
        self.exports.cancelled.connect(self._on_cancelled)
        self.exports.running_changed.connect(self._set_running)
        session.failed.connect(self._on_failed)
        self._format_changed()

    # --------------------------------------------------------------------------- inputs
    def set_format(self, fmt: str) -> None:
        self.format.setCurrentIndex(self.format.findData(fmt))

    def _fmt(self) -> str:
        return self.format.currentData()

    @guarded
    def _format_changed(self, *_args) -> None:
        fmt = self._fmt()
        folder = FORMATS[fmt][1]
        p = Path(self.path.text())
        p = p.with_suffix("") if folder else p.with_suffix("." + fmt)
        self.path.setText(str(p))
        notes = {
            "ply": "PLY keeps one UV per vertex, so the face's UV seams are not written; "
            "use OBJ for textures.",
            "glb": "Morph target per frame plus a weights animation (glTF 2.0, y up).",
            "mp4": "Renders the viewport as you see it (landmarks hidden).",
            "gif": "Renders the viewport as you see it (landmarks hidden).",
        }
        self.message.setText(notes.get(fmt, "A folder with one file per frame and manifest.json."))

    @guarded
    def _browse(self, *_args) -> None:
        fmt = self._fmt()
        if FORMATS[fmt][1]:
            path, _ = QFileDialog.getSaveFileName(
                self, "Export folder", self.path.text(), "Folder (*)"
            )
        else:
            path, _ = QFileDialog.getSaveFileName(
                self, "Export file", self.path.text(), f"{fmt.upper()} (*.{fmt})"
            )
        if path:
            self.path.setText(path)

    # --------------------------------------------------------------------------- running
    @guarded
    def start(self, *_args) -> None:
        fmt, path = self._fmt(), self.path.text().strip()
        self.progress.setValue(0)
        if fmt in ("mp4", "gif"):
            if self.render_frame is None:
                self._on_failed("video export needs the viewport")
                return
            self._capture = {
                "t": 0,
                "frames": [],
                "path": path,
                "fmt": fmt,
                "n": self.session.n_motion_frames,
            }
            self._set_running(True)
            self.message.setText("Rendering frames…")
            QTimer.singleShot(0, self._capture_next)
            return
        self.session.export(fmt, path, self.overwrite.isChecked())

    @guarded
    def _capture_next(self) -> None:
        c = self._capture
        if c is None:
            return
        try:
            c["frames"].append(self.render_frame(c["t"]))
        except Exception:
            self._capture = None
            self._set_running(False)
            raise
        c["t"] += 1
        self._on_progress(c["t"], 2 * c["n"])
        if c["t"] < c["n"]:
            QTimer.singleShot(0, self._capture_next)
            return
        self._capture = None
        self.session.preview_changed.emit()  # the viewport shows the current frame again
        frames = np.stack(c["frames"])
        self.message.setText("Encoding…")
        if not self.session.export(c["fmt"], c["path"], self.overwrite.isChecked(), frames):
            self._set_running(False)

    def cancel(self) -> None:
        if self._capture is not None:
            self._capture = None
            self._set_running(False)
            self.session.preview_changed.emit()
            self.message.setText("Cancelled; nothing was written.")
        self.exports.cancel()

    def _set_running(self, on: bool) -> None:
        self.export_button.setEnabled(not on)
        self.cancel_button.setEnabled(on)
        self.format.setEnabled(not on)

    def _on_progress(self, done: int, total: int) -> None:
        if self._capture is None and self._fmt() in ("mp4", "gif"):
            done, total = total + done, 2 * total  # second half: encoding
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _on_finished(self, path: str) -> None:
        self.progress.setValue(self.progress.maximum())
        self.message.setText(f"Exported to {path}")

    def _on_cancelled(self, message: str) -> None:
        self.message.setText("Cancelled; nothing was written.")

    def _on_failed(self, message: str) -> None:
        if self.isVisible() and not self.exports.running and self._capture is None:
            self.export_button.setEnabled(True)
            self.cancel_button.setEnabled(False)
            self.format.setEnabled(True)
            self.message.setText(message)

    def showEvent(self, ev) -> None:  # noqa: N802 - Qt API
        """Open fresh: an empty progress bar and the format's note, not the last result."""
        if not self.exports.running and self._capture is None:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self._format_changed()
        super().showEvent(ev)

    def reject(self) -> None:  # Escape
        if self.exports.running or self._capture is not None:
            self.cancel()
        super().reject()

    def closeEvent(self, ev) -> None:  # noqa: N802 - Qt API
        if self.exports.running or self._capture is not None:
            self.cancel()
        super().closeEvent(ev)
