"""File ▸ Transfer motion from…: the options of a transfer, as ``python main.py transfer`` has
them (``--mode``, ``--source-fps``, ``--stabilize``, ``--no-align``).

The dialog is non-modal (``open()``); ``accepted`` hands :meth:`TransferDialog.options` to
:meth:`app.apps_controller.AppsController.transfer`, and the export manifest records them.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

__all__ = ["TransferDialog", "MODES"]

#: (mode, menu text, tooltip) as ``python main.py transfer --mode``.
MODES = (
    (
        "srvf",
        "Scaled to this face (SRVF, paper)",
        "The performer's motion encoded as an SRVF and replayed at this face's size: any units, "
        "any face size",
    ),
    (
        "absolute",
        "Absolute displacements (metres)",
        "The performer's landmark displacements kept as they are: a source in metres on a "
        "face of about the same size",
    ),
    (
        "multilinear",
        "Absolute, corrected for this face (learned)",
        "The performer's landmark displacements (metres) adjusted for the difference between "
        "the performer's face and this one by a model learned from anny faces",
    ),
)


class TransferDialog(QDialog):
    """Options of one transfer of ``path`` at the studio's ``fps``.

    ``values`` (optional) presets the widgets: ``mode``, ``source_fps``, ``stabilize``,
    ``align`` (:meth:`options` returns the same keys).
    """

    def __init__(
        self, path: str, fps: float, values: dict | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Transfer motion")
        self.setObjectName("transfer_dialog")
        v = {"mode": "srvf", "source_fps": 30.0, "stabilize": True, "align": True}
        v.update(values or {})
        self.path = str(path)

        self.mode = QComboBox(self)
        self.mode.setObjectName("transfer_mode")
        for i, (mode, text, tip) in enumerate(MODES):
            self.mode.addItem(text, mode)
            self.mode.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
        self.mode.setCurrentIndex(max(0, self.mode.findData(v["mode"])))
        self.source_fps = QDoubleSpinBox(self)
        self.source_fps.setObjectName("transfer_source_fps")
        self.source_fps.setRange(1.0, 240.0)
        self.source_fps.setDecimals(2)
        self.source_fps.setSuffix(" fps")
        self.source_fps.setValue(float(v["source_fps"]))
        self.source_fps.setToolTip(
            f"Frame rate the source was recorded at; it is resampled to the studio's {fps:g} fps"
        )
        self.stabilize = QCheckBox("Remove the performer's head motion", self)
        self.stabilize.setChecked(bool(v["stabilize"]))
        self.stabilize.setToolTip(
            "Rigid fit of every frame on the nose bridge and inner eye corners"
        )
        self.align = QCheckBox("Rotate the source's axes onto this face's", self)
        self.align.setChecked(bool(v["align"]))
        self.align.setToolTip("Off when the source already uses the studio's axes (z up, -y front)")

        form = QFormLayout()
        source = QLabel(Path(self.path).name, self)
        source.setToolTip(self.path)
        form.addRow("Source:", source)
        form.addRow("Mode:", self.mode)
        form.addRow("Recorded at:", self.source_fps)
        form.addRow("", self.stabilize)
        form.addRow("", self.align)
        note = QLabel(f"The result plays at {fps:g} fps on the current face.", self)
        note.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Transfer")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(note)
        lay.addWidget(self.buttons)

    def options(self) -> dict:
        """``{"mode", "source_fps", "stabilize", "align"}`` as chosen."""
        return {
            "mode": self.mode.currentData(),
            "source_fps": float(self.source_fps.value()),
            "stabilize": self.stabilize.isChecked(),
            "align": self.align.isChecked(),
        }
