"""core.generate and the generate/interpolate CLI with tiny randomly initialised models."""

import json

import numpy as np
import pytest
import torch

from core.assets import load_face, load_landmarks
from core.cli import run_cli
from core.errors import InvalidInputError, TopologyMismatchError
from core.generate import MotionGenerator, check_seed, resample_curve
from core.io.manifest import validate_manifest
from core.io.mesh_io import load_mesh, save_mesh
from core.pipeline import S2DPipeline
from tests._tiny_models import tiny_decoder, tiny_gan, tiny_weight_files, weight_args


@pytest.fixture(scope="module")
def decoder():
    return tiny_decoder()


@pytest.fixture(scope="module")
def gen(decoder):
    pipe = S2DPipeline(decoder, "scale", load_face(), load_landmarks(), torch.device("cpu"), {})
    return MotionGenerator(tiny_gan(), pipe)


@pytest.fixture(scope="module")
def weight_files(tmp_path_factory):
    return tiny_weight_files(tmp_path_factory.mktemp("w"))


def test_generate_shapes_frame0_neutral_and_determinism(gen):
    face = load_face()
    m = gen.generate("happy", 3)
    assert m.landmarks.shape == (30, 68, 3) and m.vertices.shape == (30, face.n_vertices, 3)
    assert m.srvf.shape == (29, 204) and m.label == "happy" and m.seed == 3
    assert np.array_equal(m.vertices[0], face.vertices)
    assert np.array_equal(m.landmarks[0], load_landmarks().gather(face.vertices))
    assert np.abs(m.landmarks[-1] - m.landmarks[0]).max() > 1e-4  # it moves
    again = gen.generate("happy", 3)
    assert np.array_equal(again.vertices, m.vertices) and np.array_equal(again.srvf, m.srvf)
    assert not np.array_equal(gen.generate("happy", 4).landmarks, m.landmarks)
    assert not np.array_equal(gen.generate("sad", 3).landmarks, m.landmarks)


def test_motion_is_rebuilt_at_the_scale_of_the_face(gen):
    face = load_face()
    m1 = gen.generate("surprised", 1)
    m2 = gen.generate("surprised", 1, neutral=face.vertices * 2.0)
    d1 = m1.landmarks - m1.landmarks[0]
    d2 = m2.landmarks - m2.landmarks[0]
    np.testing.assert_allclose(d2, 2.0 * d1, atol=1e-6)
    assert np.array_equal(m2.vertices[0], face.vertices * 2.0)


def test_other_frame_counts_resample_the_curve_linearly(gen):
    m30 = gen.generate("angry", 2)
    m59 = gen.generate("angry", 2, n_frames=59)  # every second frame is an original one
    assert m59.n_frames == 59 and m59.srvf.shape == (58, 204)
    np.testing.assert_allclose(m59.landmarks[::2], m30.landmarks, atol=1e-6)
    assert np.array_equal(m59.vertices[0], load_face().vertices)
    x = np.arange(5.0)[:, None]
    np.testing.assert_allclose(resample_curve(x, 9)[:, 0], np.arange(9) / 2)


def test_interpolation_reproduces_its_end_points(gen):
    a, b = gen.generate("happy", 0), gen.generate("mouth_open", 5)
    i0, i1 = gen.interpolate(a, b, 0.0), gen.interpolate(a, b, 1.0)
    np.testing.assert_allclose(i0.landmarks, a.landmarks, atol=1e-6)
    np.testing.assert_allclose(i1.landmarks, b.landmarks, atol=1e-6)
    mid = gen.interpolate(a, b, 0.5)
    assert mid.meta["length"] == pytest.approx((a.meta["length"] + b.meta["length"]) / 2)
    assert np.array_equal(mid.vertices[0], a.vertices[0])
    mix = gen.mix_apex(a, b, [0.0, 0.5, 1.0])
    assert mix.vertices.shape == (3, load_face().n_vertices, 3)
    np.testing.assert_allclose(mix.landmarks[0], a.landmarks[-1], atol=1e-6)
    np.testing.assert_allclose(mix.landmarks[2], b.landmarks[-1], atol=1e-6)
    with pytest.raises(InvalidInputError, match=r"tau: expected a number in \[0, 1\]"):
        gen.interpolate(a, b, 1.5)


def test_transfer_applies_a_motion_to_another_face(gen):
    src = gen.generate("fear", 7)
    target = load_face().vertices * 1.5
    moved = gen.transfer(src.landmarks, target)
    d_src = src.landmarks - src.landmarks[0]
    np.testing.assert_allclose(moved.landmarks - moved.landmarks[0], 1.5 * d_src, atol=1e-6)
    assert np.array_equal(moved.vertices[0], target)
    with pytest.raises(InvalidInputError, match="static"):
        gen.transfer(np.repeat(src.landmarks[:1], 30, axis=0), target)


