"""Neutral faces that cannot be right are refused with the reason; fixable ones are fixed and said.

Issue 15 items 3, 5, 6 and 9 through ``core.io.face_check``, ``load_mesh`` and the CLI (tiny
models), and the studio's worker (a FIFO must not block it).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from core.assets import load_face, load_landmarks
from core.cli import run_cli
from core.errors import InvalidInputError, MeshFormatError
from core.io.face_check import check_face
from core.io.mesh_io import load_mesh, save_mesh
from tests._tiny_models import tiny_weights, weight_args  # noqa: F401


def _rot_x(deg: float) -> np.ndarray:
    a = np.radians(deg)
    return np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])


def _variants():
    t = load_face().vertices.astype(np.float64)
    c = t.mean(axis=0)
    shuffled = t[np.random.default_rng(0).permutation(len(t))]
    half = t.copy()
    half[: len(t) // 5] = t[0]
    return {
        "rotated_90": ((t - c) @ _rot_x(90).T + c, None),
        "mirrored": (t * [-1, 1, 1], "is mirrored"),
        "shuffled": (shuffled, "not its vertex order"),
        "collapsed": (np.zeros_like(t) + 0.05, "is collapsed"),
        "partly_collapsed": (half, "is collapsed"),
    }


def _check(v):
    f = load_face()
    return check_face(v, f.vertices, f.faces, load_landmarks().indices, "face.obj")


@pytest.mark.parametrize("case", ["mirrored", "shuffled", "collapsed", "partly_collapsed"])
def test_impossible_faces_are_refused_with_the_reason(case):
    v, needle = _variants()[case]
    with pytest.raises(InvalidInputError, match=needle):
        _check(v)


def test_plausible_faces_pass_unchanged():
    t = load_face().vertices
    for v in (t, t * 0.8, t + 3.0, t * 1000):
        chk = _check(v)
        assert chk.rotation is None and np.array_equal(chk.to_file(chk.vertices), chk.vertices)
        np.testing.assert_allclose(chk.vertices, v, rtol=1e-6)
    assert _check(t * 1000).units == "mm" and "millimetres" in _check(t * 1000).notes[0]
    assert _check(t).units == "m" and _check(t).notes == ()


@pytest.mark.parametrize("deg", [90, 180, -60])
def test_a_rotated_face_is_turned_upright_and_back(deg):
    t = load_face().vertices.astype(np.float64)
    c = t.mean(axis=0)
    v = (t - c) @ _rot_x(deg).T + c
    chk = _check(v)
    assert chk.rotation is not None and f"rotated by {abs(deg)} degrees" in chk.notes[0]
    up = chk.vertices.astype(np.float64)  # upright: the template's shape up to a translation
    np.testing.assert_allclose(up - up.mean(0), t - t.mean(0), atol=1e-5)
    np.testing.assert_allclose(chk.to_file(chk.vertices), v, atol=1e-5)


# ------------------------------------------------------------------------------ through the CLI
def _generate(tmp_path, weights, neutral: Path, *extra):
    gan, dec = weights
    return run_cli(
        [
            "generate",
            "--label",
            "happy",
            "--neutral",
            str(neutral),
            "--out",
            str(tmp_path / "out"),
            "--format",
            "npz",
            *weight_args(gan, dec),
            "--device",
            "cpu",
            *extra,
        ]
    )


def _save(tmp_path, name, v) -> Path:
    f = load_face()
    save_mesh(tmp_path / name, v, f.faces, f.uv, f.face_uv)
    return tmp_path / name


@pytest.mark.parametrize("case", ["mirrored", "shuffled", "collapsed"])
def test_cli_refuses_impossible_faces(tmp_path, tiny_weights, capsys, case):  # noqa: F811
    v, needle = _variants()[case]
    rc = _generate(tmp_path, tiny_weights, _save(tmp_path, "face.obj", v))
    err = capsys.readouterr().err
    assert rc == 2 and needle in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_cli_rotated_and_millimetre_faces_are_animated_and_said(
    tmp_path,
    tiny_weights,  # noqa: F811
    capsys,
):
    t = load_face().vertices.astype(np.float64)
    assert _generate(tmp_path, tiny_weights, _save(tmp_path, "up.obj", t)) == 0
    with np.load(tmp_path / "out" / "happy_seed0" / "sequence.npz") as d:
        upright = d["frames"]
    capsys.readouterr()
    c = t.mean(axis=0)
    rotated = (t - c) @ _rot_x(90).T + c
    mm = rotated * 1000
    assert _generate(tmp_path, tiny_weights, _save(tmp_path, "face_mm.obj", mm), "--overwrite") == 0
    out = capsys.readouterr().out
    assert "rotated by 90 degrees" in out and "millimetres" in out
    folder = tmp_path / "out" / "happy_seed0"
    with np.load(folder / "sequence.npz") as d:
        frames = d["frames"]
    np.testing.assert_allclose(frames[0], mm, atol=1e-2)  # frame 0 = the file, in its pose
    # the motion is the upright one, rotated into the file's pose and scaled to mm
    expected = (((upright - upright[0].mean(0)) @ _rot_x(90).T) + rotated.mean(0)) * 1000
    err = np.abs(frames - expected).max() / np.abs(upright[-1] - upright[0]).max() / 1000
    assert err < 0.05, err
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["units"] == "mm"


# ------------------------------------------------------------------------ size and file type
def test_a_huge_obj_is_refused_early_when_a_face_is_expected(tmp_path):
    n = load_face().n_vertices
    path = tmp_path / "huge.obj"
    with open(path, "w") as fh:  # 200k vertices (~6 MB): the reader stops at vertex n + 1
        fh.write("v 0.1 0.2 0.3\n" * 200_000)
    t0 = time.perf_counter()
    with pytest.raises(MeshFormatError, match=f"at most {n} vertices.*line {n + 1}"):
        load_mesh(path, max_vertices=n)
    assert time.perf_counter() - t0 < 1.0
    ply = tmp_path / "huge.ply"
    ply.write_bytes(
        b"ply\nformat ascii 1.0\nelement vertex 1000000\nproperty float x\n"
        b"property float y\nproperty float z\nend_header\n0 0 0\n"
    )
    with pytest.raises(MeshFormatError, match="found 1000000 in the PLY header"):
        load_mesh(ply, max_vertices=n)


def test_streamed_obj_reads_the_same_face(tmp_path):
    f = load_face()
    path = _save(tmp_path, "face.obj", f.vertices)
    text = path.read_text().replace("\n", "\r\n")  # CRLF endings read the same
    (tmp_path / "crlf.obj").write_text(text, newline="")
    for p in (path, tmp_path / "crlf.obj"):
        m = load_mesh(p, max_vertices=f.n_vertices)
        np.testing.assert_allclose(m.vertices, f.vertices, atol=1e-6)
        assert np.array_equal(m.faces, f.faces) and m.uv is not None


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_studio_open_face_on_a_fifo_fails_and_the_worker_goes_on(qtbot, session, tmp_path):
    from tests.test_app_session import generate, wait_idle

    fifo = tmp_path / "face.obj"
    os.mkfifo(fifo)
    with qtbot.waitSignal(session.failed, timeout=10000) as sig:
        session.open_face(str(fifo))
    assert "not a regular file" in sig.args[0]
    wait_idle(qtbot, session)
    generate(qtbot, session, "happy", 1)  # the worker is free: later jobs finish
    assert session.source.label == "happy"
