"""Performance transfer (core.apps.transfer) and its sources (core.apps.sources)."""

import numpy as np
import pytest

from core.apps.sources import natural_key, read_source, resample
from core.apps.transfer import (
    kabsch,
    rbf_transfer,
    stabilize,
    transfer_landmarks,
    transfer_motion,
)
from core.assets import load_face, load_landmarks
from core.errors import InvalidInputError
from core.generate import MotionGenerator
from core.io.landmarks_io import write_landmarks
from core.io.mesh_io import save_mesh
from core.models.normalization import landmark_scale


@pytest.fixture(scope="module")
def gen():
    return MotionGenerator.load(device="cpu")


@pytest.fixture(scope="module")
def motion(gen):
    return gen.generate("happy", 3)


@pytest.mark.parametrize("mode", ["srvf", "absolute"])
def test_transfer_onto_its_own_identity_reproduces_it(gen, motion, mode):
    out = transfer_motion(gen, motion.landmarks, motion.vertices[0], mode, stabilize_head=False)
    np.testing.assert_allclose(out.landmarks, motion.landmarks, atol=1e-6)
    np.testing.assert_allclose(out.vertices, motion.vertices, atol=1e-5)
    assert out.meta["transfer"]["mode"] == mode


def test_srvf_mode_scales_and_absolute_mode_keeps_displacements(motion):
    src = motion.landmarks.astype(np.float64)
    target = src[0] * 0.8 + np.array([0.01, 0.0, -0.02])  # a smaller face elsewhere
    srvf = transfer_landmarks(src, target, "srvf", False)
    absolute = transfer_landmarks(src, target, "absolute", False)
    ratio = float(landmark_scale(target) / landmark_scale(src[0]))
    np.testing.assert_allclose(srvf - target, ratio * (src - src[0]), atol=1e-6)
    np.testing.assert_allclose(absolute - target, src - src[0], atol=1e-6)
    np.testing.assert_array_equal(srvf[0], target.astype(np.float32))


def test_alignment_undoes_a_rotated_performer(motion):
    src = motion.landmarks.astype(np.float64)
    a = np.radians(30)
    rot = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    np.testing.assert_allclose(kabsch(src[0] @ rot.T, src[0]), rot.T, atol=1e-9)
    out = transfer_landmarks(src @ rot.T, src[0], "absolute", False)
    np.testing.assert_allclose(out, src, atol=1e-6)


def test_stabilize_removes_head_motion(motion):
    src = motion.landmarks.astype(np.float64)
    a = np.radians(np.linspace(0, 10, len(src)))
    moved = np.stack(
        [
            f @ np.array([[1, 0, 0], [0, np.cos(t), -np.sin(t)], [0, np.sin(t), np.cos(t)]]).T
            + [0, 0, 0.01 * k / len(src)]
            for k, (f, t) in enumerate(zip(src, a, strict=True))
        ]
    )
    err_moved = np.abs(moved - src).max()
    err_fixed = np.abs(stabilize(moved) - src).max()
    assert err_fixed < 0.1 * err_moved


def test_rbf_baseline_meets_the_landmarks(motion):
    face = load_face().vertices
    idx = load_landmarks().indices
    out = rbf_transfer(motion.landmarks[::10], face, idx, align=False, stabilize_head=False)
    np.testing.assert_allclose(out[:, idx], motion.landmarks[::10], atol=1e-6)


def test_resample_counts_and_ends():
    x = np.arange(31, dtype=np.float64)[:, None]
    y = resample(x, 30, 60)
    assert len(y) == 61 and y[0] == 0 and y[-1] == 30 and y[1] == pytest.approx(0.5)
    assert len(resample(x, 30, 10)) == 11


def test_natural_sort():
    names = ["f10.obj", "f2.obj", "f1.obj"]
    assert sorted(names, key=natural_key) == ["f1.obj", "f2.obj", "f10.obj"]


def test_every_source_kind_reads_the_same_motion(tmp_path, motion):
    lm = motion.landmarks[:6]
    np.save(tmp_path / "m.npy", lm)
    write_landmarks(tmp_path / "m.csv", lm)
    (tmp_path / "pts").mkdir()
    (tmp_path / "meshes").mkdir()
    faces = load_face().faces
    for t in range(6):
        write_landmarks(tmp_path / "pts" / f"f{t}.pts", lm[t])
        save_mesh(tmp_path / "meshes" / f"frame_{t}.obj", motion.vertices[t], faces)
    for name, kind in (("m.npy", "npy"), ("m.csv", "csv"), ("pts", "pts"), ("meshes", "meshes")):
        src = read_source(tmp_path / name, fps=24)
        assert src.kind == kind and src.fps == 24 and src.n_frames == 6
        # mesh frames: the landmarks are the decoded vertices' (within the decoder's fit)
        want = load_landmarks().gather(motion.vertices[:6]) if kind == "meshes" else lm
        np.testing.assert_allclose(src.landmarks, want, atol=1e-5)
    assert read_source(tmp_path / "meshes").vertices.shape == (6, load_face().n_vertices, 3)


def test_bad_sources_raise_clear_errors(tmp_path):
    np.save(tmp_path / "bad.npy", np.zeros((5, 60, 3)))
    with pytest.raises(InvalidInputError, match="68"):
        read_source(tmp_path / "bad.npy")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match="no .obj"):
        read_source(tmp_path / "empty")
    with pytest.raises(InvalidInputError, match="no such"):
        read_source(tmp_path / "missing.npy")
    (tmp_path / "flat").mkdir()
    write_landmarks(tmp_path / "flat" / "a.pts", np.zeros((68, 2)))
    with pytest.raises(InvalidInputError, match="2D"):
        read_source(tmp_path / "flat")
    with pytest.raises(InvalidInputError, match="fps"):
        read_source(tmp_path / "bad.npy", fps=0)