def test_unknown_label_and_bad_seeds_raise_clear_errors(gen):
    with pytest.raises(InvalidInputError, match="expected one of bareteeth, .*surprised"):
        gen.generate("smirk", 0)
    for bad in (-1, 1.5, True, "3", 2**63):
        with pytest.raises(InvalidInputError, match="seed"):
            gen.generate("happy", bad)
    assert check_seed(np.int64(4)) == 4
    with pytest.raises(InvalidInputError, match="n_frames"):
        gen.generate("happy", 0, n_frames=1)
    with pytest.raises(TopologyMismatchError):
        gen.generate("happy", 0, neutral=np.zeros((10, 3)))


def test_one_sided_labels_take_a_side_from_the_seed_or_the_caller(gen):
    assert gen.one_sided == ("mouth_side", "contempt")
    drawn = [gen.side_of("mouth_side", s) for s in range(16)]
    assert set(drawn) == {"left", "right"}  # both sides occur over seeds
    assert drawn == [gen.side_of("mouth_side", s) for s in range(16)]  # and are reproducible
    assert gen.side_of("happy", 3) is None and gen.side_of("contempt", 3, "right") == "right"
    s0 = drawn.index("left")
    auto = gen.generate("mouth_side", s0)
    assert auto.meta["side"] == "left" and "side" not in gen.generate("happy", s0).meta
    np.testing.assert_array_equal(
        gen.generate("mouth_side", s0, side="left").landmarks, auto.landmarks
    )
    other = gen.generate("mouth_side", s0, side="right")
    assert other.meta["side"] == "right"
    assert not np.allclose(other.landmarks, auto.landmarks)  # another class, same noise
    with pytest.raises(InvalidInputError, match="not one-sided"):
        gen.generate("happy", 0, side="left")
    with pytest.raises(InvalidInputError, match="side: expected one of"):
        gen.generate("contempt", 0, side="up")
    q, _ = gen.sample_srvf(["mouth_side", "mouth_side"], [s0, s0], ["left", "right"])
    assert not np.allclose(q[0], q[1])


def test_shipped_model_moves_one_sided_expressions_to_the_requested_side():
    from core.generate import DEFAULT_GAN
    from core.train.gan_train import motion_side

    shipped = MotionGenerator.load(DEFAULT_GAN, device="cpu")
    assert shipped.one_sided == ("mouth_side", "contempt")
    lm0 = load_landmarks().gather(load_face().vertices)
    for label in shipped.one_sided:
        for side in ("left", "right"):
            q, length = shipped.sample_srvf([label] * 8, list(range(8)), [side] * 8)
            seqs = np.stack([shipped.landmark_motion(q[i], length[i], lm0) for i in range(8)])
            got = motion_side(seqs)  # 0 = left (+x), 1 = right
            assert (got == ("left", "right").index(side)).mean() >= 7 / 8, (label, side, got)


def test_cli_generate_writes_an_obj_sequence_that_reads_back(tmp_path, weight_files, gen):
    gan_w, dec_w = weight_files
    out = tmp_path / "out"
    rc = run_cli(
        [
            "generate",
            "--label",
            "happy",
            "--seeds",
            "0",
            "1",
            "--out",
            str(out),
            *weight_args(gan_w, dec_w),
            "--device",
            "cpu",
        ]
    )
    assert rc == 0
    face = load_face()
    for seed in (0, 1):
        folder = out / f"happy_seed{seed}"
        frames = sorted(folder.glob("frame_*.obj"))
        assert len(frames) == 30 and frames[0].name == "frame_0001.obj"
        manifest = json.loads((folder / "manifest.json").read_text())
        validate_manifest(manifest)  # the one schema (docs/manifest.md)
        assert manifest["motion"]["label"] == "happy" and manifest["motion"]["seed"] == seed
        assert manifest["units"] == "m" and manifest["fps"] == 30.0 and manifest["up"] == "z"
        assert manifest["producer"] == "cli" and manifest["face"]["path"] is None
        assert set(manifest["models"]) == {"motion3dgan", "s2d_decoder"}
        first, last = load_mesh(frames[0]), load_mesh(frames[-1])
        assert first.vertices.shape == (face.n_vertices, 3)
        np.testing.assert_allclose(first.vertices, face.vertices, atol=1e-6)  # order kept
        assert np.array_equal(first.faces, face.faces) and first.uv is not None
    ref = MotionGenerator(gen.gan, gen.pipeline).generate("happy", 1)
    np.testing.assert_allclose(last.vertices, ref.vertices[-1], atol=2e-6)


def test_cli_errors_leave_nothing_behind(tmp_path, weight_files, capsys):
    gan_w, dec_w = weight_files
    common = [*weight_args(gan_w, dec_w), "--device", "cpu"]
    out = tmp_path / "new"
    assert run_cli(["generate", "--label", "smirk", "--out", str(out), *common]) == 2
    assert "expected one of" in capsys.readouterr().err and not out.exists()
    assert (
        run_cli(["generate", "--label", "happy", "--seeds", "-3", "--out", str(out), *common]) == 2
    )
    assert "seed" in capsys.readouterr().err and not out.exists()
    missing = tmp_path / "no" / "such"
    assert run_cli(["generate", "--label", "happy", "--out", str(missing), *common]) == 2
    assert "does not exist" in capsys.readouterr().err and not missing.parent.exists()
    bad_mesh = tmp_path / "small.obj"
    save_mesh(bad_mesh, np.eye(3), np.array([[0, 1, 2]]))
    assert (
        run_cli(
            ["generate", "--label", "happy", "--neutral", str(bad_mesh), "--out", str(out), *common]
        )
        == 2
    )
    assert "vertices" in capsys.readouterr().err and not out.exists()


