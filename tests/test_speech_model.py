"""The speech model: VQ-VAE round trip and partitioned codebook, a tiny training run lowers the
loss, seeded sampling, checkpoint round trip, config validation."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from core.errors import S2DError
from core.models.speech_vq import SpeechVQVAE
from core.speech.tts import flite_available
from core.train.speech_train import SpeechTrainConfig, default_configs, train_speech


def test_vq_round_trip_and_partitioned_codebook():
    torch.manual_seed(0)
    vq_cfg, _ = default_configs(small=True)
    vq = SpeechVQVAE(vq_cfg)
    x = torch.randn(3, 20, vq_cfg.n_params)
    e = torch.tensor([0, 3, 6])
    z = vq.encode(x, e)
    zq, il, ig = vq.quantise(z, e)
    assert z.shape == zq.shape == (3, 20, vq_cfg.d_local + vq_cfg.d_global)
    assert vq.decode(zq).shape == x.shape
    # global codes come only from each emotion's slice of the codebook
    for b in range(3):
        book = vq.book_global[e[b]]
        np.testing.assert_allclose(zq[b, :, vq_cfg.d_local :].detach(), book[ig[b]].detach())
    # codes are fixed points: quantising a code returns it
    zq2, _, _ = vq.quantise(zq, e)
    torch.testing.assert_close(zq2, zq)
    # a few steps of fitting reduce the reconstruction error of a fixed batch
    opt = torch.optim.Adam(vq.parameters(), lr=3e-3)
    first = None
    for _ in range(60):
        rec, vq_loss, _, _ = vq(x, e)
        loss = ((rec - x) ** 2).mean() + vq_loss
        first = float(loss.detach()) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.8 * first


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    if not flite_available():
        pytest.skip("flite not installed")
    from core.train.speech_data import SpeechDataConfig, load_or_build

    root = tmp_path_factory.mktemp("speech")
    data = load_or_build(SpeechDataConfig(n_train=10, n_test=2, seed=3), root, log=lambda s: 0)
    logs: list[str] = []
    cfg = SpeechTrainConfig(
        vq_steps=30,
        ldm_steps=80,
        batch=8,
        batch_ldm=8,
        window=32,
        log_every=10,
        ckpt_every=1000,
        seed=1,
    )
    out = root / "m.safetensors"
    train_speech(data, cfg, out, small=True, log=logs.append)
    return data, out, logs


def test_tiny_training_lowers_the_diffusion_loss(tiny):
    _, out, logs = tiny
    ldm = [
        float(m.group(1)) for line in logs if (m := re.search(r"ldm \d+/\d+ loss ([\d.]+)", line))
    ]
    assert len(ldm) == 8 and np.mean(ldm[-2:]) < np.mean(ldm[:2])
    assert out.stat().st_size < 5e6


def test_sampling_is_seeded_and_weights_round_trip(tiny):
    from core.speech.ldm import SpeechLDM

    data, out, _ = tiny
    model = SpeechLDM.load(out)
    mel, params = data.item(0)
    T = len(params)
    a = model.generate(mel, T, "happy", seed=5, steps=4)
    b = SpeechLDM.load(out).generate(mel, T, "happy", seed=5, steps=4)
    c = model.generate(mel, T, "happy", seed=6, steps=4)
    assert a.shape == (T, 53) and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-4
    # windows: a long input is generated piecewise and keeps its length
    long = model.generate(
        np.concatenate([mel] * 3), 3 * T, "sad", seed=1, steps=2, window=40, overlap=10
    )
    assert long.shape == (3 * T, 53) and np.isfinite(long).all()


def test_bad_config_in_weights_is_refused_before_building(tiny, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import save_file

    from core.speech.ldm import SpeechLDM

    _, out, _ = tiny
    with safe_open(str(out), "pt") as fh:
        meta = dict(fh.metadata())
        state = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118
    cfg = json.loads(meta["config"])
    cfg["ldm"]["d_model"] = -4
    meta["config"] = json.dumps(cfg)
    bad = tmp_path / "bad.safetensors"
    save_file(state, str(bad), metadata=meta)
    with pytest.raises(S2DError, match="d_model"):
        SpeechLDM.load(bad)
    with pytest.raises(S2DError):
        SpeechLDM.load(tmp_path / "missing.safetensors")


def test_direct_regressor_reuses_stage_1_and_ignores_the_seed(tiny, tmp_path):
    from core.speech.ldm import SpeechLDM

    data, out, _ = tiny
    cfg = SpeechTrainConfig(ldm_steps=10, batch_ldm=4, window=32, log_every=5, seed=2)
    reg = tmp_path / "direct.safetensors"
    train_speech(data, cfg, reg, small=True, log=lambda s: 0, direct=True, init_vq=out)
    a, b = SpeechLDM.load(reg), SpeechLDM.load(out)
    assert a.den.cfg.direct and not b.den.cfg.direct
    torch.testing.assert_close(a.vq.book_local, b.vq.book_local)  # same stage 1
    mel, params = data.item(1)
    p0 = a.generate(mel, len(params), "angry", seed=0)
    np.testing.assert_array_equal(p0, a.generate(mel, len(params), "angry", seed=9))


def test_lip_gap_matches_the_rig_and_the_closure_hinge():
    from core.assets import load_landmarks
    from core.speech.rig import load_speech_rig
    from core.speech.visemes import mouth_opening
    from core.train.speech_closure import CLOSED_TARGET_MM, LipGap, closure_loss

    rig = load_speech_rig()
    rng = np.random.default_rng(0)
    p = np.zeros((6, rig.n_params), np.float32)
    p[:, :-1] = rng.uniform(0, 0.6, (6, rig.n_params - 1)) * (rng.random((6, 52)) < 0.1)
    p[:, -1] = [0.0, 3.0, 9.5, 17.0, 26.0, 40.0]  # inside and past the jaw samples
    lm = load_landmarks().indices
    want = mouth_opening(rig.vertices(p), lm[62], lm[66]) * 1000
    got = LipGap(rig)(torch.from_numpy(p)[None])[0]
    np.testing.assert_allclose(got.numpy(), want, atol=1e-3)
    gap = torch.tensor([[0.0, 4.0, 9.0]], requires_grad=True)
    bil = torch.tensor([[True, True, False]])
    loss = closure_loss(gap, bil)
    assert float(loss.detach()) == pytest.approx((4.0 - CLOSED_TARGET_MM) ** 2 / 2)
    loss.backward()  # only the open bilabial frame is pushed
    assert gap.grad[0, 0] == 0 and gap.grad[0, 1] > 0 and gap.grad[0, 2] == 0
    assert float(closure_loss(gap.detach(), torch.zeros_like(bil))) == 0.0


def test_fine_tuning_with_the_closure_loss_keeps_stage_1(tiny, tmp_path):
    from core.speech.ldm import SpeechLDM

    data, out, _ = tiny
    cfg = SpeechTrainConfig(ldm_steps=6, batch_ldm=4, window=32, closure_weight=0.05, seed=2)
    ft = tmp_path / "ft.safetensors"
    losses = train_speech(data, cfg, ft, small=True, log=lambda s: 0, finetune=out)
    a, b = SpeechLDM.load(ft), SpeechLDM.load(out)
    assert np.isfinite(losses["ldm"])
    torch.testing.assert_close(a.vq.book_local, b.vq.book_local)
    torch.testing.assert_close(a.p_std, b.p_std)
    moved = [
        not torch.equal(x, y) for x, y in zip(a.den.parameters(), b.den.parameters(), strict=True)
    ]
    assert any(moved)  # the denoiser started from ``out`` and was trained further
