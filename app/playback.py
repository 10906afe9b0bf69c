"""Playback of the session: the frame, the timeline, the clock and its timer.

:class:`app.clock.PlaybackClock` is the logic, plain Python (tested without Qt): playback follows the
clock, the frame shown is ``origin + elapsed * fps``, so a motion plays in real time and frames
are skipped when the machine cannot draw them all (instead of the animation slowing down).
:class:`Playback` is the QObject the session owns: it drives the clock with a timer and emits
``frame_changed`` / ``playing_changed``. It knows the rest of the session only through the two
callables it is given: the timeline's length and whether a drag holds the frame.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from app.clock import PlaybackClock
from app.errors import guarded

__all__ = ["Playback"]


class Playback(QObject):
    """The session's playback (see the module docstring).

    Parameters
    ----------
    timeline_frames : callable () -> int
        Length of the timeline (the motion's, or the compare grid's when it is shown).
    held : callable () -> bool
        True while a drag holds the frame: the clock does not advance then.
    """

    frame_changed = Signal(int)
    playing_changed = Signal(bool)
    options_changed = Signal()

    def __init__(
        self,
        timeline_frames: Callable[[], int],
        held: Callable[[], bool],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.clock = PlaybackClock()
        self._timeline_frames = timeline_frames
        self._held = held
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)

    @property
    def frame(self) -> int:
        return self.clock.frame

    @property
    def playing(self) -> bool:
        return self.clock.playing

    def set_frame(self, t: int) -> bool:
        """Move to frame ``t`` (clamped); True when it changed."""
        t = self.clock.clamp(t, self._timeline_frames())
        if t == self.clock.frame:
            return False
        self.clock.frame = t
        self.clock.restart(time.perf_counter())
        self.frame_changed.emit(t)
        return True

    def clamp_to_timeline(self) -> None:
        """Keep the frame inside a shorter timeline (no signal)."""
        self.clock.frame = min(self.clock.frame, self._timeline_frames() - 1)

    def step_target(self, d: int) -> int:
        return self.clock.target_of_step(d, self._timeline_frames())

    def play(self) -> None:
        n = self._timeline_frames()
        if n < 2 or self.clock.playing:
            return
        if not self.clock.loop and self.clock.frame >= n - 1:
            self.set_frame(0)
        self.clock.playing = True
        self.clock.restart(time.perf_counter())
        self._timer.start(self.clock.tick_ms())
        self.playing_changed.emit(True)

    def pause(self) -> None:
        if self.clock.playing:
            self.clock.playing = False
            self._timer.stop()
            self.playing_changed.emit(False)

    def set_fps(self, fps: float) -> None:
        self.clock.set_fps(fps)
        if self.clock.playing:
            self.clock.restart(time.perf_counter())
            self._timer.setInterval(self.clock.tick_ms())
        self.options_changed.emit()

    def set_loop(self, on: bool) -> None:
        self.clock.loop = bool(on)
        self.options_changed.emit()

    def stop(self) -> None:
        """Stop the timer for good (session shutdown)."""
        self._timer.stop()

    @guarded
    def _tick(self) -> None:
        if self._held():
            return
        t, ended = self.clock.tick(time.perf_counter(), self._timeline_frames())
        if ended:
            self.pause()
        if t != self.clock.frame:
            self.clock.frame = t
            self.frame_changed.emit(t)
