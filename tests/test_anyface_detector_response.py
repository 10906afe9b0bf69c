"""The learned detector response (``resources/mediapipe_response.npz``,
:mod:`core.fit.detector_response`): its shapes are checked before use, its rows are barycentric
rows on the template that move with the identity, and with mediapipe a detected fit of a re-meshed
identity it was not trained on recovers the correspondence within the stated error."""

from __future__ import annotations

import numpy as np
import pytest

import core.assets
from core.assets import load_face, load_identity_basis
from core.errors import InvalidInputError
from core.fit import detector_response
from core.fit.closest import closest_on_mesh

FACE = load_face()
BASIS = load_identity_basis()


@pytest.fixture
def model():
    detector_response.load_response.cache_clear()
    m = detector_response.load_response()
    assert m is not None, "resources/mediapipe_response.npz is shipped"
    return m


def test_shipped_model_rows_are_barycentric_and_follow_the_identity(model):
    k = len(BASIS["std"])
    assert model.mean.shape == (478, 3) and model.jac.shape == (k, 478, 3)
    mean_shape = BASIS["mean"].astype(float)
    # at z = 0 the points lie on the mean face (within 1 mm)
    assert np.percentile(closest_on_mesh(model.mean, mean_shape, FACE.faces)[3], 95) < 1e-3
    a0 = model.rows(np.zeros(k), BASIS["std"], mean_shape, FACE.faces)
    assert a0.shape == (478, FACE.n_vertices)
    assert np.allclose(np.asarray(a0.sum(axis=1)).ravel(), 1.0)
    assert (np.diff(a0.indptr) <= 3).all()
    alpha = 2.0 * BASIS["std"] * np.eye(k)[1]  # two standard deviations of component 1
    a1 = model.rows(alpha, BASIS["std"], mean_shape, FACE.faces)
    shift = np.linalg.norm(a1 @ mean_shape - a0 @ mean_shape, axis=1)
    assert 1e-4 < np.median(shift) < 1e-2  # the points move, by millimetres


def test_a_model_of_another_basis_is_refused(tmp_path, monkeypatch):
    bad = tmp_path / "mediapipe_response.npz"
    np.savez(bad, mean=np.zeros((478, 3)), jac=np.zeros((3, 478, 3)))
    monkeypatch.setattr(core.assets, "resource_path", lambda name: tmp_path / name)
    detector_response.load_response.cache_clear()
    try:
        with pytest.raises(InvalidInputError, match="expected mean"):
            detector_response.load_response()
        bad.unlink()
        detector_response.load_response.cache_clear()
        assert detector_response.load_response() is None  # no file: the fixed embedding
    finally:
        detector_response.load_response.cache_clear()


def test_detected_fit_of_an_unseen_identity_recovers_the_correspondence():
    pytest.importorskip("mediapipe")
    from core.fit.face_fit import fit_face
    from core.fit.remesh import remesh_template
    from core.io.mesh_io import MeshData

    rng = np.random.default_rng(1003)  # the model was trained on seed 7's identities
    alpha = rng.normal(size=len(BASIS["std"])) * BASIS["std"]
    ident = BASIS["mean"] + np.tensordot(alpha, BASIS["basis"], axes=1)
    r = remesh_template(ident, FACE.faces, FACE.skin, seed=3, scale=100.0)
    fit = fit_face(MeshData(r.vertices, r.faces))
    got = fit.to_template.inverse(fit.template_vertices)
    err = np.linalg.norm(got - r.to_template.inverse(ident), axis=1)[FACE.face_mask] * 10  # mm
    assert np.median(err) < 1.5  # measured 1.38 mm; 1.62 mm with the fixed embedding


def test_learned_68_mapping_is_affine_and_follows_a_similarity():
    from core.fit.mp68 import ibug68_from_mediapipe, learned_ibug68, table_ibug68

    learned = learned_ibug68()
    assert learned is not None, "resources/mediapipe_ibug68.json is shipped"
    ids, w = learned
    assert ids.shape == w.shape and ids.shape[0] == 68 and ids.max() < 468
    assert np.allclose(w.sum(axis=1), 1.0, atol=1e-4)
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(478, 3))
    rot = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    moved = 2.5 * pts @ rot.T + np.array([1.0, -2.0, 3.0])
    assert np.allclose(
        ibug68_from_mediapipe(moved),
        2.5 * ibug68_from_mediapipe(pts) @ rot.T + np.array([1.0, -2.0, 3.0]),
        atol=1e-3,
    )
    assert table_ibug68(pts).shape == (68, 3)
