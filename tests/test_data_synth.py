"""Seeded anny synthesis: deterministic, disjoint splits, sane shapes (needs anny)."""

import numpy as np
import pytest

from core.assets import load_face, load_landmarks
from core.data.recipes import EXPRESSION_SPLIT_TEST_LABELS, LABELS
from core.data.synth import SynthConfig, generate, load_or_generate

pytestmark = [pytest.mark.anny, pytest.mark.slow]

TINY = SynthConfig(
    n_identities=4,
    mixtures_per_identity=3,
    sequences_per_label_per_identity=0.25,
    sequence_frames_for_decoder=2,
    test_identity_fraction=0.25,
    seed=7,
)


@pytest.fixture(scope="module")
def tiny_data():
    return generate(TINY, load_landmarks().indices, progress=False)


def test_shapes_and_frame_zero_is_neutral(tiny_data):
    d = tiny_data
    v = load_face().n_vertices
    assert d.neutral.shape == (4, v, 3)
    assert d.frame_disp.shape[1:] == (v, 3) and d.frame_disp.dtype == np.float16
    assert d.seq_landmarks.shape == (len(LABELS), 30, 68, 3)
    first = d.seq_landmarks[:, 0]
    np.testing.assert_allclose(first, d.neutral_landmarks[d.seq_identity], atol=1e-5)
    moved = np.abs(d.seq_landmarks[:, -1] - first).max(axis=(1, 2))
    assert (moved > 1e-3).all()  # every labelled sequence reaches a visible apex


def test_same_seed_same_data(tiny_data, tmp_path):
    again = load_or_generate(TINY, load_landmarks().indices, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(again.frame_disp, tiny_data.frame_disp)
    np.testing.assert_array_equal(again.seq_landmarks, tiny_data.seq_landmarks)
    cached = load_or_generate(TINY, load_landmarks().indices, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(cached.frame_landmarks, tiny_data.frame_landmarks)


def test_splits_are_disjoint(tiny_data):
    from core.train.s2d_train import make_split

    d = tiny_data
    tr, te = make_split(d, "identity", "train"), make_split(d, "identity", "test")
    assert set(tr.identity).isdisjoint(te.identity)
    assert len(tr) + len(te) == len(d.frame_identity)
    etr, ete = make_split(d, "expression", "train"), make_split(d, "expression", "test")
    held = [LABELS.index(x) for x in EXPRESSION_SPLIT_TEST_LABELS]
    assert not np.isin(etr.label, held).any() and np.isin(ete.label, held).all()


def test_identities_vary_in_size(tiny_data):
    from core.models.normalization import landmark_scale

    s = landmark_scale(tiny_data.neutral_landmarks)
    assert s.max() / s.min() > 1.02


def test_landmark_rules_reproduce_the_shipped_landmarks_and_lips_part():
    from anny.face_segmentation import get_face_segmentation_mask

    from core.data.anny_source import AnnyHead, FaceParams
    from core.data.landmark_rules import place_ibug68

    head = AnnyHead()
    ident = {
        "phenotypes": np.full((1, len(head.phenotype_labels)), 0.5),
        "local_changes": np.zeros((1, len(head.face_local_changes))),
    }
    v = head.vertices(ident, np.array([0]))[0]
    opened = head.vertices(
        ident, np.array([0]), FaceParams(np.zeros((1, 52)), np.array([[10.0, 0, 0]]), {})
    )[0]
    cavity = get_face_segmentation_mask(head.model, ["mouth_cavity"]).numpy()
    idx = place_ibug68(v, head.faces, opened, cavity)
    np.testing.assert_array_equal(idx, load_landmarks().indices)
    np.testing.assert_allclose(v, load_face().vertices, atol=1e-6)
    gap = lambda x: np.linalg.norm(x[idx[62]] - x[idx[66]])  # noqa: E731
    assert gap(opened) > gap(v) + 0.008  # inner lips separate when the jaw opens
