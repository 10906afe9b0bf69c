"""The application commands: round trips through files and their error paths."""

import json

import numpy as np
import pytest

from core.apps.face_basis import load_face_basis
from core.assets import load_face, load_landmarks
from core.cli import run_cli
from core.io.manifest import validate_manifest
from core.io.mesh_io import load_mesh


def _run(capsys, *argv):
    rc = run_cli([str(a) for a in argv])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_sequence_writes_one_long_animation(tmp_path, capsys):
    rc, _, err = _run(
        capsys,
        "sequence",
        "--spec",
        "happy:3@0.5s,neutral@0.5s",
        "--fps",
        "20",
        "--out",
        tmp_path / "o",
        "--device",
        "cpu",
    )
    assert rc == 0, err
    man = json.loads((tmp_path / "o" / "sequence" / "manifest.json").read_text())
    assert man["n_frames"] == 21 and man["fps"] == 20
    assert man["motion"]["timeline"]["spec"] == "happy:3@0.5s,neutral@0.5s"
    validate_manifest(man)
    first = load_mesh(tmp_path / "o" / "sequence" / "frame_0001.obj").vertices
    np.testing.assert_allclose(first, load_face().vertices, atol=1e-6)


@pytest.mark.parametrize(
    "argv,match",
    [
        (["--spec", "happy@1s,grumpy@1s"], "label"),
        (["--spec", "happy:x"], "spec"),
        (["--spec", "happy@1s", "--fps", "0"], "fps"),
    ],
)
def test_sequence_errors_write_nothing(tmp_path, capsys, argv, match):
    rc, _, err = _run(capsys, "sequence", *argv, "--out", tmp_path / "o", "--device", "cpu")
    assert rc == 2 and match in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_transfer_from_landmarks_resamples_and_round_trips(tmp_path, capsys):
    from core.generate import MotionGenerator

    m = MotionGenerator.load(device="cpu").generate("surprised", 1)
    np.save(tmp_path / "perf.npy", m.landmarks)
    rc, out, err = _run(
        capsys,
        "transfer",
        "--source",
        tmp_path / "perf.npy",
        "--source-fps",
        "60",
        "--fps",
        "30",
        "--mode",
        "absolute",
        "--out",
        tmp_path / "t",
        "--device",
        "cpu",
    )
    assert rc == 0, err
    assert "30 frames at 60 fps; resampled to 15 frames at 30 fps" in out
    man = json.loads((tmp_path / "t" / "transfer" / "manifest.json").read_text())
    assert man["n_frames"] == 15 and man["motion"]["transfer"]["mode"] == "absolute"
    validate_manifest(man)
    last = load_mesh(tmp_path / "t" / "transfer" / "frame_0015.obj").vertices
    np.testing.assert_allclose(last, m.vertices[-1], atol=2e-5)


def test_transfer_bad_source_writes_nothing(tmp_path, capsys):
    np.save(tmp_path / "bad.npy", np.zeros((4, 68, 2)))
    rc, _, err = _run(
        capsys,
        "transfer",
        "--source",
        tmp_path / "bad.npy",
        "--out",
        tmp_path / "t",
        "--device",
        "cpu",
    )
    assert rc == 2 and "(T, 68, 3)" in err
    assert not (tmp_path / "t").exists()


def test_face_random_and_set(tmp_path, capsys):
    basis = load_face_basis()
    rc, out, err = _run(
        capsys,
        "face",
        "--random",
        "5",
        "--set",
        "age=0.8,nose-width=0.3",
        "--out",
        tmp_path / "f.obj",
    )
    assert rc == 0, err
    want = basis.random(5)
    want.update({"age": 0.8, "nose-scale-horiz": 0.3})
    got = load_mesh(tmp_path / "f.obj")
    np.testing.assert_allclose(got.vertices, basis.vertices(want), atol=1e-6)
    assert got.uv is not None and "nose-scale-horiz" in out
    rc, out, _ = _run(capsys, "face", "--list")
    assert rc == 0 and "nose-scale-horiz" in out and out.count("\n") == len(basis.sliders)


