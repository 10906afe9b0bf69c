"""Baselines of the decoder evaluation against plain references."""

import numpy as np

from core.eval.baselines import PCAFit, rbf_displacement
from core.eval.decoder_eval import summarize, vertex_errors_mm
from core.models.ridge import RidgeMap


def test_ridge_recovers_a_linear_map():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 12))
    W = rng.normal(size=(12, 30))
    Y = X @ W + 0.5
    pred = RidgeMap(lam=1e-10).fit(X, Y).predict(X[:5])
    np.testing.assert_allclose(pred, Y[:5], atol=1e-6)


def test_pca_fit_reconstructs_fields_in_its_span():
    rng = np.random.default_rng(1)
    basis = rng.normal(size=(4, 50, 3))
    coeffs = rng.normal(size=(200, 4))
    Y = np.einsum("nk,kvc->nvc", coeffs, basis)
    lm = np.arange(0, 50, 5)
    pca = PCAFit(k=4, lam=1e-9).fit(Y, lm)
    pred = pca.predict(Y[:3, lm])
    np.testing.assert_allclose(pred, Y[:3], atol=1e-4)


def test_rbf_interpolates_landmarks_and_gaussian_decays():
    rng = np.random.default_rng(2)
    v = rng.uniform(-0.1, 0.1, size=(400, 3))
    lm = rng.choice(400, 20, replace=False)
    dl = rng.normal(0, 0.003, size=(2, 20, 3))
    tps = rbf_displacement(v, lm, dl)
    np.testing.assert_allclose(tps[:, lm], dl, atol=1e-8)
    g = rbf_displacement(v, lm, dl, kernel="gaussian", sigma=0.01)
    far = np.linalg.norm(v[:, None] - v[lm][None], axis=-1).min(1) > 0.06
    assert far.sum() >= 20  # vertices >= 6 cm (6 sigma) from every landmark
    assert np.abs(g[:, far]).max() < 1e-4


def test_error_summary_in_millimetres():
    pred = np.zeros((2, 3, 3))
    target = np.zeros((2, 3, 3))
    target[:, 0, 0] = 0.003  # 3 mm on vertex 0
    err = vertex_errors_mm(pred, target)
    np.testing.assert_allclose(err[:, 0], 3.0)
    s = summarize(err, np.array([True, False, False]))
    assert s["face_mean"] == 3.0 and abs(s["all_mean"] - 1.0) < 1e-12
