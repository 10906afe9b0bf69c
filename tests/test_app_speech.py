"""Studio File ▸ Animate from audio…: the controller on a session, then the menu and dialog."""

from __future__ import annotations

import numpy as np
import pytest

from core.speech.tts import flite_available

pytest.importorskip("pocketsphinx")
needs_flite = pytest.mark.skipif(not flite_available(), reason="flite not installed")


@pytest.fixture(scope="module")
def wav(tmp_path_factory):
    if not flite_available():
        pytest.skip("flite not installed")
    from core.speech.tts import speak_flite

    path = tmp_path_factory.mktemp("audio") / "bob.wav"
    speak_flite("Bob made a map.", path)
    return path


def test_animate_from_audio_becomes_an_undoable_motion(session, qtbot, wav):
    from app.speech_ui import SpeechController

    s = session
    ctrl = SpeechController(s)
    ctrl.animate(str(wav), "happy", seed=4, transcript="Bob made a map.")
    qtbot.waitUntil(lambda: s.source.kind == "speech", timeout=60000)
    assert s.source.label == "happy" and s.source.seed == 4
    assert s.source.describe() == "speech · happy · seed 4"
    n = s.n_motion_frames
    assert abs(n - 40) <= 2  # 1.33 s at 30 fps
    assert s.manifest()["motion"]["kind"] == "speech"
    s.undo_stack.undo()
    assert s.source.kind != "speech"
    with qtbot.waitSignal(s.failed, timeout=30000) as sig:
        ctrl.animate(str(wav.parent / "missing.wav"), "sad")
    assert "Could not animate" in sig.args[0]


@pytest.mark.gl
def test_menu_entry_asks_and_animates(studio, qtbot, wav):
    w, s = studio, studio.session
    act = next(
        a
        for m in w.menuBar().actions()
        if m.menu()
        for a in m.menu().actions()
        if a.objectName() == "animate_audio"
    )
    w.ask_speech = lambda: None  # cancelled: nothing happens
    act.trigger()
    assert s.source.kind != "speech"
    w.ask_speech = lambda: {
        "path": str(wav),
        "emotion": "surprised",
        "seed": 1,
        "method": "rules",
        "transcript": None,
    }
    act.trigger()
    qtbot.waitUntil(lambda: s.source.kind == "speech", timeout=60000)
    assert s.source.label == "surprised"
    assert np.isfinite(s.snapshot.vertices).all()
