"""Playback part of :class:`app.session.StudioSession`: the frame, the timeline, the play timer.

A mixin of the session (it uses the session's ``_snap``, ``_frame``, ``_timer`` and signals);
kept apart so each file stays readable. Playback follows the clock: the frame shown is
``origin + elapsed * fps``, so a motion plays in real time and frames are skipped when the
machine cannot draw them all (instead of the animation slowing down).
"""

from __future__ import annotations

import time

import numpy as np

from app.errors import guarded

__all__ = ["PlaybackMixin"]


class PlaybackMixin:
    """Frame position and playback of the session (see :class:`app.session.StudioSession`)."""

    @property
    def frame(self) -> int:
        """The playback position (may pass the motion's end while the grid is longer)."""
        return self._frame

    @property
    def motion_frame(self) -> int:
        """The frame of the current motion on display and being edited."""
        return min(self._frame, self._snap.n_frames - 1)

    @property
    def timeline_frames(self) -> int:
        """Length of the playback timeline: the motion's, or the compare grid's when shown."""
        n = self._snap.n_frames
        if self.compare_active and self.compare_set is not None:
            n = max(n, *(m.n_frames for m in self.compare_set.motions))
        return n

    def set_frame(self, t: int) -> None:
        t = int(np.clip(t, 0, self.timeline_frames - 1))
        if t == self._frame:
            return
        self._cancel_drag_silently()
        self._frame = t
        self._restart_clock()
        self.frame_changed.emit(t)

    def step(self, d: int) -> None:
        n = self.timeline_frames
        self.set_frame((self._frame + d) % n if self.loop else self._frame + d)

    def play(self) -> None:
        if self.timeline_frames < 2 or self.playing:
            return
        if not self.loop and self._frame >= self.timeline_frames - 1:
            self.set_frame(0)
        self.playing = True
        self._restart_clock()
        self._timer.start(self._tick_ms())
        self.playing_changed.emit(True)

    def pause(self) -> None:
        if self.playing:
            self.playing = False
            self._timer.stop()
            self.playing_changed.emit(False)

    def toggle_play(self) -> None:
        self.pause() if self.playing else self.play()

    def set_fps(self, fps: float) -> None:
        self.fps = float(np.clip(fps, 1.0, 120.0))
        if self.playing:
            self._restart_clock()
            self._timer.setInterval(self._tick_ms())
        self.options_changed.emit()

    def set_loop(self, on: bool) -> None:
        self.loop = bool(on)
        self.options_changed.emit()

    def _tick_ms(self) -> int:
        """Timer period: half a frame, so a frame is never shown late by a whole period."""
        return max(4, round(500.0 / self.fps))

    def _restart_clock(self) -> None:
        self._play_origin = (self._frame, time.perf_counter())

    @guarded
    def _tick(self) -> None:
        if self._drag is not None:
            return
        n = self.timeline_frames
        frame0, t0 = self._play_origin
        t = frame0 + int((time.perf_counter() - t0) * self.fps)
        if t >= n - 1 and not self.loop:
            t = n - 1
            self.pause()
        t %= n
        if t != self._frame:
            self._frame = t
            self.frame_changed.emit(t)