def test_cli_generate_side_of_a_one_sided_label(tmp_path, weight_files, capsys):
    gan_w, dec_w = weight_files
    common = [
        *weight_args(gan_w, dec_w),
        "--device",
        "cpu",
        "--format",
        "npz",
    ]
    out = tmp_path / "side"
    assert (
        run_cli(["generate", "--label", "contempt", "--side", "right", "--out", str(out), *common])
        == 0
    )
    man = json.loads((out / "contempt_seed0" / "manifest.json").read_text())
    assert man["motion"]["side"] == "right"
    bad = tmp_path / "bad"
    assert (
        run_cli(["generate", "--label", "happy", "--side", "left", "--out", str(bad), *common]) == 2
    )
    assert "not one-sided" in capsys.readouterr().err and not bad.exists()


def test_cli_interpolate_writes_one_folder_per_tau(tmp_path, weight_files):
    gan_w, dec_w = weight_files
    out = tmp_path / "interp"
    rc = run_cli(
        [
            "interpolate",
            "--from",
            "happy:0",
            "--to",
            "surprised:3",
            "--steps",
            "3",
            "--out",
            str(out),
            "--format",
            "npz",
            *weight_args(gan_w, dec_w),
            "--device",
            "cpu",
        ]
    )
    assert rc == 0
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith((".", "batch"))) == [
        "step_000_tau_0.000",
        "step_001_tau_0.500",
        "step_002_tau_1.000",
    ]
    man = json.loads((out / "step_001_tau_0.500" / "manifest.json").read_text())
    assert man["motion"]["tau"] == 0.5 and man["motion"]["from"] == {"label": "happy", "seed": 0}
    validate_manifest(man)
    with np.load(out / "step_001_tau_0.500" / "sequence.npz") as d:
        assert d["frames"].shape == (30, load_face().n_vertices, 3)
    assert (
        run_cli(
            [
                "interpolate",
                "--from",
                "happy",
                "--to",
                "sad:1",
                "--out",
                str(tmp_path / "x"),
                "--weights",
                str(gan_w),
            ]
        )
        == 2
    )


def test_cli_generate_ply_resampled_frames_without_seam_uvs(tmp_path, weight_files, capsys):
    gan_w, dec_w = weight_files
    out = tmp_path / "ply"
    rc = run_cli(
        [
            "generate",
            "--label",
            "sad",
            "--seeds",
            "2",
            "--frames",
            "12",
            "--format",
            "ply",
            "--out",
            str(out),
            *weight_args(gan_w, dec_w),
            "--device",
            "cpu",
        ]
    )
    assert rc == 0 and "without UVs" in capsys.readouterr().out
    frames = sorted((out / "sad_seed2").glob("frame_*.ply"))
    assert len(frames) == 12
    np.testing.assert_allclose(load_mesh(frames[0]).vertices, load_face().vertices, atol=1e-6)


def test_cli_single_file_formats_and_the_up_axis(tmp_path, weight_files):
    gan_w, dec_w = weight_files
    common = [
        *weight_args(gan_w, dec_w),
        "--device",
        "cpu",
        "--frames",
        "3",
        "--label",
        "happy",
        "--seeds",
        "0",
    ]
    face = load_face()
    for fmt in ("glb", "gif"):
        out = tmp_path / fmt
        assert run_cli(["generate", "--format", fmt, "--out", str(out), *common]) == 0
        folder = out / "happy_seed0"
        assert sorted(p.name for p in folder.iterdir()) == [f"happy_seed0.{fmt}", "manifest.json"]
        man = validate_manifest(json.loads((folder / "manifest.json").read_text()))
        assert man["files"] == [f"happy_seed0.{fmt}"] and man["n_frames"] == 3
        assert man["up"] == ("y" if fmt == "glb" else "z")
    import imageio.v3 as iio

    gif = iio.imread(tmp_path / "gif" / "happy_seed0" / "happy_seed0.gif", index=None)
    assert gif.shape[0] == 3 and gif[0].std() > 10  # three shaded frames, not blank
    out = tmp_path / "y"
    assert run_cli(["generate", "--up", "y", "--out", str(out), *common]) == 0
    first = load_mesh(out / "happy_seed0" / "frame_0001.obj")
    v = face.vertices
    np.testing.assert_allclose(first.vertices, np.stack([v[:, 0], v[:, 2], -v[:, 1]], 1), atol=2e-6)
    assert json.loads((out / "happy_seed0" / "manifest.json").read_text())["up"] == "y"
