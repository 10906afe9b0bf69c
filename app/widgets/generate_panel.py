"""Generate panel: expression label, seed ("new seed"), frame count, side of one-sided labels.

Changing the label or the seed generates at once (generation is fast and runs on the worker);
each result is an undo step, and undo puts the previous label/seed back into these widgets.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.errors import guarded
from app.widgets.common import blocked, label_combo, seed_spin, set_combo_label

__all__ = ["GeneratePanel"]


class GeneratePanel(QWidget):
    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = s = session
        self.label_box = label_combo(s.labels, self)
        self.label_box.setObjectName("label_box")
        self.seed_spin = seed_spin(self)
        self.seed_spin.setObjectName("seed_spin")
        self.new_seed_button = QPushButton("New seed", self)
        self.new_seed_button.setToolTip("Pick a random seed and generate (Ctrl+N)")
        self.frames_spin = QSpinBox(self)
        self.frames_spin.setRange(8, 120)
        self.frames_spin.setSuffix(" frames")
        self.side_box = QComboBox(self)
        self.side_box.setObjectName("side_box")
        for text, side in (("From the seed", None), ("Left", "left"), ("Right", "right")):
            self.side_box.addItem(text, side)
        self.side_box.setToolTip(
            "Side of one-sided expressions (mouth_side, contempt): the "
            "subject's left or right, or drawn from the seed"
        )
        self.generate_button = QPushButton("Generate", self)
        self.generate_button.setObjectName("generate_button")
        self.generate_button.setDefault(True)
        self.generate_button.setToolTip("Generate the expression on the current face (Ctrl+G)")
        self.info = QLabel(self)
        self.info.setWordWrap(True)
        self.info.setStyleSheet("color: palette(mid);")

        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed_spin, 1)
        seed_row.addWidget(self.new_seed_button)
        form = QFormLayout()
        form.addRow("Expression", self.label_box)
        form.addRow("Seed", seed_row)
        form.addRow("Length", self.frames_spin)
        form.addRow("Side", self.side_box)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.generate_button)
        lay.addWidget(self.info)
        lay.addStretch(1)

        self.label_box.currentIndexChanged.connect(self._generate)
        self.seed_spin.valueChanged.connect(self._generate)
        self.frames_spin.editingFinished.connect(self._frames_done)
        self.generate_button.clicked.connect(self._generate)
        self.side_box.activated.connect(guarded(lambda _i: s.set_side(self.side_box.currentData())))
        self.new_seed_button.clicked.connect(guarded(lambda: s.new_seed()))
        s.motion_changed.connect(self._sync)
        s.failed.connect(lambda _m: self._sync())  # e.g. a failed generation: back to the motion
        s.busy_changed.connect(
            lambda busy: self.generate_button.setText("Working…" if busy else "Generate")
        )
        self._sync()

    @guarded
    def _generate(self, *_args) -> None:
        self.session.generate(
            self.label_box.currentData(), self.seed_spin.value(), self.frames_spin.value()
        )

    @guarded
    def _frames_done(self) -> None:
        if self.frames_spin.value() != self.session.n_frames:
            self._generate()

    def _sync(self) -> None:
        s = self.session
        set_combo_label(self.label_box, s.label)
        with blocked(self.seed_spin, self.frames_spin):
            self.seed_spin.setValue(s.seed)
            self.frames_spin.setValue(s.n_frames)
        with blocked(self.side_box):
            self.side_box.setCurrentIndex((None, "left", "right").index(s.side))
        self.side_box.setEnabled(s.label in s.one_sided)
        self.info.setText(f"Showing: {s.source.describe()}")
