"""Playback bar: play/pause, frame stepping, timeline slider, loop and fps.

Scrubbing is instant: the motion is decoded once, the slider only changes the session's frame
and the viewport swaps the mesh points.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QStyle,
    QToolButton,
    QWidget,
)

from app.errors import guarded
from app.widgets.common import blocked

__all__ = ["PlaybackBar"]


class PlaybackBar(QWidget):
    def __init__(self, session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = s = session
        st = self.style()
        self.play_button = QToolButton(self)
        self.play_button.setObjectName("play_button")
        self.play_button.setToolTip("Play / pause (Space)")
        self._icons = (
            st.standardIcon(QStyle.StandardPixmap.SP_MediaPlay),
            st.standardIcon(QStyle.StandardPixmap.SP_MediaPause),
        )
        self.prev_button = QToolButton(self)
        self.prev_button.setIcon(st.standardIcon(QStyle.StandardPixmap.SP_MediaSeekBackward))
        self.prev_button.setToolTip("Previous frame (,)")
        self.next_button = QToolButton(self)
        self.next_button.setIcon(st.standardIcon(QStyle.StandardPixmap.SP_MediaSeekForward))
        self.next_button.setToolTip("Next frame (.)")
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setObjectName("timeline")
        self.slider.setToolTip("Timeline: drag to scrub")
        self.frame_label = QLabel(self)
        self.frame_label.setMinimumWidth(70)
        self.loop_box = QCheckBox("Loop", self)
        self.fps_spin = QSpinBox(self)
        self.fps_spin.setRange(1, 120)
        self.fps_spin.setSuffix(" fps")

        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        for w in (self.prev_button, self.play_button, self.next_button):
            lay.addWidget(w)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.frame_label)
        lay.addWidget(self.loop_box)
        lay.addWidget(self.fps_spin)

        self.play_button.clicked.connect(guarded(s.toggle_play))
        self.prev_button.clicked.connect(guarded(lambda: s.step(-1)))
        self.next_button.clicked.connect(guarded(lambda: s.step(1)))
        self.slider.valueChanged.connect(guarded(s.set_frame))
        self.loop_box.toggled.connect(guarded(s.set_loop))
        self.fps_spin.valueChanged.connect(guarded(s.set_fps))
        s.frame_changed.connect(self._sync_frame)
        s.motion_changed.connect(self._sync)
        s.timeline_changed.connect(self._sync)
        s.playing_changed.connect(self._sync_playing)
        s.options_changed.connect(self._sync_options)
        self._sync()
        self._sync_playing(s.playing)
        self._sync_options()

    def _sync(self) -> None:
        n = self.session.timeline_frames
        with blocked(self.slider):
            self.slider.setRange(0, n - 1)
        for w in (self.play_button, self.prev_button, self.next_button, self.slider):
            w.setEnabled(n > 1)
        self._sync_frame(self.session.frame)

    def _sync_frame(self, t: int) -> None:
        with blocked(self.slider):
            self.slider.setValue(t)
        self.frame_label.setText(f"{t + 1} / {self.session.timeline_frames}")

    def _sync_playing(self, playing: bool) -> None:
        self.play_button.setIcon(self._icons[1 if playing else 0])

    def _sync_options(self) -> None:
        with blocked(self.loop_box, self.fps_spin):
            self.loop_box.setChecked(self.session.loop)
            self.fps_spin.setValue(round(self.session.fps))
