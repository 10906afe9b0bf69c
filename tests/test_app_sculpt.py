"""core.sculpt: the landmark prior, conditional edits, drag plans and temporal falloff."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from core.assets import load_landmarks
from core.errors import InvalidInputError
from core.sculpt import (
    ConditionalEdit,
    DragPlan,
    LandmarkPrior,
    build_landmark_prior,
    load_landmark_prior,
    mirror_displacement,
    temporal_weights,
)

RIGHT_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # a frontal camera's view plane


def _random_prior(k=5, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(3 * k, 3 * k))
    return LandmarkPrior(mean=rng.normal(size=(k, 3)), cov=a @ a.T + 0.5 * np.eye(3 * k))


@pytest.fixture(scope="module")
def prior():
    return load_landmark_prior()


@pytest.fixture(scope="module")
def lms():
    return load_landmarks()


def test_conditional_mean_matches_gaussian_conditioning():
    p = _random_prior()
    obs = [1, 3]
    x_obs = np.array([[0.1, -0.2, 0.3], [0.0, 0.5, -0.1]])
    o = np.r_[3:6, 9:12]
    u = np.setdiff1d(np.arange(15), o)
    s = p.cov
    mu = p.mean.ravel()
    want_u = mu[u] + s[np.ix_(u, o)] @ np.linalg.solve(s[np.ix_(o, o)], x_obs.ravel() - mu[o])
    got = p.conditional_mean(obs, x_obs).ravel()
    np.testing.assert_allclose(got[u], want_u, atol=1e-10)
    np.testing.assert_allclose(got[o], x_obs.ravel(), atol=1e-10)


def test_gain_is_identity_on_observed_and_linear():
    p = _random_prior()
    g = p.gain([2])
    np.testing.assert_allclose(g[6:9], np.eye(3), atol=1e-10)
    d = np.array([[0.01, 0.02, -0.03]])
    np.testing.assert_allclose(p.propagate([2], 2 * d), 2 * p.propagate([2], d), atol=1e-12)
    np.testing.assert_allclose(p.propagate([2], 0 * d), 0.0, atol=1e-15)
    with pytest.raises(InvalidInputError):
        p.gain([1, 1])
    with pytest.raises(InvalidInputError):
        p.gain([7])


def test_partial_observation_reproduces_observed_components():
    p = _random_prior()
    rows = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 2.0], [1.0, 1.0, 0.0]])  # rank 2
    edit = ConditionalEdit(p, [(0, rows), (4, np.eye(3))])
    assert [r.shape for r in edit.rows] == [(2, 3), (3, 3)]
    d0, d4 = np.array([0.3, -0.1, 0.2]), np.zeros(3)
    out = edit([d0, d4])
    np.testing.assert_allclose(edit.rows[0] @ out[0], edit.rows[0] @ d0, atol=1e-10)
    np.testing.assert_allclose(out[4], 0.0, atol=1e-10)


def test_shipped_prior_is_symmetric_and_well_conditioned(prior, lms):
    assert prior.mean.shape == (68, 3) and prior.cov.shape == (204, 204)
    np.testing.assert_allclose(prior.cov, prior.cov.T, atol=1e-12)
    assert np.linalg.eigvalsh(prior.cov).min() > 0
    assert np.linalg.cond(prior.cov) < 1e5
    d = np.array([[-0.003, 0.001, 0.004]])
    a = prior.propagate([48], d)
    b = prior.propagate([int(lms.mirror[48])], mirror_displacement(d))
    np.testing.assert_allclose(mirror_displacement(a[lms.mirror]), b, atol=1e-9)


def test_drag_plan_direct_moves_only_the_landmark_and_its_mirror(lms):
    plan = DragPlan(48, lms.mirror, "direct", symmetric=True)
    d = plan.delta([-0.003, 0.0, 0.004])
    m = int(lms.mirror[48])
    np.testing.assert_allclose(d[48], [-0.003, 0.0, 0.004])
    np.testing.assert_allclose(d[m], [0.003, 0.0, 0.004])
    assert np.count_nonzero(np.abs(d).sum(1)) == 2
    mid = DragPlan(8, lms.mirror, "direct", symmetric=True).delta([0.002, 0.0, -0.003])
    assert lms.mirror[8] == 8 and mid[8, 0] == 0.0 and mid[8, 2] == -0.003


def test_drag_plan_coherent_follows_prior_and_keeps_pins(prior, lms):
    plan = DragPlan(48, lms.mirror, "coherent", prior, pins=[8, 57], view_rows=RIGHT_UP)
    d = plan.delta([-0.003, 0.0, 0.004])
    np.testing.assert_allclose(d[48, [0, 2]], [-0.003, 0.004], atol=1e-9)  # mouse plane exact
    np.testing.assert_allclose(d[[8, 57]], 0.0, atol=1e-9)  # pinned
    moved = np.linalg.norm(d, axis=1)
    assert (moved > 0.0005).sum() >= 5  # the neighbourhood follows
    assert moved.max() <= 1.3 * np.linalg.norm(d[48])  # nothing flies off (ridge)
    # the other mouth corner moves less than the dragged one, the far brow barely
    assert moved[54] < moved[48] and moved[19] < 0.3 * moved[48]


def test_drag_plan_validation(lms):
    with pytest.raises(InvalidInputError):
        DragPlan(48, lms.mirror, "coherent", None)
    with pytest.raises(InvalidInputError):
        DragPlan(48, lms.mirror, "sideways")


def test_temporal_weights():
    t = np.arange(30.0)
    lm = np.zeros((30, 68, 3))
    lm[:, :, 2] = (t / 29.0)[:, None] * 0.01  # expression grows linearly from a neutral start
    w = temporal_weights(lm, 20, 4.0)
    assert w[20] == 1.0 and w[0] == 0.0
    assert np.all(np.diff(w[20:]) <= 1e-12)  # fades after the edited frame
    assert np.all(np.diff(w[:21]) >= 0)  # grows towards it
    whole = temporal_weights(lm, 20, math.inf)
    np.testing.assert_allclose(whole[20:], 1.0)  # envelope capped at 1 after t0
    np.testing.assert_allclose(whole[:21], t[:21] / 20.0, atol=1e-12)
    only = temporal_weights(lm, 20, 0.0)
    assert only[20] == 1.0 and only.sum() == 1.0
    neutral = temporal_weights(np.zeros((5, 68, 3)), 0, math.inf)  # no expression: window only
    np.testing.assert_allclose(neutral, 1.0)
    with pytest.raises(InvalidInputError):
        temporal_weights(lm, 30, 1.0)


def test_build_landmark_prior_on_small_data(lms):
    rng = np.random.default_rng(3)
    n_id, n = 4, 200
    neutral = rng.normal(0, 0.03, (n_id, 68, 3)).astype(np.float32)
    ident = rng.integers(0, n_id, n)
    disp = rng.normal(0, 0.002, (n, 68, 3))
    data = SimpleNamespace(
        neutral_landmarks=neutral,
        frame_identity=ident,
        frame_landmarks=(neutral[ident] + disp).astype(np.float32),
        id_test=np.array([False, False, False, True]),
        config=SimpleNamespace(key=lambda: "test"),
    )
    out = build_landmark_prior(data, ridge=0.1)
    from core.models.normalization import landmark_scale

    keep = ident != 3
    x = disp[keep] / landmark_scale(neutral.astype(np.float64))[ident[keep]][:, None, None]
    x = x.reshape(keep.sum(), -1)
    cov = np.cov(x, rowvar=False)
    cov[np.diag_indices_from(cov)] += 0.1 * np.mean(np.diag(cov))
    assert out["n_samples"] == keep.sum()
    np.testing.assert_allclose(out["mean"].ravel(), x.mean(0), atol=1e-5)
    np.testing.assert_allclose(out["cov"], cov, rtol=1e-4, atol=1e-8)
    sym = build_landmark_prior(data, ridge=0.1, mirror=lms.mirror)
    p = LandmarkPrior(sym["mean"], sym["cov"])
    d = np.array([[0.01, 0.0, 0.0]])
    a, b = p.propagate([48], d), p.propagate([54], mirror_displacement(d))
    np.testing.assert_allclose(mirror_displacement(a[lms.mirror]), b, atol=1e-9)
