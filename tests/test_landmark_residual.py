"""The biharmonic landmark residual, the input gate and the residual decoder's checked loading."""

import numpy as np
import pytest
import torch
import trimesh

from core.errors import InvalidInputError, MissingWeightsError
from core.models.landmark_residual import LandmarkResidual, biharmonic_basis, cotangent_laplacian
from core.models.residual_decoder import GateConfig, InputGate, ResidualDecoder, fit_gate


@pytest.fixture(scope="module")
def sphere():
    m = trimesh.creation.icosphere(subdivisions=3, radius=0.1)
    v, f = np.asarray(m.vertices), np.asarray(m.faces)
    lm = np.random.default_rng(0).choice(len(v), 10, replace=False)
    return v, f, lm


def test_cotangent_laplacian_kills_constants_and_is_symmetric(sphere):
    v, f, _ = sphere
    L, m = cotangent_laplacian(v, f)
    np.testing.assert_allclose(L @ np.ones(len(v)), 0.0, atol=1e-9)
    assert abs(L - L.T).max() < 1e-12
    np.testing.assert_allclose(m.sum(), 4 * np.pi * 0.1**2, rtol=0.02)  # sphere area


def test_basis_interpolates_and_respects_anchors(sphere):
    v, f, lm = sphere
    anchored = v[:, 2] < -0.08  # a cap held still
    anchored[lm] = False
    b = biharmonic_basis(v, f, lm, anchored)
    np.testing.assert_allclose(b[lm], np.eye(len(lm)), atol=1e-9)
    assert np.abs(b[anchored]).max() == 0.0
    free = ~anchored
    free[lm] = False
    assert np.abs(b[free]).max() < 2.0  # smooth, bounded in between


def test_residual_decoder_meets_the_landmarks_and_gate_falls_back(sphere):
    v, f, lm = sphere
    res = LandmarkResidual.from_face(v, f, lm, anchor_distance=0.05)
    rng = np.random.default_rng(1)
    train_x = rng.normal(size=(200, 10, 3)) * np.array([1.0, 0.0, 0.0])  # inputs move along x only
    gate = fit_gate(train_x)
    assert gate.config.rank == 10
    learned = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(30, len(v) * 3), torch.nn.Unflatten(1, (len(v), 3))
    )
    model = ResidualDecoder(learned, res, lm, gate)
    x_in = torch.as_tensor(train_x[:3], dtype=torch.float32)
    x_out = torch.zeros(3, 10, 3)
    x_out[:, 0, 2] = 1.0  # a single landmark pulled along z: outside the training span
    with torch.no_grad():
        np.testing.assert_allclose(gate(x_in).numpy(), 1.0)
        np.testing.assert_allclose(gate(x_out).numpy(), 0.0)
        for x in (x_in, x_out):
            np.testing.assert_allclose(model(x)[:, lm].numpy(), x.numpy(), atol=1e-5)
        np.testing.assert_allclose(model(x_out).numpy(), res(x_out).numpy(), atol=1e-6)


def test_gate_config_is_validated():
    with pytest.raises(InvalidInputError, match="rank"):
        GateConfig(n_inputs=204, rank=0)
    with pytest.raises(InvalidInputError, match="low < high"):
        GateConfig(n_inputs=204, rank=3, low=0.8, high=0.5)
    with pytest.raises(InvalidInputError, match=r"gate basis: expected \(204, 3\)"):
        InputGate(GateConfig(204, 3), torch.zeros(204, 4))


def test_checked_loading_of_a_residual_decoder(tmp_path):
    from core.assets import resource_path
    from core.mesh.hierarchy import MeshHierarchy
    from core.models.checkpoint import save_checkpoint
    from core.models.loaders import load_decoder
    from core.models.residual_decoder import residual_decoder
    from core.models.s2d_decoder import DecoderConfig, S2DDecoder
    from core.train.s2d_train import S2DTrainConfig, save_decoder

    h = MeshHierarchy.load(resource_path("hierarchy.npz"))
    learned = S2DDecoder(DecoderConfig.from_hierarchy(h, channels=(4, 4, 4, 4, 4)), h)
    gcfg = GateConfig(n_inputs=204, rank=5)
    model = residual_decoder(learned, gcfg)
    torch.nn.init.orthogonal_(model.gate.basis)
    cfg = S2DTrainConfig(channels=(4, 4, 4, 4, 4), landmark_residual=True, gate=True)
    path = tmp_path / "dec.safetensors"
    save_decoder(path, model, cfg, {})
    loaded, meta = load_decoder(path, hierarchy=h)
    x = torch.randn(2, 68, 3) * 0.01
    with torch.no_grad():
        np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=1e-6)
    assert meta["gate_config"]["rank"] == 5
    # a gate basis that does not match its config is refused before anything is built
    state = {k: v for k, v in model.state_dict().items()}
    state["gate.basis"] = torch.zeros(204, 7)
    bad = tmp_path / "bad.safetensors"
    save_checkpoint(
        bad,
        state,
        learned.config,
        "s2d-decoder",
        {"train_config": {"landmark_residual": True}, "gate_config": gcfg.to_dict()},
    )
    with pytest.raises(MissingWeightsError, match=r"gate.basis \(204, 7\) instead of \(204, 5\)"):
        load_decoder(bad, hierarchy=h)


