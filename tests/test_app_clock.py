"""app.clock.PlaybackClock without Qt: real-time frames, loop, end, clamping, rate."""

from __future__ import annotations

from app.clock import PlaybackClock


def test_the_clock_module_needs_no_qt():
    from pathlib import Path

    import app.clock

    assert "PySide6" not in Path(app.clock.__file__).read_text()


def test_frames_follow_the_clock_and_skip_when_late():
    c = PlaybackClock(fps=30.0)
    c.frame = 3
    c.restart(100.0)
    assert c.tick(100.0, 30) == (3, False)
    assert c.tick(100.0 + 10 / 30 + 1e-9, 30) == (13, False)  # 10 frames later, not 1
    assert c.tick(100.0 + 40 / 30 + 1e-9, 30) == (13, False)  # looping: 43 % 30


def test_without_loop_playback_stops_on_the_last_frame():
    c = PlaybackClock(fps=10.0, loop=False)
    c.restart(0.0)
    assert c.tick(0.55, 8) == (5, False)
    assert c.tick(5.0, 8) == (7, True)


def test_clamp_step_and_rate_bounds():
    c = PlaybackClock()
    assert c.clamp(-4, 10) == 0 and c.clamp(99, 10) == 9 and c.clamp(5, 0) == 0
    c.frame = 9
    assert c.target_of_step(1, 10) == 0
    c.loop = False
    assert c.target_of_step(1, 10) == 10  # clamped by the caller
    c.set_fps(500)
    assert c.fps == 120.0 and c.tick_ms() == 4
    c.set_fps(0)
    assert c.fps == 1.0 and c.tick_ms() == 500
