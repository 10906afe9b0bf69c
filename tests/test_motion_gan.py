"""Motion3DGAN: tangent-space model, WGAN-GP terms, training loop, weights files (tiny configs)."""

import math

import numpy as np
import pytest
import torch

from core.config import config_from_dict
from core.errors import InvalidInputError, MissingWeightsError, S2DError
from core.geometry.sphere import exp_map, inner, karcher_mean, log_map, norm
from core.models.loaders import load_gan
from core.models.motion_gan import Motion3DGAN, MotionGANConfig
from core.train.gan_train import (
    GANTrainConfig,
    class_indices,
    gradient_penalty,
    motion_set,
    motion_side,
    reconstruction_loss,
    save_gan,
    train_gan,
)

LABELS = ("a", "b", "c")
T, K = 6, 4  # frames, landmarks: M = 5 SRVF samples of D = 12 values


def _sequences(n_per_label=12, seed=0):
    """Random smooth motions (N, T, K, 3) in metres: a label-specific direction + noise."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(K, 3)) * 0.05
    dirs = rng.normal(size=(len(LABELS), K, 3))
    lm, lab = [], []
    for k in range(len(LABELS)):
        for _ in range(n_per_label):
            t = np.linspace(0, 1, T)[:, None, None] ** rng.uniform(0.5, 2)
            wobble = rng.normal(size=(T, K, 3)) * 0.002
            lm.append(base + 0.01 * rng.uniform(0.5, 1.5) * t * dirs[k] + wobble * t)
            lab.append(k)
    return np.asarray(lm, np.float32), np.asarray(lab)


def _config(**kw):
    return MotionGANConfig(
        labels=LABELS,
        n_frames=T,
        n_landmarks=K,
        z_dim=8,
        n_components=6,
        g_hidden=(32,),
        d_hidden=(32,),
        **kw,
    )


@pytest.fixture(scope="module")
def data():
    lm, lab = _sequences()
    return motion_set(lm, lab)


@pytest.fixture(scope="module")
def model(data):
    torch.manual_seed(0)
    p = karcher_mean(data.q, tol=1e-6).mean
    return Motion3DGAN.from_data(_config(), p, log_map(p, data.q), data.length)


def test_motion_set_is_scale_invariant_and_drops_static_sequences():
    lm, lab = _sequences(2)
    static = np.repeat(lm[:1, :1], T, axis=1)  # (1, T, K, 3): never moves
    lm = lm.astype(np.float64)
    both = np.concatenate([lm, lm * 3.0 + 1.0, static])
    ms = motion_set(both, np.concatenate([lab, lab, [0]]))
    n = len(lm)
    assert len(ms) == 2 * n
    assert torch.allclose(ms.q[:n], ms.q[n:], atol=1e-9)
    assert torch.allclose(ms.length[:n], ms.length[n:], rtol=1e-9, atol=0)
    assert torch.allclose(norm(ms.q), torch.ones(2 * n, dtype=torch.float64))


def test_generator_output_is_tangent_and_on_the_sphere(model):
    z = torch.randn(16, 8)
    c = model.one_hot(torch.arange(16) % 3)
    w, ell = model.generate(z, c)
    assert w.shape == (16, T - 1, 3 * K) and ell.shape == (16,)
    assert inner(model.p, w).abs().max() < 1e-6  # projected onto T_p
    q, length = model.to_sphere(w, ell)
    assert torch.allclose(norm(q), torch.ones(16), atol=1e-6)
    assert (length > 0).all()
    assert torch.allclose(log_map(model.p, q), w, atol=1e-5)  # log_p(exp_p(w)) = w


def test_reference_point_is_the_karcher_mean_of_the_training_srvfs(data, model):
    km = karcher_mean(data.q, tol=1e-6).mean
    assert torch.allclose(model.p.double(), km, atol=1e-6)
    v = log_map(model.p, data.q.float())
    assert v.mean(0).flatten().norm() < 1e-4  # the mean log map vanishes at p


def test_fake_features_equal_the_full_log_exp_round_trip(model):
    z, c = torch.randn(8, 8), model.one_hot(torch.arange(8) % 3)
    fast = model.fake_features(z, c)
    w, ell = model.generate(z, c)
    slow = model.tangent_features(w, ell)
    assert torch.allclose(fast, slow, atol=1e-4)
    # beyond pi the log map wraps: the slow path is taken and agrees with the round trip
    big = torch.cat([torch.full((2, 6), 1e4), torch.zeros(2, 1)], 1)
    w_big = model.coords_to_tangent(big[:, :-1])
    assert (w_big.flatten(1).norm(dim=1) > math.pi).all()
    x = model.tangent_features(w_big, big[:, -1])
    assert (
        model.tangent_to_coords(log_map(model.p, exp_map(model.p, w_big))) - x[:, :-1]
    ).abs().max() < 1e-3


def test_gradient_penalty_matches_a_linear_critic_and_has_finite_gradients(model):
    a = torch.tensor([3.0, 4.0])  # linear critic: |grad| = 5 everywhere -> GP = (5 - 1)^2

    def critic(x, c):
        return x @ a

    gp = gradient_penalty(critic, torch.randn(5, 2), torch.randn(5, 2), torch.zeros(5, 1))
    assert float(gp) == pytest.approx(16.0, rel=1e-6)
    c = model.one_hot(torch.tensor([0, 0, 1, 1, 2, 2]))  # packs of 2 samples of one label
    x_fake = model.fake_features(torch.randn(6, 8), c).detach().reshape(3, 14)
    model.critic.zero_grad()
    gp = gradient_penalty(model.critic, torch.randn(3, 14), x_fake, c[::2])
    gp.backward()
    grads = [p.grad for p in model.critic.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert gp.item() > 0


def test_reconstruction_loss_pairs_each_fake_with_its_nearest_real_of_the_label():
    bank = torch.tensor([[0.0, 0.0], [10.0, 0.0], [1.0, 1.0]])
    bank_lab = torch.tensor([0, 0, 1])
    fake = torch.tensor([[9.0, 0.0], [0.0, 0.0]])
    lab = torch.tensor([0, 1])
    # fake 0 -> bank row 1 (|1| + 0), fake 1 (label 1) -> bank row 2 (1 + 1): mean L1 = 3 / 4
    assert float(reconstruction_loss(fake, lab, bank, bank_lab)) == pytest.approx(0.75)
    assert float(reconstruction_loss(fake, lab, bank, bank_lab, "none")) == 0.0
    paired = reconstruction_loss(fake, lab, bank, bank_lab, "paired", torch.tensor([0, 2]))
    assert float(paired) == pytest.approx((9 + 0 + 1 + 1) / 4)


def test_a_few_training_steps_run_with_finite_changing_losses(data):
    cfg = GANTrainConfig(steps=6, batch_size=8, n_critic=2, log_every=1, seed=1)
    model, summary = train_gan(data, _config(), cfg, log=lambda s: None)
    hist = summary["history"]
    assert len(hist) == 6
    for h in hist:
        assert all(math.isfinite(h[k]) for k in ("loss_d", "loss_g", "gp", "rec"))
    assert hist[0]["loss_d"] != hist[-1]["loss_d"]
    # same seed -> same run
    _, again = train_gan(data, _config(), cfg, log=lambda s: None)
    assert again["history"][-1]["loss_d"] == hist[-1]["loss_d"]


def test_learning_rate_drops_at_the_configured_step(data):
    cfg = GANTrainConfig(lr=1e-3, lr_drop_step=3, lr_final=1e-5)
    assert [cfg.lr_at(t) for t in (0, 2, 3, 100)] == [1e-3, 1e-3, 1e-5, 1e-5]
    assert GANTrainConfig(lr_drop_step=0).lr_at(10**6) == GANTrainConfig().lr
    common = dict(steps=5, batch_size=8, n_critic=1, log_every=1, seed=2, lr=1e-3)
    flat = train_gan(data, _config(), GANTrainConfig(lr_drop_step=0, **common), log=lambda s: None)[
        1
    ]["history"]
    drop = train_gan(
        data, _config(), GANTrainConfig(lr_drop_step=3, lr_final=1e-6, **common), log=lambda s: None
    )[1]["history"]
    # identical until the drop (same seed), different after it
    assert [h["loss_d"] for h in flat[:3]] == [h["loss_d"] for h in drop[:3]]
    assert flat[4]["loss_d"] != drop[4]["loss_d"]
    with pytest.raises(InvalidInputError, match="lr_final"):
        GANTrainConfig(lr_final=0.0)


def test_non_finite_losses_stop_training_with_a_clear_message(data):
    cfg = GANTrainConfig(steps=2, batch_size=8, n_critic=1, gp_weight=float("nan"))
    with pytest.raises(S2DError, match="non-finite critic loss.*lower the learning rate"):
        train_gan(data, _config(), cfg, log=lambda s: None)


def test_training_resumes_from_the_run_dir_checkpoint(data, tmp_path):
    cfg = GANTrainConfig(steps=4, batch_size=8, n_critic=1, checkpoint_every=2, log_every=1)
    train_gan(data, _config(), cfg, run_dir=tmp_path, log=lambda s: None)
    assert (tmp_path / "last.safetensors").is_file()
    logs = []
    longer = GANTrainConfig(steps=6, batch_size=8, n_critic=1, checkpoint_every=2, log_every=1)
    _, summary = train_gan(data, _config(), longer, run_dir=tmp_path, log=logs.append)
    assert summary["resumed_from"] == 4 and any("resumed" in s for s in logs)
    assert [h["step"] for h in summary["history"]] == [1, 2, 3, 4, 5, 6]


def test_weights_round_trip_without_the_critic(model, tmp_path):
    path = tmp_path / "gan.safetensors"
    save_gan(path, model, GANTrainConfig(), {"note": "test"})
    loaded, meta = load_gan(path)
    assert meta["note"] == "test" and len(meta["sha256"]) == 64
    assert torch.equal(loaded.p, model.p) and torch.equal(loaded.basis, model.basis)
    z, c = torch.randn(3, 8), model.one_hot(torch.tensor([0, 1, 2]))
    with torch.no_grad():
        assert torch.equal(loaded.generate(z, c)[0], model.generate(z, c)[0])
    with pytest.raises(MissingWeightsError, match="train-gan"):
        load_gan(tmp_path / "missing.safetensors")


def test_config_validation_messages():
    with pytest.raises(InvalidInputError, match="distinct"):
        MotionGANConfig(labels=("a", "a"))
    with pytest.raises(InvalidInputError, match="reconstruction"):
        GANTrainConfig(reconstruction="mean")
    lm, lab = _sequences(1)
    ms = motion_set(lm, lab)
    with pytest.raises(InvalidInputError, match="n_components"):
        Motion3DGAN.from_data(_config(), ms.q[0], log_map(ms.q[0], ms.q), ms.length)


def test_one_sided_labels_get_one_class_per_side():
    cfg = _config(one_sided=("b",))
    assert cfg.classes == ("a", "b:left", "b:right", "c")
    assert (cfg.n_classes, cfg.n_labels) == (4, 3)
    assert cfg.class_index("b", "right") == 2 and cfg.class_index("c") == 3
    with pytest.raises(InvalidInputError, match="side: expected one of"):
        cfg.class_index("b")
    with pytest.raises(InvalidInputError, match="not one-sided"):
        cfg.class_index("a", "left")
    with pytest.raises(InvalidInputError, match="label: expected one of a, b, c"):
        cfg.class_index("d")
    with pytest.raises(InvalidInputError, match="not among the labels"):
        _config(one_sided=("z",))
    # weights files written before the split have no one_sided field: one class per label
    assert config_from_dict(MotionGANConfig, {"labels": ["a", "b"]}).classes == ("a", "b")
    assert Motion3DGAN(cfg).generator.body[0].in_features == 8 + 4


def test_motion_side_is_the_sign_of_the_sideways_mouth_motion():
    lm = np.zeros((3, 4, 68, 3))
    lm[0, -1, 48:68, 0] = 0.01  # mouth to +x: the subject's left
    lm[1, -1, 48:68, 0] = -0.01
    lm[2, -1, 48:50, 0], lm[2, -1, 50:68, 0] = -0.01, 0.002  # net +x
    lm[2, -1, :48, 0] = -1.0  # outside the mouth: ignored
    assert motion_side(lm).tolist() == [0, 1, 0]
    few = np.zeros((2, 3, 5, 3))  # not iBUG-68: all landmarks count
    few[0, -1, :, 0], few[1, -1, :, 0] = -0.1, 0.1
    assert motion_side(few).tolist() == [1, 0]
    with pytest.raises(InvalidInputError, match="N, T, K, 3"):
        motion_side(np.zeros((4, 68, 3)))


def test_training_conditions_one_sided_labels_on_their_side(data):
    cfg = _config(one_sided=("b",))
    cls = class_indices(data, cfg)
    side = motion_side(data.landmarks)
    lab = data.label.numpy()
    expected = np.where(lab == 0, 0, np.where(lab == 2, 3, 1 + side))
    np.testing.assert_array_equal(cls.numpy(), expected)
    tcfg = GANTrainConfig(steps=2, batch_size=8, n_critic=1, log_every=1)
    model, summary = train_gan(data, cfg, tcfg, log=lambda s: None)
    assert model.one_hot(torch.tensor([3])).shape == (1, 4)
    assert all(math.isfinite(h["loss_d"]) for h in summary["history"])
