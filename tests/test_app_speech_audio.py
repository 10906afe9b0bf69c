"""Studio playback of a speech motion plays its sound in step: the QMediaPlayer follows play,
pause, scrubbing, looping and the playback speed (no sound device needed: Qt's FFmpeg backend
advances the position without one). Without QtMultimedia: a status message, no player."""

from __future__ import annotations

import numpy as np
import pytest

from app.speech_audio import SILENT_MESSAGE, SpeechAudio, multimedia_available

needs_multimedia = pytest.mark.skipif(
    not multimedia_available(), reason="QtMultimedia (PySide6-Addons, the audio extra) missing"
)
FPS, SECONDS = 30.0, 2.0


@pytest.fixture
def speech_motion(session, tmp_path):
    """(session, push): push() makes a 2 s speech motion with a 2 s tone current."""
    import soundfile as sf

    from app.state import Snapshot, Source
    from core.motion import Motion

    rate = 16000
    t = np.arange(int(rate * SECONDS)) / rate
    wav = tmp_path / "tone.wav"
    sf.write(str(wav), (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)
    T = int(SECONDS * FPS)
    base = session.snapshot.base

    def push():
        motion = Motion(
            landmarks=np.repeat(base.landmarks[:1], T, 0),
            vertices=np.repeat(base.vertices[:1], T, 0),
            label="happy",
            seed=0,
            fps=FPS,
            meta={"speech": {"audio": str(wav)}, "method": "rules"},
        )
        src = Source("speech", "happy", 0, T)
        session.push_snapshot(Snapshot.of(session.face, motion, src), "speech")

    return session, push


@needs_multimedia
def test_player_follows_play_pause_scrub_loop_and_speed(speech_motion, qtbot):
    s, push = speech_motion
    audio = SpeechAudio(s)
    assert audio.path is None
    push()
    assert audio.path is not None and audio.player is not None
    qtbot.waitUntil(lambda: audio.player.duration() > 0, timeout=10000)
    assert abs(audio.player.duration() - SECONDS * 1000) < 50

    s.set_frame(15)  # scrub while paused: the sound seeks to 0.5 s
    qtbot.waitUntil(lambda: abs(audio.position_ms() - 500) <= 40, timeout=5000)
    assert not audio.playing

    s.play()
    assert s.playing and audio.playing
    qtbot.waitUntil(lambda: audio.position_ms() > 700, timeout=5000)  # the sound advances
    s.pause()
    assert not audio.playing
    paused_at = audio.position_ms()
    qtbot.wait(300)
    assert abs(audio.position_ms() - paused_at) <= 40  # and stays put while paused

    s.set_loop(True)
    s.set_frame(57)
    s.play()  # plays over the end: the frames wrap to 0 and the sound follows
    qtbot.waitUntil(lambda: 0 < s.frame < 20, timeout=5000)
    qtbot.waitUntil(lambda: audio.playing and audio.position_ms() < 900, timeout=5000)
    s.pause()

    s.set_fps(60.0)  # twice the motion's rate: the sound plays twice as fast
    assert audio.player.playbackRate() == pytest.approx(2.0)

    s.undo_stack.undo()  # not a speech motion any more: no sound
    assert audio.path is None and not audio.playing


def test_without_multimedia_playback_is_silent_with_a_message(speech_motion, monkeypatch, qtbot):
    import app.speech_audio as mod

    s, push = speech_motion
    monkeypatch.setattr(mod, "multimedia_available", lambda: False)
    audio = mod.SpeechAudio(s)
    with qtbot.waitSignal(s.status, timeout=2000) as sig:
        push()
    assert sig.args[0] == SILENT_MESSAGE and "[audio]" in sig.args[0]
    assert audio.player is None and not audio.playing
    s.play()  # playback itself still works
    assert s.playing
    s.pause()
