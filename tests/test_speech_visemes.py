"""Viseme synthesis invariants: bilabial closure, silence → rest, emotion layer, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from core.assets import load_landmarks
from core.errors import InvalidInputError
from core.speech.emotion import EMOTIONS, animate, global_mask
from core.speech.rig import load_speech_rig
from core.speech.tts import parse_psdur
from core.speech.visemes import FPS, Phone, Style, mouth_opening, phones_to_params

#: "Peter bought a map and a bike." as flite (voice rms) times it.
PSDUR = (
    "pau:0.136 p:0.234 iy:0.313 t:0.348 er:0.510 b:0.576 aa:0.633 t:0.758 ax:0.827 "
    "m:0.918 ae:1.056 p:1.168 ae:1.267 n:1.321 d:1.363 ax:1.412 b:1.485 ay:1.668 k:1.834 "
    "pau:1.995"
)
CLOSED_MM = 1.5  # inner-lip gap that counts as closed (the neutral gap is 0.2 mm)


def _gap_mm(params):
    rig = load_speech_rig()
    lm = load_landmarks().indices
    return mouth_opening(rig.vertices(params), lm[62], lm[66]) * 1000


def test_parse_psdur_gives_contiguous_phones():
    ph = parse_psdur(PSDUR)
    assert [p.symbol for p in ph[:3]] == ["pau", "p", "iy"]
    assert ph[0].start == 0.0 and all(a.end == b.start for a, b in zip(ph, ph[1:], strict=False))


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_bilabials_close_the_lips_under_every_emotion(emotion):
    rig = load_speech_rig()
    ph = parse_psdur(PSDUR)
    n = int(np.ceil(2.0 * FPS))
    params = animate(ph, n, emotion, rig.action_names, np.random.default_rng(3))
    gap = _gap_mm(params)
    style_lead = 0.0  # closure is checked within ±1 frame of each bilabial's middle
    for p in ph:
        if p.symbol in ("p", "b", "m"):
            mid = int(round(((p.start + p.end) / 2 - style_lead) * FPS))
            window = gap[max(mid - 3, 0) : mid + 2]
            assert window.min() < CLOSED_MM, (emotion, p, window)
    assert gap.max() > 4.0  # vowels do open the mouth


def test_silence_is_the_rest_face():
    rig = load_speech_rig()
    names = rig.action_names
    assert not phones_to_params([], 30, names).any()
    only_pause = [Phone("pau", 0.0, 1.0), Phone("SIL", 1.0, 2.0)]
    assert not phones_to_params(only_pause, 60, names).any()
    # long leading silence relaxes to rest before speech starts
    ph = [Phone("pau", 0.0, 1.5), Phone("aa", 1.5, 1.8), Phone("pau", 1.8, 3.0)]
    p = phones_to_params(ph, 90, names, Style())
    assert np.abs(p[:15]).max() < 0.05 and np.abs(p[-10:]).max() < 0.05
    assert p[48:52, -1].max() > 5.0  # the vowel opens the jaw


def test_lips_lead_the_sound():
    names = load_speech_rig().action_names
    ph = [Phone("pau", 0.0, 1.0), Phone("aa", 1.0, 1.3), Phone("pau", 1.3, 2.0)]
    early = phones_to_params(ph, 60, names, Style(lead=0.07))[:, -1]
    late = phones_to_params(ph, 60, names, Style(lead=0.0))[:, -1]
    assert np.argmax(early > 2.0) < np.argmax(late > 2.0)


def test_emotion_layer_is_global_seeded_and_changes_articulation():
    rig = load_speech_rig()
    ph = parse_psdur(PSDUR)
    a = animate(ph, 60, "happy", rig.action_names, np.random.default_rng(1))
    b = animate(ph, 60, "happy", rig.action_names, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    sad = animate(ph, 60, "sad", rig.action_names, np.random.default_rng(1), style=Style())
    sur = animate(ph, 60, "surprised", rig.action_names, np.random.default_rng(1), style=Style())
    assert sur[:, -1].max() > sad[:, -1].max()  # sad reduces the jaw, surprise widens it
    g = global_mask(rig.action_names)
    i = rig.action_names.index("browInnerUp")
    assert g[i] and sad[20:, i].mean() > 0.3  # the upper face carries the emotion
    with pytest.raises(InvalidInputError, match="unknown emotion"):
        animate(ph, 10, "bored", rig.action_names, np.random.default_rng(0))
