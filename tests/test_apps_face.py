"""Face creator basis (core.apps.face_basis) and neutralization (core.apps.neutralize)."""

import numpy as np
import pytest

from core.apps.face_basis import load_face_basis, parse_settings
from core.apps.neutralize import neutralize, umeyama
from core.assets import load_face
from core.errors import InvalidInputError
from core.generate import MotionGenerator


@pytest.fixture(scope="module")
def basis():
    return load_face_basis()


def _face_err_mm(a, b):
    mask = load_face().face_mask
    return float(np.linalg.norm(np.asarray(a, float) - b, axis=-1)[mask].mean() * 1000)


def test_default_sliders_give_the_shipped_face(basis):
    assert basis.n_vertices == load_face().n_vertices
    np.testing.assert_allclose(basis.vertices({}), load_face().vertices, atol=5e-5)
    assert basis.vertices(basis.defaults()).shape == (basis.n_vertices, 3)


def test_slider_names_groups_and_aliases(basis):
    names = [s.name for s in basis.sliders]
    assert names[:6] == list(basis.phenotypes) and "age" in names and "gender" in names
    assert len(names) == len(set(names))
    groups = {s.group for s in basis.sliders}
    assert {
        "identity",
        "nose",
        "mouth",
        "chin",
        "cheeks",
        "eyes",
        "brows",
        "forehead",
        "ears",
    } <= groups
    assert basis.slider("nose-width").name == "nose-scale-horiz"
    # a merged left/right slider drives both sides
    assert len(basis.slider("eye-scale").locals) == 2


def test_local_slider_is_linear_and_local(basis):
    d0 = basis.vertices({})
    half = basis.vertices({"nose-width": 0.5}) - d0
    full = basis.vertices({"nose-width": 1.0}) - d0
    np.testing.assert_allclose(2 * half, full, atol=1e-6)
    moved = np.linalg.norm(full, axis=1) > 1e-5
    assert 0 < moved.sum() < 0.3 * basis.n_vertices


def test_age_slider_changes_the_face(basis):
    young, old = basis.vertices({"age": 0.1}), basis.vertices({"age": 1.0})
    assert _face_err_mm(young, old) > 1.0


def test_random_faces_are_seeded_and_in_range(basis):
    a, b = basis.random(3), basis.random(3)
    assert a == b and a != basis.random(4)
    assert basis.check_values(a) == a
    assert np.isfinite(basis.vertices(a)).all()


@pytest.mark.parametrize(
    "values,match",
    [({"age": 2.0}, r"\[0, 1\]"), ({"nose": 0.1}, "unknown face slider"), ({"age": "x"}, "number")],
)
def test_bad_slider_values(basis, values, match):
    with pytest.raises(InvalidInputError, match=match):
        basis.vertices(values)


def test_parse_settings():
    assert parse_settings("age=0.8, nose-width=-0.3") == {"age": 0.8, "nose-width": -0.3}
    with pytest.raises(InvalidInputError):
        parse_settings("age")


def test_umeyama_recovers_a_similarity():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 3))
    a = np.radians(25)
    r = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    s, r2, t = umeyama(x, 1.3 * x @ r.T + [1, 2, 3])
    assert s == pytest.approx(1.3) and np.allclose(r2, r) and np.allclose(t, [1, 2, 3])


@pytest.fixture(scope="module")
def gen():
    return MotionGenerator.load(device="cpu")


@pytest.mark.parametrize("label,seed", [("happy", 0), ("surprised", 1), ("angry", 0)])
def test_neutralizing_generated_expressions_returns_close_to_the_neutral(gen, label, seed):
    face = load_face().vertices
    apex = gen.generate(label, seed).vertices[-1]
    before = _face_err_mm(apex, face)
    after = _face_err_mm(neutralize(apex, "joint"), face)
    assert before > 1.0 and after < 0.15 * before and after < 0.2


def test_neutralize_methods_and_errors(gen):
    face = load_face().vertices
    np.testing.assert_array_equal(neutralize(face, "none"), face)
    assert _face_err_mm(neutralize(face, "joint"), face) < 0.05
    assert neutralize(face, "paper", gen.pipeline).shape == face.shape
    with pytest.raises(InvalidInputError, match="pipeline"):
        neutralize(face, "paper")
    with pytest.raises(InvalidInputError, match="method"):
        neutralize(face, "magic")
    with pytest.raises(InvalidInputError, match="shape"):
        neutralize(face[:10], "joint")


@pytest.mark.anny
def test_basis_reproduces_held_out_anny_identities(basis):
    from core.apps.basis_build import held_out_error
    from core.data.anny_source import AnnyHead

    res = held_out_error(AnnyHead(), basis, 8, seed=99)
    assert res["held_out_mean_mm"] < 0.01 and res["held_out_max_mm"] < 0.1
