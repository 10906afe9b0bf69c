"""Landmark files: iBUG .pts, menpo .ljson, .npy and CSV round trips and their error messages."""

import json

import numpy as np
import pytest

from core.errors import InvalidInputError
from core.io.landmarks_io import MENPO_IBUG68_LABELS, csv_header, read_landmarks, write_landmarks


@pytest.fixture
def pts3():
    return np.random.default_rng(0).normal(size=(68, 3)) * 0.05  # (68, 3)


@pytest.mark.parametrize("suffix", [".pts", ".ljson", ".npy", ".csv"])
def test_round_trip_is_exact(tmp_path, pts3, suffix):
    path = write_landmarks(tmp_path / f"face{suffix}", pts3)
    back = read_landmarks(path)
    back = back[0] if suffix == ".csv" else back  # CSV is always (T, 68, 3)
    np.testing.assert_array_equal(back, pts3)  # repr() writes floats exactly


def test_pts_is_the_ibug_layout_and_reads_2d(tmp_path):
    p2 = np.arange(136, dtype=float).reshape(68, 2)
    path = write_landmarks(tmp_path / "img.pts", p2)
    lines = path.read_text().splitlines()
    assert lines[:3] == ["version: 1", "n_points: 68", "{"] and lines[-1] == "}"
    assert lines[3].split() == ["0.0", "1.0"]  # point 1 of the 300-W numbering = index 0
    np.testing.assert_array_equal(read_landmarks(path), p2)
    # the 300-W files themselves: integer-free floats, CRLF, extra blank lines
    (tmp_path / "w.pts").write_text(
        "version: 1\r\nn_points:  68\r\n{\r\n"
        + "".join(f"{x} {y}\r\n" for x, y in p2)
        + "}\r\n\r\n"
    )
    np.testing.assert_array_equal(read_landmarks(tmp_path / "w.pts"), p2)


def test_ljson_carries_menpo_groups(tmp_path, pts3):
    path = write_landmarks(tmp_path / "f.ljson", pts3)
    doc = json.loads(path.read_text())
    assert doc["version"] == 2
    masks = {d["label"]: d["mask"] for d in doc["labels"]}
    assert masks["jaw"] == list(range(17)) and masks["mouth"] == list(range(48, 68))
    covered = sorted(i for _, r, _ in MENPO_IBUG68_LABELS for i in r)
    assert covered == list(range(68))
    edges = np.array(doc["landmarks"]["connectivity"])
    assert edges.min() >= 0 and edges.max() < 68 and [41, 36] in edges.tolist()  # eye closed


def test_csv_frames_and_header(tmp_path):
    seq = np.random.default_rng(1).normal(size=(4, 68, 3))
    path = write_landmarks(tmp_path / "s.csv", seq)
    rows = path.read_text().splitlines()
    assert rows[0].split(",") == csv_header() and len(csv_header()) == 204
    assert csv_header()[:3] == ["lm00_x", "lm00_y", "lm00_z"] and len(rows) == 5
    np.testing.assert_array_equal(read_landmarks(path), seq)
    np.testing.assert_array_equal(read_landmarks(write_landmarks(tmp_path / "s.npy", seq)), seq)


@pytest.mark.parametrize(
    "name, text, match",
    [
        ("a.pts", "version: 1\nn_points: 1\n{\n1 2\n}\n", r"expected landmarks of shape"),
        ("b.pts", "version: 1\nn_points: 67\n{\n" + "1 2\n" * 68 + "}\n", r"n_points: 67 but 68"),
        ("c.pts", "1 2\n" * 68, r"no '\{ … \}' block"),
        ("d.pts", "n_points: 68\n{\n" + "1 x\n" * 68 + "}\n", r"expected numbers"),
        ("e.ljson", "{}", r"not a menpo .ljson"),
        (
            "f.ljson",
            json.dumps({"landmarks": {"points": [[0, 0, 0]] * 67 + [None]}}),
            r"missing \(null\)",
        ),
        ("g.csv", "1,2,3\n", r"row 1 has 3 columns; expected 204"),
        ("h.csv", ",".join(["nan"] * 204) + "\n", r"NaN or inf"),
        ("i.txt", "", r"unknown landmark format '.txt'"),
    ],
)
def test_malformed_files_raise_one_line_errors(tmp_path, name, text, match):
    (tmp_path / name).write_text(text)
    with pytest.raises(InvalidInputError, match=match) as err:
        read_landmarks(tmp_path / name)
    assert "\n" not in str(err.value)


def test_bad_writes_leave_nothing(tmp_path, pts3):
    with pytest.raises(InvalidInputError, match=r"expected landmarks of shape"):
        write_landmarks(tmp_path / "x.pts", pts3[:60])
    with pytest.raises(InvalidInputError, match=r"CSV holds 3D points"):
        write_landmarks(tmp_path / "x.csv", pts3[:, :2])
    with pytest.raises(InvalidInputError, match=r"no such landmark file"):
        read_landmarks(tmp_path / "missing.npy")
    assert list(tmp_path.iterdir()) == []
