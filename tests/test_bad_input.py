"""Bad input never gives a silently wrong result, a traceback, a hang or a half-written file.

Each case of issue 15 (and the ones that already passed) as a test: the command exits 2 with one
line ``error: …`` that says what is wrong, and nothing is written; or, where the input can be
fixed without guessing (a rotated face, a face in millimetres), it is fixed and the user is told.
Companions: ``test_bad_weights.py`` (weights files), ``test_bad_mesh.py`` (meshes),
``test_kill_export.py`` (kill -9 and --resume), ``test_app_fuzz.py`` (the studio).
"""

from __future__ import annotations

import io
import os
import signal
import zipfile
from pathlib import Path

import numpy as np
import pytest

from core.arrays import check_coordinates
from core.assets import load_face, load_landmarks
from core.cli import run_cli
from core.errors import InvalidInputError
from core.io.safe_input import open_regular, read_npz
from tests._tiny_models import save_tiny_decoder, tiny_decoder, tiny_weights, weight_args  # noqa: F401


def _one_line_error(capsys, rc: int) -> str:
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def _decode_input(tmp_path: Path, name: str = "in.npz", **override) -> Path:
    face, lm = load_face(), load_landmarks()
    neutral = face.vertices[None].astype(np.float64)
    arrays = {"neutral": neutral, "landmarks": neutral[:, lm.indices].copy(), **override}
    np.savez(tmp_path / name, **{k: v for k, v in arrays.items() if v is not None})
    return tmp_path / name


def _decode(tmp_path, weights, inp, out_name="out.npz"):
    return run_cli(
        [
            "decode",
            "--input",
            str(inp),
            "--output",
            str(tmp_path / out_name),
            "--weights",
            str(weights),
            "--device",
            "cpu",
        ]
    )


@pytest.fixture(scope="module")
def dec_weights(tiny_weights):  # noqa: F811 - the fixture imported above
    return tiny_weights[1]


# ------------------------------------------------------------------------ item 1: output names
@pytest.mark.parametrize("name", ["out.NPZ", "out", "out.npy"])
def test_decode_writes_exactly_the_named_output(tmp_path, dec_weights, capsys, name):
    inp = _decode_input(tmp_path)
    assert _decode(tmp_path, dec_weights, inp, name) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([inp.name, name])  # no temp
    with np.load(tmp_path / name, allow_pickle=False) as d:
        assert d["vertices"].shape == (1, load_face().n_vertices, 3)
        assert np.isfinite(d["vertices"]).all()


# ---------------------------------------------------------------- item 2: ranges and finiteness
def _shifted_landmarks(value):
    lm = load_face().vertices[load_landmarks().indices][None].astype(np.float64)
    lm[0, 5] = value
    return lm


DECODE_CASES = {
    "neutral_x1e30": (
        {
            "neutral": load_face().vertices[None] * 1e30,
            "landmarks": load_face().vertices[load_landmarks().indices][None] * 1e30,
        },
        "expected coordinates of a face",
    ),
    "landmark_1e30": ({"landmarks": _shifted_landmarks(1e30)}, "found a value of 1e+30"),
    "landmark_far": ({"landmarks": _shifted_landmarks(5.0)}, "more than the face's size"),
    "overflows_float32": (
        {"neutral": load_face().vertices[None].astype(np.float64) * 1e40},
        "after conversion to float32",
    ),
    "complex": ({"neutral": load_face().vertices[None] + 1j}, "complex numbers"),
    "nan": ({"landmarks": _shifted_landmarks(np.nan)}, "NaN"),
    "strings": ({"neutral": np.array(["a", "b"])}, "expected numbers"),
    "objects": ({"neutral": np.array([None, 1], dtype=object)}, "never unpickled"),
    "shape": ({"landmarks": np.zeros((1, 60, 3))}, "expected an array of shape"),
    "vertices": ({"neutral": np.zeros((1, 100, 3))}, "vertices but the model's topology"),
    "missing": ({"landmarks": None}, "missing ['landmarks']"),
}


@pytest.mark.parametrize("case", list(DECODE_CASES))
def test_decode_refuses_bad_arrays_in_one_line(tmp_path, dec_weights, capsys, case):
    override, needle = DECODE_CASES[case]
    inp = _decode_input(tmp_path, **override)
    err = _one_line_error(capsys, _decode(tmp_path, dec_weights, inp))
    assert needle in err
    assert "is not a readable .npz file" not in err or case == "objects"
    assert not (tmp_path / "out.npz").exists()


def test_decode_refuses_nan_output_of_damaged_weights(tmp_path, capsys):
    state = {k: v.clone() for k, v in tiny_decoder().state_dict().items()}
    for v in state.values():
        if v.is_floating_point():
            v.fill_(float("nan"))
    bad = save_tiny_decoder(tmp_path / "nan.safetensors", state)
    err = _one_line_error(capsys, _decode(tmp_path, bad, _decode_input(tmp_path)))
    assert "NaN" in err and "nan.safetensors" in err
    assert not (tmp_path / "out.npz").exists()


def test_check_coordinates_casts_then_checks():
    assert check_coordinates("x", np.ones((2, 3), np.int64)).dtype == np.float32
    with pytest.raises(InvalidInputError, match="after conversion to float32"):
        check_coordinates("x", np.full((2, 3), 1e300))
    with pytest.raises(InvalidInputError, match="at most 10 in size"):
        check_coordinates("x", np.full((2, 3), 11.0), limit=10)


