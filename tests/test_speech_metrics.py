"""Speech metrics against analytic cases."""

from __future__ import annotations

import numpy as np

from core.eval.speech_metrics import audio_lip_offset, closure_rate, diversity, lve


def test_offset_sign_and_size():
    fps = 30.0
    t = np.arange(90)
    env = np.where((t // 10) % 2 == 0, 1.0, 0.01)  # on/off every 10 frames
    mel = np.repeat(np.log(np.repeat(env, 1)[:, None] * np.ones((1, 4))), 1, axis=0)
    # mel at 100 Hz: stretch the 30 fps envelope to mel frames
    idx = np.clip(np.round(np.arange(300) * fps / 100).astype(int), 0, 89)
    mel = mel[idx]
    lead = np.roll(env, -2)  # the mouth opens 2 frames before the sound
    assert audio_lip_offset(lead, mel, fps) == -2 / fps * 1000
    assert audio_lip_offset(env, mel, fps) == 0.0
    assert audio_lip_offset(np.zeros(90), mel, fps) is None


def test_closure_rate_lve_and_diversity():
    gap = np.array([5, 5, 0.5, 5, 5, 5, 5, 5.0])
    assert closure_rate(gap, np.array([3 / 30, 6 / 30]), 30.0) == (1, 2)
    a = np.zeros((4, 10, 3))
    b = a.copy()
    b[:, 2, 0] = 0.003
    assert abs(lve(b, a, np.array([1, 2])) - 3.0) < 1e-9
    assert abs(diversity(np.stack([a, b])) - 0.3) < 1e-9
