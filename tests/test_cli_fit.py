"""CLI on a face of another topology: fit -> FIT.npz, generate/interpolate/decode in its topology,
and the error paths (one line, exit 2, nothing written). Uses a re-meshed copy of our template
(centimetres, y up, face towards +z, shuffled vertices) and its true 68 landmarks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.assets import load_face, load_landmarks
from core.cli import run_cli
from core.fit import load_fit
from core.fit.remesh import remesh_template
from core.io.mesh_io import load_mesh, save_mesh

FACE = load_face()
LM = load_landmarks()


@pytest.fixture(scope="module")
def face_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("anyface")
    r = remesh_template(FACE.vertices, FACE.faces, FACE.skin, seed=11)
    save_mesh(d / "face.obj", r.vertices, r.faces)
    true_lm = r.to_template.inverse(FACE.vertices[LM.indices].astype(float))
    np.save(d / "lm.npy", true_lm)
    assert (
        run_cli(
            [
                "fit",
                "--mesh",
                str(d / "face.obj"),
                "--landmarks",
                str(d / "lm.npy"),
                "--out",
                str(d / "FIT.npz"),
            ]
        )
        == 0
    )
    return d, r, true_lm


def test_fit_writes_a_documented_fit_file(face_files, capsys):
    d, r, true_lm = face_files
    fit = load_fit(d / "FIT.npz")
    assert fit.landmarks.shape == (68, 3)
    err_mm = np.linalg.norm(fit.landmarks - true_lm, axis=1) * 10.0
    assert np.median(err_mm) < 1.0
    assert fit.n_vertices == len(r.vertices) and fit.meta["units"] == "cm"


def test_generate_and_interpolate_write_the_faces_topology(face_files, tmp_path):
    d, r, _ = face_files
    mesh = load_mesh(d / "face.obj")
    out = tmp_path / "gen"
    assert (
        run_cli(
            [
                "generate",
                "--label",
                "happy",
                "--seeds",
                "1",
                "--frames",
                "8",
                "--neutral",
                str(d / "face.obj"),
                "--fit",
                str(d / "FIT.npz"),
                "--format",
                "npz",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    with np.load(out / "happy_seed1" / "sequence.npz") as z:
        frames, faces = z["frames"], z["faces"]
    assert frames.shape == (8, len(r.vertices), 3)
    np.testing.assert_array_equal(faces, mesh.faces)
    np.testing.assert_allclose(frames[0], mesh.vertices, atol=1e-5)  # frame 0 = the neutral
    moved = np.linalg.norm(frames[-1] - frames[0], axis=1)
    assert 0.05 < moved.max() < 3.0  # cm: a smile moves the mouth by millimetres
    man = json.loads((out / "happy_seed1" / "manifest.json").read_text())
    assert man["units"] == "cm" and "own coordinates" in man["face_frame"]
    out = tmp_path / "interp"
    assert (
        run_cli(
            [
                "interpolate",
                "--from",
                "happy:0",
                "--to",
                "sad:1",
                "--steps",
                "2",
                "--neutral",
                str(d / "face.obj"),
                "--fit",
                str(d / "FIT.npz"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    obj = load_mesh(out / "step_001_tau_1.000" / "frame_0030.obj")
    assert obj.n_vertices == len(r.vertices)
    np.testing.assert_array_equal(obj.faces, mesh.faces)


def _decode_on(d, inp, out) -> int:
    """Exit status of ``main.py decode`` on the fitted face in ``d`` (face.obj, FIT.npz)."""
    face = ["--mesh", str(d / "face.obj"), "--fit", str(d / "FIT.npz")]
    return run_cli(["decode", *face, "--input", str(inp), "--output", str(out)])


def test_decode_on_the_mesh_gives_back_the_neutral_at_zero_motion(face_files, tmp_path):
    d, r, _ = face_files
    fit = load_fit(d / "FIT.npz")
    lms = np.stack([fit.landmarks, fit.landmarks])
    lms[1, 57, 1] -= 0.8  # pull the lower lip down 8 mm (y is up in this face's frame)
    np.savez(tmp_path / "in.npz", landmarks=lms)
    assert _decode_on(d, tmp_path / "in.npz", tmp_path / "out.npz") == 0
    with np.load(tmp_path / "out.npz") as z:
        v = z["vertices"]
    assert v.shape == (2, len(r.vertices), 3)
    np.testing.assert_allclose(v[0], r.vertices, atol=1e-4)
    assert np.linalg.norm(v[1] - v[0], axis=1).max() > 0.1


def test_error_paths_are_one_line_and_write_nothing(face_files, tmp_path, capsys):
    d, r, _ = face_files
    out = tmp_path / "FIT.npz"
    nan = tmp_path / "nan.obj"
    nan.write_text("v 0 0 0\nv 1 0 nan\nv 0 1 0\nf 1 2 3\n")
    assert run_cli(["fit", "--mesh", str(nan), "--out", str(out)]) == 2
    assert "NaN" in capsys.readouterr().err and not out.exists()
    assert run_cli(["fit", "--mesh", str(tmp_path / "none.obj"), "--out", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err and not out.exists()
    assert (
        run_cli(["fit", "--mesh", str(d / "face.obj"), "--out", str(tmp_path / "no" / "FIT.npz")])
        == 2
    )
    assert "does not exist" in capsys.readouterr().err
    other = tmp_path / "template.obj"
    save_mesh(other, FACE.vertices, FACE.faces)
    gen = tmp_path / "gen"
    assert (
        run_cli(
            [
                "generate",
                "--label",
                "happy",
                "--neutral",
                str(other),
                "--fit",
                str(d / "FIT.npz"),
                "--out",
                str(gen),
            ]
        )
        == 2
    )
    assert "belongs to a mesh of" in capsys.readouterr().err and not gen.exists()
    np.save(tmp_path / "bad.npy", np.arange(68) + 10**7)
    assert (
        run_cli(
            [
                "fit",
                "--mesh",
                str(d / "face.obj"),
                "--landmarks",
                str(tmp_path / "bad.npy"),
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert "another mesh" in capsys.readouterr().err and not out.exists()
    np.savez(tmp_path / "in.npz", landmarks=np.zeros((1, 5, 3)))
    assert _decode_on(d, tmp_path / "in.npz", tmp_path / "o.npz") == 2
    assert "(B, 68, 3)" in capsys.readouterr().err and not (tmp_path / "o.npz").exists()


def test_a_cube_is_refused_with_a_clear_message(tmp_path, capsys):
    pytest.importorskip("mediapipe")
    import trimesh

    cube = trimesh.creation.box((20.0, 20.0, 20.0)).subdivide().subdivide().subdivide()
    save_mesh(tmp_path / "cube.obj", np.asarray(cube.vertices), np.asarray(cube.faces))
    assert (
        run_cli(["fit", "--mesh", str(tmp_path / "cube.obj"), "--out", str(tmp_path / "FIT.npz")])
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: no face found") and not (tmp_path / "FIT.npz").exists()
