"""Phone-timed guidance of the speech diffusion sampler (core/speech/guide.py): zero strengths
change nothing, the guide is seeded, closes the lips at the bilabials and pulls the mouth toward
the viseme targets while the seed still matters; bad strengths are refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import InvalidInputError
from core.speech.visemes import Phone

PHONES = [
    Phone("pau", 0.0, 0.1),
    Phone("b", 0.1, 0.18),
    Phone("aa", 0.18, 0.4),
    Phone("m", 0.4, 0.5),
    Phone("iy", 0.5, 0.75),
    Phone("p", 0.75, 0.85),
    Phone("ae", 0.85, 1.1),
    Phone("pau", 1.1, 1.3),
]
T = 39  # 1.3 s at 30 fps


@pytest.fixture(scope="module")
def setup():
    from core.speech.audio import logmel
    from core.speech.ldm import DEFAULT_WEIGHTS, SpeechLDM
    from core.speech.rig import load_speech_rig

    if not DEFAULT_WEIGHTS.is_file():
        pytest.skip("models/speech_ldm.safetensors not present")
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    t = np.arange(int(1.3 * 16000)) / 16000
    x = (0.3 * np.sin(2 * np.pi * 140 * t) * (np.sin(2 * np.pi * 3 * t) > 0)).astype(np.float32)
    x += 0.01 * rng.standard_normal(len(x)).astype(np.float32)
    return SpeechLDM.load(), logmel(x, 16000), load_speech_rig().action_names


def _gap(params):
    from core.speech.guide import _lip_gap

    with torch.no_grad():
        return _lip_gap("cpu")(torch.from_numpy(params)[None])[0].numpy()


def test_zero_strengths_change_nothing_and_guidance_is_seeded(setup):
    from core.speech.guide import phone_guide

    model, mel, names = setup
    off = phone_guide(PHONES, T, "happy", names, viseme=0, clamp=0)
    plain = model.generate(mel, T, "happy", seed=3, steps=4)
    np.testing.assert_array_equal(
        model.generate(mel, T, "happy", seed=3, steps=4, guide=off), plain
    )
    g = phone_guide(PHONES, T, "happy", names)
    a = model.generate(mel, T, "happy", seed=3, steps=4, guide=g)
    np.testing.assert_array_equal(a, model.generate(mel, T, "happy", seed=3, steps=4, guide=g))
    b = model.generate(mel, T, "happy", seed=4, steps=4, guide=g)
    assert a.shape == (T, 53) and np.isfinite(a).all()
    assert np.abs(a - b).max() > 1e-3  # the seed still picks the performance


def test_guide_closes_the_bilabials_and_pulls_toward_the_visemes(setup):
    from core.speech.guide import phone_guide

    model, mel, names = setup
    g = phone_guide(PHONES, T, "sad", names)
    closed = g.close >= 0.99
    assert closed.sum() >= 3  # b, m, p each close at least one frame
    for seed in (0, 1):
        p = model.generate(mel, T, "sad", seed=seed, steps=4, guide=g)
        assert _gap(p)[closed].max() < 1.5  # the metric's "closed"
    # gradient closure guidance alone (no clamp) also closes them
    grad = phone_guide(PHONES, T, "sad", names, viseme=0, clamp=0, closure=5.0)
    p = model.generate(mel, T, "sad", seed=0, steps=4, guide=grad)
    plain = model.generate(mel, T, "sad", seed=0, steps=4)
    assert _gap(p)[closed].mean() < _gap(plain)[closed].mean()
    # the viseme pull brings the mouth/jaw closer to the rules' targets
    loc = model.vq.local_idx.numpy()

    def err(v):
        gv = phone_guide(PHONES, T, "sad", names, viseme=v, until=4, clamp=0)
        q = model.generate(mel, T, "sad", seed=0, steps=4, guide=gv)
        return np.abs(q[:, loc] - g.target[:, loc]).mean()

    e0 = err(0.0)
    assert err(0.5) < 0.8 * e0 and err(1.0) < 0.8 * e0


def test_bad_strengths_are_refused(setup):
    from core.speech.guide import phone_guide

    _, _, names = setup
    with pytest.raises(InvalidInputError, match="viseme"):
        phone_guide(PHONES, T, "happy", names, viseme=float("nan"))
    with pytest.raises(InvalidInputError, match="unknown"):
        phone_guide(PHONES, T, "happy", names, strength=1.0)
