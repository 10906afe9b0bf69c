"""Timeline strip: chain expressions into one long animation.

A horizontal row of clip buttons (label, seed, duration; width proportional to the duration);
the selected clip's label, seed and duration are edited below the row; Add, Remove, ◀ / ▶
(reorder) and Build. Build plays the clips as one motion on the current face
(:meth:`app.apps_controller.AppsController.build_timeline`): it is then scrubbed with the
playback bar and exported like any motion.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.errors import guarded
from app.widgets.common import blocked, label_combo, set_combo_label

__all__ = ["TimelineStrip"]

#: Pixels per second of clip in the strip.
PX_PER_SECOND = 60


class TimelineStrip(QWidget):
    """Edits ``apps.clips`` (see module docstring); ``selected`` is the clip being edited."""

    def __init__(self, session, apps, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from core.apps.timeline import NEUTRAL

        self.session, self.apps = session, apps
        self.selected = 0
        self.row = QHBoxLayout()
        self.row.setSpacing(2)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.clip_buttons: list[QPushButton] = []
        self.label_box = label_combo((*session.labels, NEUTRAL), self)
        self.label_box.setObjectName("clip_label")
        self.seed_spin = QSpinBox(self)
        self.seed_spin.setObjectName("clip_seed")
        self.seed_spin.setRange(0, 99999)
        self.duration_spin = QDoubleSpinBox(self)
        self.duration_spin.setObjectName("clip_duration")
        self.duration_spin.setRange(0.1, 60.0)
        self.duration_spin.setSingleStep(0.1)
        self.duration_spin.setSuffix(" s")
        self.add_button = QPushButton("Add", self)
        self.add_button.setObjectName("clip_add")
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.setObjectName("clip_remove")
        self.left_button = QPushButton("◀", self)
        self.left_button.setObjectName("clip_left")
        self.right_button = QPushButton("▶", self)
        self.right_button.setObjectName("clip_right")
        self.build_button = QPushButton("Build timeline", self)
        self.build_button.setObjectName("timeline_build")
        self.total = QLabel(self)

        edit = QHBoxLayout()
        for w in (
            QLabel("Clip"),
            self.label_box,
            QLabel("seed"),
            self.seed_spin,
            self.duration_spin,
            self.left_button,
            self.right_button,
            self.add_button,
            self.remove_button,
        ):
            edit.addWidget(w)
        edit.addStretch(1)
        edit.addWidget(self.total)
        edit.addWidget(self.build_button)
        lay = QVBoxLayout(self)
        lay.addLayout(self.row)
        lay.addLayout(edit)

        self.group.idClicked.connect(self._select)
        self.label_box.activated.connect(guarded(lambda _i: self._edit()))
        self.seed_spin.editingFinished.connect(guarded(self._edit))
        self.duration_spin.editingFinished.connect(guarded(self._edit))
        self.add_button.clicked.connect(guarded(self._add))
        self.remove_button.clicked.connect(guarded(lambda: apps.remove_clip(self.selected)))
        self.left_button.clicked.connect(guarded(lambda: self._move(-1)))
        self.right_button.clicked.connect(guarded(lambda: self._move(1)))
        self.build_button.clicked.connect(guarded(apps.build_timeline))
        apps.clips_changed.connect(self._rebuild)
        self._rebuild()

    def _select(self, index: int) -> None:
        self.selected = index
        self._sync_editor()

    def _edit(self) -> None:
        """Write the editor's label/seed/duration into the selected clip."""
        from dataclasses import replace

        clips = list(self.apps.clips)
        c = clips[self.selected]
        clips[self.selected] = replace(
            c,
            label=self.label_box.currentData(),
            seed=self.seed_spin.value(),
            duration=round(self.duration_spin.value(), 3),
        )
        if clips[self.selected] != c:
            self.apps.set_clips(clips)

    def _add(self) -> None:
        from core.apps.timeline import Clip

        c = self.apps.clips[self.selected]
        self.apps.add_clip(Clip(c.label, c.seed + 1, c.duration))
        self._select(len(self.apps.clips) - 1)

    def _move(self, step: int) -> None:
        j = self.selected + step
        self.apps.move_clip(self.selected, step)
        if 0 <= j < len(self.apps.clips):
            self._select(j)

    def _rebuild(self) -> None:
        for b in self.clip_buttons:
            self.group.removeButton(b)
            self.row.removeWidget(b)
            b.deleteLater()
        self.clip_buttons = []
        clips = self.apps.clips
        self.selected = min(self.selected, len(clips) - 1)
        for i, c in enumerate(clips):
            text = c.label if c.is_neutral else f"{c.label} #{c.seed}"
            b = QPushButton(f"{text}\n{c.duration:g} s", self)
            b.setObjectName(f"clip_{i}")
            b.setCheckable(True)
            b.setMinimumWidth(max(60, int(c.duration * PX_PER_SECOND)))
            self.group.addButton(b, i)
            self.row.addWidget(b)
            self.clip_buttons.append(b)
        self.total.setText(f"{sum(c.duration for c in clips):g} s")
        self.remove_button.setEnabled(len(clips) > 1)
        self._sync_editor()

    def _sync_editor(self) -> None:
        c = self.apps.clips[self.selected]
        self.clip_buttons[self.selected].setChecked(True)
        set_combo_label(self.label_box, c.label)
        with blocked(self.seed_spin, self.duration_spin):
            self.seed_spin.setValue(c.seed)
            self.duration_spin.setValue(c.duration)
        self.seed_spin.setEnabled(not c.is_neutral)
        self.left_button.setEnabled(self.selected > 0)
        self.right_button.setEnabled(self.selected < len(self.apps.clips) - 1)