# ---------------------------------------------------------------- item 8: damaged .npz inputs
def _huge_header_npz(path: Path) -> Path:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 4312, 3)}
    )
    with zipfile.ZipFile(path, "w") as z:
        for name in ("neutral", "landmarks"):
            z.writestr(f"{name}.npy", header.getvalue() + b"\0" * 64)
    return path


@pytest.mark.parametrize(
    "case", ["truncated", "garbage", "empty", "not_zip", "huge_header", "folder", "missing_file"]
)
def test_decode_damaged_npz_is_one_line(tmp_path, dec_weights, capsys, case):
    good = _decode_input(tmp_path, "good.npz").read_bytes()
    bad = tmp_path / "bad.npz"
    if case == "truncated":
        bad.write_bytes(good[: len(good) // 2])
    elif case == "garbage":
        bad.write_bytes(b"PK\x03\x04" + np.random.default_rng(0).bytes(500))
    elif case == "empty":
        bad.write_bytes(b"")
    elif case == "not_zip":
        bad.write_text("neutral,landmarks\n1,2\n")
    elif case == "huge_header":
        _huge_header_npz(bad)
    elif case == "folder":
        bad.mkdir()
    err = _one_line_error(capsys, _decode(tmp_path, dec_weights, bad))
    assert "bad.npz" in err
    assert not (tmp_path / "out.npz").exists()


def test_read_npz_checks_declared_size_before_allocating(tmp_path):
    with pytest.raises(InvalidInputError, match=r"declares shape \(1000000, 4312, 3\)"):
        read_npz(_huge_header_npz(tmp_path / "h.npz"), ("neutral",))


# --------------------------------------------------------------- item 6: special files, no hang
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_open_regular_never_blocks_on_a_fifo(tmp_path):
    fifo = tmp_path / "face.obj"
    os.mkfifo(fifo)
    with pytest.raises(InvalidInputError, match=r"pipe \(FIFO\), not a regular file"):
        open_regular(fifo, 1 << 20, "mesh file")
    with pytest.raises(InvalidInputError, match="at most 0 MB"):
        open_regular(Path(__file__), 16)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("command", ["generate", "decode"])
def test_cli_fifo_input_exits_2_at_once(tmp_path, tiny_weights, capsys, command):  # noqa: F811
    fifo = tmp_path / ("face.obj" if command == "generate" else "in.npz")
    os.mkfifo(fifo)
    gan, dec = tiny_weights
    args = (
        [
            "generate",
            "--label",
            "happy",
            "--neutral",
            str(fifo),
            "--out",
            str(tmp_path / "out"),
            *weight_args(gan, dec),
        ]
        if command == "generate"
        else [
            "decode",
            "--input",
            str(fifo),
            "--output",
            str(tmp_path / "o.npz"),
            "--weights",
            str(dec),
        ]
    )

    def hung(*_):
        raise TimeoutError(f"{command} blocked on a FIFO")

    old = signal.signal(signal.SIGALRM, hung)  # a blocking open() fails the test, never hangs it
    signal.alarm(30)
    try:
        rc = run_cli([*args, "--device", "cpu"])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert "not a regular file" in _one_line_error(capsys, rc)
    assert not (tmp_path / "out").exists() and not (tmp_path / "o.npz").exists()


# ----------------------------------------------------------- items 4 and 10: names and caps
def test_interpolation_step_names_are_unique_by_construction():
    from core.cli.motion import step_names

    for n in (2, 5, 1001, 1002, 5000):
        names = step_names(np.linspace(0, 1, n))
        assert len(set(names)) == n  # tau_%.3f alone collides from 1002 steps on
        assert names == sorted(names)  # zero-padded: listing order is step order
    assert step_names(np.linspace(0, 1, 3)) == [
        "step_000_tau_0.000",
        "step_001_tau_0.500",
        "step_002_tau_1.000",
    ]


@pytest.mark.parametrize(
    "args,needle",
    [
        (
            ["interpolate", "--from", "happy:0", "--to", "sad:1", "--steps", "1002"],
            "pass --max-steps 1002",
        ),
        (["interpolate", "--from", "happy:0", "--to", "sad:1", "--steps", "1"], ">= 2"),
        (["generate", "--label", "happy", "--frames", "5000"], "pass --max-frames 5000"),
        (["generate", "--label", "happy", "--seeds", "1", "1"], "distinct seeds"),
    ],
)
def test_caps_and_counts_are_checked_before_any_work(tmp_path, capsys, args, needle):
    err = _one_line_error(capsys, run_cli([*args, "--out", str(tmp_path / "o")]))
    assert needle in err and not (tmp_path / "o").exists()


def test_a_cap_can_be_raised_explicitly(tmp_path, tiny_weights):  # noqa: F811
    gan, dec = tiny_weights
    out = tmp_path / "o"
    common = [
        "interpolate",
        "--from",
        "happy:0",
        "--to",
        "sad:1",
        "--steps",
        "3",
        "--out",
        str(out),
        *weight_args(gan, dec),
        "--device",
        "cpu",
        "--format",
        "npz",
    ]
    assert run_cli([*common, "--max-steps", "2"]) == 2 and not out.exists()
    assert run_cli([*common, "--max-steps", "3"]) == 0
    assert len(list(out.glob("step_*/sequence.npz"))) == 3