@pytest.mark.parametrize(
    "argv,match",
    [
        (["--set", "age=3"], "[0, 1]"),
        (["--set", "chinny=1"], "unknown face slider"),
        (["--random", "-1"], "seed"),
        ([], "--out"),
    ],
)
def test_face_errors_write_nothing(tmp_path, capsys, argv, match):
    out = ["--out", tmp_path / "f.obj"] if argv else []
    rc, _, err = _run(capsys, "face", *argv, *out)
    assert rc == 2 and match in err
    assert not (tmp_path / "f.obj").exists()


def test_neutralize_round_trip(tmp_path, capsys):
    from core.generate import MotionGenerator
    from core.io.mesh_io import save_mesh

    face = load_face()
    apex = MotionGenerator.load(device="cpu").generate("happy", 0).vertices[-1]
    save_mesh(tmp_path / "e.obj", apex, face.faces)
    rc, _, err = _run(
        capsys, "neutralize", "--mesh", tmp_path / "e.obj", "--out", tmp_path / "n.obj"
    )
    assert rc == 0, err
    got = load_mesh(tmp_path / "n.obj").vertices
    err_mm = np.linalg.norm(got - face.vertices, axis=1)[face.face_mask].mean() * 1000
    assert err_mm < 0.2
    rc, _, err = _run(
        capsys, "neutralize", "--mesh", tmp_path / "e.obj", "--out", tmp_path / "n.txt"
    )
    assert rc == 2 and ".obj or .ply" in err


@pytest.mark.anny
def test_evaluation_on_anny(tmp_path):
    from core.apps.evaluate import evaluate_apps
    from core.apps.report import write_report

    res = evaluate_apps(n_identities=2, n_random=1, log=lambda *a: None, max_items=3, any_items=1)
    t, n, a, d = res["transfer"], res["neutralize"], res["any_topology"], res["transfer_diagnosis"]
    for split in ("inside", "outside"):
        assert all(np.isfinite(v) for v in t[split].values())
        assert t[split]["raw displacement"] < t[split]["RBF (TPS) absolute"]
        assert n[split]["joint"] < 0.5 * n[split]["none"]
        assert a[split]["joint ICP on the mesh"] < 0.6 * a[split]["joint on the fitted template"]
        assert d[split]["oracle"] < t[split]["S2D absolute"]  # the decoder's floor
    text = write_report(res, tmp_path / "applications.md").read_text()
    assert "| joint |" in text and "Face creator basis" in text and "scaled performer" in text
    assert "| joint ICP on the mesh |" in text and "true** landmarks" in text
    # raw displacement copies the performer's amplitude: a smaller performer makes it worse
    assert t["scaled"]["raw displacement"] > t["inside"]["raw displacement"]
    assert load_landmarks().indices.shape == (68,)


def test_neutralize_a_face_of_another_topology(tmp_path, capsys):
    """A vertex-permuted copy (another topology to the app) is fitted from its landmarks; the
    result keeps the copy's vertex order and is close to the neutral (joint model fitted to the
    mesh's surface by ICP, core.apps.neutralize_any)."""
    from core.generate import MotionGenerator
    from core.io.landmarks_io import write_landmarks
    from core.io.mesh_io import save_mesh

    face, idx = load_face(), load_landmarks().indices
    apex = MotionGenerator.load(device="cpu").generate("happy", 0).vertices[-1]
    perm = np.random.default_rng(0).permutation(face.n_vertices)
    inv = np.argsort(perm)
    save_mesh(tmp_path / "p.obj", apex[perm], inv[face.faces])
    write_landmarks(tmp_path / "p.pts", apex[idx])
    rc, out, err = _run(
        capsys,
        "neutralize",
        "--mesh",
        tmp_path / "p.obj",
        "--landmarks",
        tmp_path / "p.pts",
        "--out",
        tmp_path / "n.obj",
    )
    assert rc == 0, err
    assert "topology" in out
    got = load_mesh(tmp_path / "n.obj").vertices[inv]
    mask = face.face_mask

    def mm(v):
        return np.linalg.norm(v - face.vertices, axis=1)[mask].mean() * 1000

    assert mm(got) < 0.2 * mm(apex)  # measured 0.23 vs 2.55 mm (the template alone: 1.99)
