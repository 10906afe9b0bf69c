"""Interpolate panel: motions A and B (label + seed), the τ slider and the mode.

τ updates the animation live (geodesic interpolation on the SRVF sphere, or a mixed apex);
the result becomes an undo step when the slider is released or rests.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.errors import guarded
from app.widgets.common import blocked, label_combo, seed_spin, set_combo_label

__all__ = ["InterpolatePanel", "TAU_STEPS"]

#: The slider's resolution: τ = value / TAU_STEPS.
TAU_STEPS = 100


class InterpolatePanel(QWidget):
    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = s = session
        self.a_label, self.b_label = label_combo(s.labels, self), label_combo(s.labels, self)
        self.a_seed, self.b_seed = seed_spin(self), seed_spin(self)
        self.a_from_current = QPushButton("← current", self)
        self.b_from_current = QPushButton("← current", self)
        for b in (self.a_from_current, self.b_from_current):
            b.setToolTip("Use the expression on display (label and seed)")
        self.geodesic = QRadioButton("Geodesic (SRVF)", self)
        self.apex = QRadioButton("Mixed apex", self)
        self.geodesic.setToolTip("Geodesic between the two motions on the SRVF sphere")
        self.apex.setToolTip("One expression whose apex mixes both apexes")
        group = QButtonGroup(self)
        group.addButton(self.geodesic)
        group.addButton(self.apex)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setObjectName("tau_slider")
        self.slider.setRange(0, TAU_STEPS)
        self.slider.setPageStep(10)
        self.tau_label = QLabel(self)
        self.tau_label.setMinimumWidth(64)

        def row(label, seed, button):
            r = QHBoxLayout()
            r.addWidget(label, 2)
            r.addWidget(seed, 1)
            r.addWidget(button)
            return r

        form = QFormLayout()
        form.addRow("A", row(self.a_label, self.a_seed, self.a_from_current))
        form.addRow("B", row(self.b_label, self.b_seed, self.b_from_current))
        modes = QHBoxLayout()
        modes.addWidget(self.geodesic)
        modes.addWidget(self.apex)
        form.addRow("Mode", modes)
        tau_row = QHBoxLayout()
        tau_row.addWidget(QLabel("A", self))
        tau_row.addWidget(self.slider, 1)
        tau_row.addWidget(QLabel("B", self))
        tau_row.addWidget(self.tau_label)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addLayout(tau_row)
        lay.addStretch(1)

        for w in (self.a_label, self.b_label):
            w.currentIndexChanged.connect(self._ends_changed)
        for w in (self.a_seed, self.b_seed):
            w.valueChanged.connect(self._ends_changed)
        self.a_from_current.clicked.connect(guarded(lambda: self._from_current("A")))
        self.b_from_current.clicked.connect(guarded(lambda: self._from_current("B")))
        self.geodesic.toggled.connect(guarded(lambda on: on and s.set_interp_mode("geodesic")))
        self.apex.toggled.connect(guarded(lambda on: on and s.set_interp_mode("apex")))
        self.slider.valueChanged.connect(guarded(lambda v: s.set_tau(v / TAU_STEPS)))
        self.slider.sliderReleased.connect(guarded(s.commit_interpolation))
        s.interp_changed.connect(self._sync)
        self._sync()

    @guarded
    def _ends_changed(self, *_args) -> None:
        s = self.session
        a = (self.a_label.currentData(), self.a_seed.value())
        b = (self.b_label.currentData(), self.b_seed.value())
        if a != tuple(s.interp_a):
            s.set_interp_end("A", *a)
        if b != tuple(s.interp_b):
            s.set_interp_end("B", *b)

    def _from_current(self, which: str) -> None:
        s = self.session
        src = s.source
        if src.kind == "generate":
            s.set_interp_end(which, src.label, src.seed)
        else:
            s.set_interp_end(which, s.label, s.seed)

    def _sync(self) -> None:
        s = self.session
        set_combo_label(self.a_label, s.interp_a[0])
        set_combo_label(self.b_label, s.interp_b[0])
        with blocked(self.a_seed, self.b_seed, self.slider, self.geodesic, self.apex):
            self.a_seed.setValue(int(s.interp_a[1]))
            self.b_seed.setValue(int(s.interp_b[1]))
            if not self.slider.isSliderDown():
                self.slider.setValue(round(s.tau * TAU_STEPS))
            (self.geodesic if s.interp_mode == "geodesic" else self.apex).setChecked(True)
        self.tau_label.setText(f"τ = {s.tau:.2f}")
