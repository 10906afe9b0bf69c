"""Sculpt panel: mode, symmetry, temporal falloff, pins, resets and the landmark readout."""

from __future__ import annotations

import math

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.errors import guarded
from app.widgets.common import Throttle, blocked

__all__ = ["SculptPanel"]

_HINT = (
    "Drag a landmark in the view. Ctrl+click pins it; right click for more. "
    "Smooth: the unpinned landmarks within 15 mm follow with a smooth falloff. "
    "Direct: only that landmark moves. Coherent: the unpinned landmarks follow a prior "
    "learned from the training data."
)

_READOUT_HEAD = "            x       y       z  (mm)"
#: The readout without a selection: the same four lines, so selecting does not resize the dock.
_EMPTY_READOUT = (
    f"{_READOUT_HEAD}\nrequested       –       –       –\n"
    "achieved        –       –       –\nerror           –"
)


class SculptPanel(QWidget):
    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = s = session
        self.smooth = QRadioButton("Smooth", self)
        self.smooth.setObjectName("smooth_mode")
        self.direct = QRadioButton("Direct", self)
        self.coherent = QRadioButton("Coherent (prior)", self)
        self.coherent.setObjectName("coherent_mode")
        self.coherent.setEnabled(s.prior is not None)
        group = QButtonGroup(self)
        group.addButton(self.smooth)
        group.addButton(self.direct)
        group.addButton(self.coherent)
        self.symmetric = QCheckBox("Symmetric (mirror x → −x)", self)
        self.sigma = QDoubleSpinBox(self)
        self.sigma.setRange(0.0, 60.0)
        self.sigma.setSingleStep(1.0)
        self.sigma.setDecimals(1)
        self.sigma.setSuffix(" frames")
        self.sigma.setToolTip(
            "Temporal falloff σ: an edit on one frame fades over ±2σ frames, "
            "scaled by how far the expression has developed"
        )
        self.whole = QCheckBox("whole motion", self)

        self.name = QLabel("no landmark selected", self)
        self.name.setStyleSheet("font-weight: 600;")
        # a long landmark name must not widen the dock (and shift the viewport)
        self.name.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.pin_button = QPushButton("Pin", self)
        self.pin_button.setToolTip("Pin / unpin the selected landmark (P)")
        self.reset_button = QPushButton("Reset landmark", self)
        self.reset_all_button = QPushButton("Reset all", self)
        self.unpin_all_button = QPushButton("Unpin all", self)
        self.pins_label = QLabel(self)
        self.readout = QLabel(self)
        self.readout.setObjectName("readout")
        self.readout.setStyleSheet("font-family: monospace;")
        hint = QLabel(_HINT, self)
        hint.setWordWrap(True)
        hint.setStyleSheet("color: palette(mid);")

        modes = QHBoxLayout()
        modes.addWidget(self.smooth)
        modes.addWidget(self.direct)
        modes.addWidget(self.coherent)
        sig_row = QHBoxLayout()
        sig_row.addWidget(self.sigma, 1)
        sig_row.addWidget(self.whole)
        form = QFormLayout()
        form.addRow("Mode", modes)
        form.addRow("", self.symmetric)
        form.addRow("Falloff σ", sig_row)
        sel = QGroupBox("Landmark", self)
        grid = QGridLayout(sel)
        grid.addWidget(self.name, 0, 0, 1, 2)
        grid.addWidget(self.pin_button, 1, 0)
        grid.addWidget(self.reset_button, 1, 1)
        grid.addWidget(self.unpin_all_button, 2, 0)
        grid.addWidget(self.reset_all_button, 2, 1)
        grid.addWidget(self.pins_label, 3, 0, 1, 2)
        grid.addWidget(self.readout, 4, 0, 1, 2)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(sel)
        lay.addWidget(hint)
        lay.addStretch(1)

        self.smooth.toggled.connect(guarded(lambda on: on and s.set_mode("smooth")))
        self.direct.toggled.connect(guarded(lambda on: on and s.set_mode("direct")))
        self.coherent.toggled.connect(guarded(lambda on: on and s.set_mode("coherent")))
        self.symmetric.toggled.connect(guarded(s.set_symmetric))
        self.sigma.valueChanged.connect(guarded(lambda v: s.set_sigma(v)))
        self.whole.toggled.connect(guarded(self._whole_toggled))
        self.pin_button.clicked.connect(guarded(lambda: s.pin()))
        self.reset_button.clicked.connect(guarded(lambda: s.reset_landmark()))
        self.reset_all_button.clicked.connect(guarded(s.reset_all))
        self.unpin_all_button.clicked.connect(guarded(s.unpin_all))
        s.options_changed.connect(self._sync_options)
        # drag moves change the readout ~30 times a second: at most 10 updates a second then
        self._readout_throttle = Throttle(self._sync_readout, 100, self)
        for sig in (s.edits_changed, s.preview_changed):
            sig.connect(self._readout_throttle)
        for sig in (s.frame_changed, s.motion_changed):
            sig.connect(self._sync_readout)
        self._sync_options()
        self._sync_readout()

    def _whole_toggled(self, on: bool) -> None:
        self.sigma.setEnabled(not on)
        self.session.set_sigma(math.inf if on else self.sigma.value())

    def _sync_options(self) -> None:
        s = self.session
        buttons = {"smooth": self.smooth, "direct": self.direct, "coherent": self.coherent}
        with blocked(*buttons.values(), self.symmetric, self.sigma, self.whole):
            buttons[s.mode].setChecked(True)
            self.symmetric.setChecked(s.symmetric)
            whole = math.isinf(s.sigma)
            self.whole.setChecked(whole)
            self.sigma.setEnabled(not whole)
            if not whole:
                self.sigma.setValue(s.sigma)

    @guarded
    def _sync_readout(self, *_args) -> None:
        s = self.session
        r = s.readout()
        has = r is not None
        for b in (self.pin_button, self.reset_button):
            b.setEnabled(has)
        self.pins_label.setText(f"{len(s.pins)} pinned" if s.pins else "no pins")
        if not has or s.compare_active:  # the readout belongs to the Editor's face
            self.name.setText("no landmark selected")
            self.readout.setText(_EMPTY_READOUT)
            return
        self.name.setText(
            f"#{r['landmark']} {r['name']}" + (" (pinned)" if r["landmark"] in s.pins else "")
        )
        self.pin_button.setText("Unpin" if r["landmark"] in s.pins else "Pin")
        req, ach = r["requested"] * 1000.0, r["achieved"] * 1000.0
        self.readout.setText(
            f"{_READOUT_HEAD}\n"
            f"requested {req[0]:7.2f} {req[1]:7.2f} {req[2]:7.2f}\n"
            f"achieved  {ach[0]:7.2f} {ach[1]:7.2f} {ach[2]:7.2f}\n"
            f"error     {r['error_mm']:7.2f} mm"
        )
