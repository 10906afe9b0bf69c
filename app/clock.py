"""The playback clock: frame, rate, loop, real-time position (plain Python, no Qt).

Playback follows the clock: the frame due at time ``now`` is ``origin + elapsed * fps``, so a
motion plays in real time and frames are skipped when the machine cannot draw them all.
:class:`app.playback.Playback` drives it with a timer.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PlaybackClock"]


class PlaybackClock:
    """Frame position, rate, loop and the real-time clock (no Qt).

    ``now`` arguments are ``time.perf_counter()`` values; ``n`` is the timeline length.
    """

    def __init__(self, fps: float = 30.0, loop: bool = True) -> None:
        self.frame = 0
        self.fps = float(fps)
        self.loop = bool(loop)
        self.playing = False
        self.origin = (0, 0.0)  # (frame, time) the clock counts from

    def restart(self, now: float) -> None:
        self.origin = (self.frame, now)

    def clamp(self, t: int, n: int) -> int:
        return int(np.clip(t, 0, max(n, 1) - 1))

    def target_of_step(self, d: int, n: int) -> int:
        """The frame ``d`` steps away (wrapping when looping)."""
        return (self.frame + d) % n if self.loop else self.frame + d

    def set_fps(self, fps: float) -> None:
        self.fps = float(np.clip(fps, 1.0, 120.0))

    def tick_ms(self) -> int:
        """Timer period: half a frame, so a frame is never shown late by a whole period."""
        return max(4, round(500.0 / self.fps))

    def tick(self, now: float, n: int) -> tuple[int, bool]:
        """(frame due at ``now``, playback reached the end without looping)."""
        frame0, t0 = self.origin
        t = frame0 + int((now - t0) * self.fps)
        ended = t >= n - 1 and not self.loop
        if ended:
            t = n - 1
        return t % n, ended