def test_typicality_fades_inputs_far_larger_than_the_training_ones():
    rng = np.random.default_rng(2)
    train_x = rng.normal(size=(500, 10, 3)) * 0.01
    gate = fit_gate(train_x)
    assert 0 < gate.config.typical_low < gate.config.typical_high
    with torch.no_grad():
        t = gate.typicality(torch.as_tensor(train_x, dtype=torch.float32))
        assert 0.8 < float(t.mean()) < 1.2  # whitened: about 1 on the training inputs
        big = torch.as_tensor(train_x[:4] * 20, dtype=torch.float32)  # in the span, far too large
        assert float(gate.out_of_span(big).max()) < 1e-5 and float(gate(big).max()) == 0.0
    assert fit_gate(train_x, typical_factor=0).config.typical_high == 0.0


def test_the_shipped_basis_is_the_solve_of_the_shipped_template(tmp_path):
    """resources/landmark_residual.npz is used for the shipped face (its key matches) and holds
    what the solve gives; any other template is solved, never given the shipped basis."""
    from core.assets import load_face, load_landmarks
    from core.models import landmark_residual as lr

    face, lms = load_face(), load_landmarks()
    key = lr.template_key(face.vertices, face.faces, lms.indices)
    shipped = lr._shipped_basis(key)
    assert shipped is not None, "resources/landmark_residual.npz is stale: build-assets rewrites it"
    solved = lr.compute_basis(face.vertices, face.faces, lms.indices)
    np.testing.assert_allclose(shipped, solved, atol=1e-6)
    moved = face.vertices.copy()
    moved[:, 0] *= 1.1  # another template of the same topology
    other = lr.LandmarkResidual.from_face(moved, face.faces, lms.indices).basis.numpy()
    np.testing.assert_allclose(other, lr.compute_basis(moved, face.faces, lms.indices), atol=1e-6)
    assert not np.allclose(other, shipped, atol=1e-4)
    # a written file round-trips, and a missing or foreign file means "solve"
    path = tmp_path / lr.BASIS_FILE
    lr.write_basis_file(moved, face.faces, lms.indices, path)
    key_moved = lr.template_key(moved, face.faces, lms.indices)
    np.testing.assert_array_equal(lr._shipped_basis(key_moved, path), other)
    assert lr._shipped_basis(key, path) is None
    assert lr._shipped_basis(key, tmp_path / "missing.npz") is None


def test_mahalanobis_gate_closes_on_directions_the_training_inputs_barely_used():
    """Inputs in the principal span that move along a direction of tiny training variance pass
    the span and typicality tests but not the Mahalanobis tests; training inputs pass all."""
    rng = np.random.default_rng(3)
    scales = np.ones(30)
    scales[5] = 0.2  # one coordinate the training inputs barely move (still in their span)
    train_x = (rng.normal(size=(2000, 30)) * scales).reshape(-1, 10, 3) * 0.01
    gate = fit_gate(train_x)
    c = gate.config
    assert 0 < c.mahalanobis_low < c.mahalanobis_high and 0 < c.direction_low < c.direction_high
    odd = np.zeros((2, 30))
    odd[:, 5] = 0.01  # an ordinary size, along the rare coordinate
    odd = torch.as_tensor(odd.reshape(2, 10, 3), dtype=torch.float32)
    off = fit_gate(train_x, mahalanobis_factor=0)
    assert off.config.mahalanobis_high == 0.0 and not hasattr(off, "whiten")
    with torch.no_grad():
        assert float(gate.out_of_span(odd).max()) < 1e-5  # it is in the span…
        assert float(off(odd).min()) == 1.0  # …and passes the span and typicality tests…
        assert float(gate(odd).max()) == 0.0  # …but not the Mahalanobis tests
        g = gate(torch.as_tensor(train_x, dtype=torch.float32))
        assert float((g == 1.0).float().mean()) > 0.95
    with pytest.raises(InvalidInputError, match="mahalanobis_low < mahalanobis_high"):
        GateConfig(n_inputs=30, rank=3, mahalanobis_low=2.0, mahalanobis_high=1.0)
