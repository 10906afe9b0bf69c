"""core.io.datasets on tiny made-up CoMA and generic datasets (natural order, laziness, errors)."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from core.errors import DatasetError
from core.io.datasets import (
    iter_coma,
    iter_generic,
    load_coma,
    load_generic,
    load_sequence,
    natural_key,
    scan_coma,
)
from core.io.mesh_io import save_mesh

N_V = 10
FACES = np.array([[0, 1, 2], [1, 3, 2], [2, 3, 4], [4, 5, 6], [5, 7, 6], [6, 7, 8], [7, 9, 8]])
SUBJECTS = ["FaceTalk_170725_00137_TA", "FaceTalk_170904_00128_TA"]
EXPRESSIONS = ["bareteeth", "mouth_up"]
FRAME_NUMBERS = [1, 2, 10]  # lexicographic order would be 1, 10, 2


def _frame(subject: int, expression: int, number: int) -> np.ndarray:
    """A (10, 3) float32 frame whose values encode where it came from."""
    base = np.arange(N_V * 3, dtype=np.float32).reshape(N_V, 3) / 100
    return base + np.float32(subject + 10 * expression + 0.001 * number)


@pytest.fixture
def coma_root(tmp_path):
    """2 subjects x 2 expressions x 3 frames, written in shuffled order."""
    root = tmp_path / "COMA"
    jobs = [(s, e, n) for s in range(2) for e in range(2) for n in FRAME_NUMBERS]
    random.Random(3).shuffle(jobs)
    for s, e, n in jobs:
        folder = root / SUBJECTS[s] / EXPRESSIONS[e]
        folder.mkdir(parents=True, exist_ok=True)
        save_mesh(folder / f"{EXPRESSIONS[e]}.{n}.ply", _frame(s, e, n), FACES)
    (root / "README.txt").write_text("not a subject")
    (root / "other_folder").mkdir()
    return root


def test_natural_key_orders_numbers_by_value():
    names = ["f10.ply", "f2.ply", "F1.ply", "bareteeth.000010.ply", "bareteeth.000009.ply"]
    assert sorted(names, key=natural_key) == [
        "bareteeth.000009.ply",
        "bareteeth.000010.ply",
        "F1.ply",
        "f2.ply",
        "f10.ply",
    ]


def test_load_coma_sorts_subjects_expressions_and_frames(coma_root):
    sequences = load_coma(coma_root)
    assert [(q.subject, q.expression) for q in sequences] == [
        (s, e) for s in SUBJECTS for e in EXPRESSIONS
    ]
    for q in sequences:
        s, e = SUBJECTS.index(q.subject), EXPRESSIONS.index(q.expression)
        assert q.frames.shape == (3, N_V, 3) and q.frames.dtype == np.float32
        expected = np.stack([_frame(s, e, n) for n in FRAME_NUMBERS])
        np.testing.assert_array_equal(q.frames, expected)
        assert [p.name for p in q.paths] == [f"{q.expression}.{n}.ply" for n in FRAME_NUMBERS]
        np.testing.assert_array_equal(q.faces, FACES)
        assert q.faces is sequences[0].faces  # one shared topology array
        assert q.name == f"{q.subject}/{q.expression}" and q.n_frames == 3 and q.n_vertices == N_V


def test_load_coma_selection(coma_root):
    picked = load_coma(coma_root, subjects=[SUBJECTS[1]], expressions=["mouth_up"])
    assert [(q.subject, q.expression) for q in picked] == [(SUBJECTS[1], "mouth_up")]
    with pytest.raises(
        DatasetError, match=r"\['FaceTalk_nobody'\] to exist, found only: FaceTalk_170725"
    ):
        load_coma(coma_root, subjects=["FaceTalk_nobody"])
    with pytest.raises(DatasetError, match=r"expression folders \['smile'\]"):
        load_coma(coma_root, expressions=["smile"])


def test_iter_coma_is_lazy(coma_root):
    last = coma_root / SUBJECTS[1] / "mouth_up" / "mouth_up.2.ply"
    refs = scan_coma(coma_root)
    assert len(refs) == 4 and refs[-1].paths[1] == last
    iterator = iter_coma(coma_root)
    first = next(iterator)  # only the first sequence is read
    assert first.expression == "bareteeth"
    last.write_bytes(b"ply\nbroken")  # damage a later sequence after scanning
    assert next(iterator).expression == "mouth_up"
    assert next(iterator).subject == SUBJECTS[1]
    with pytest.raises(
        DatasetError, match=r"cannot read frame mouth_up\.2\.ply of FaceTalk_170904"
    ):
        next(iterator)
    seq = load_sequence(refs[0])
    np.testing.assert_array_equal(seq.frames, first.frames)


def test_coma_layout_errors(tmp_path, coma_root):
    with pytest.raises(DatasetError, match="does not exist; choose the folder that contains"):
        load_coma(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="found an empty folder"):
        load_coma(tmp_path / "empty")
    with pytest.raises(DatasetError, match="looks like one subject's folder"):
        load_coma(coma_root / SUBJECTS[0])
    (coma_root / SUBJECTS[0] / "eyebrow").mkdir()
    (coma_root / SUBJECTS[0] / "eyebrow" / "notes.txt").write_text("no frames")
    with pytest.raises(
        DatasetError, match=r"eyebrow: expected the frames of one expression as \.ply"
    ):
        load_coma(coma_root)


def test_coma_unreadable_frame_is_named(coma_root):
    bad = coma_root / SUBJECTS[0] / "bareteeth" / "bareteeth.10.ply"
    bad.write_bytes(np.random.default_rng(0).bytes(300))
    with pytest.raises(DatasetError) as info:
        load_coma(coma_root)
    assert "bareteeth.10.ply" in str(info.value) and "fix or remove that file" in str(info.value)


def test_coma_topology_mismatch_within_and_across_sequences(coma_root):
    first = coma_root / SUBJECTS[0] / "bareteeth" / "bareteeth.2.ply"
    good = first.read_bytes()
    save_mesh(first, _frame(0, 0, 2)[:9], FACES[:5])
    with pytest.raises(
        DatasetError,
        match=r"bareteeth\.2\.ply .* has 9 vertices .* its first frame \(bareteeth\.1\.ply\)",
    ):
        load_coma(coma_root)
    first.write_bytes(good)
    folder = coma_root / SUBJECTS[0] / "mouth_up"
    # a whole sequence of another topology (same counts, different triangles)
    for n in FRAME_NUMBERS:
        save_mesh(folder / f"mouth_up.{n}.ply", _frame(0, 1, n), FACES[:, [0, 2, 1]])
    with pytest.raises(
        DatasetError,
        match=r"mouth_up\.1\.ply .* but the first sequence \(FaceTalk_170725_00137_TA/bareteeth, "
        r"bareteeth\.1\.ply\) .* \(same counts, different triangles\)",
    ):
        load_coma(coma_root)


# ------------------------------------------------------------------------------------ generic
@pytest.fixture
def generic_root(tmp_path):
    root = tmp_path / "mydata"
    uv = np.random.default_rng(0).random((N_V, 2))
    root.mkdir()
    save_mesh(root / "template.obj", _frame(0, 0, 0), FACES, uv, FACES)
    (root / "landmarks.json").write_text(json.dumps({"indices": [0, 4, 9]}))
    for name, ext in [("talk", ".obj"), ("smile", ".ply")]:
        folder = root / "sequences" / name
        folder.mkdir(parents=True)
        for n in [10, 1, 2]:
            save_mesh(folder / f"f{n}{ext}", _frame(1, 0, n), FACES)
    return root


def test_load_generic(generic_root):
    data = load_generic(generic_root)
    assert data.template.n_vertices == N_V and data.template.uv is not None
    assert data.landmarks.kind == "indices"
    np.testing.assert_array_equal(data.landmarks.indices, [0, 4, 9])
    assert [q.expression for q in data.sequences] == ["smile", "talk"]
    assert all(q.subject == "mydata" for q in data.sequences)
    talk = data.sequences[1]
    assert [p.name for p in talk.paths] == ["f1.obj", "f2.obj", "f10.obj"]
    expected = np.stack([_frame(1, 0, n) for n in [1, 2, 10]])
    np.testing.assert_allclose(talk.frames, expected, atol=1e-6)
    np.testing.assert_array_equal(data.sequences[0].frames, expected)  # PLY: exact
    assert talk.faces is data.template.faces
    lm = data.landmarks.positions(talk.frames, talk.faces)
    assert lm.shape == (3, 3, 3)
    np.testing.assert_array_equal(lm, talk.frames[:, [0, 4, 9]])
    # lazy variants
    only = load_generic(generic_root, load_sequences=False)
    assert only.sequences == () and [r.expression for r in only.refs] == ["smile", "talk"]
    assert [q.expression for q in iter_generic(generic_root)] == ["smile", "talk"]


def test_generic_barycentric_landmarks(generic_root):
    spec = {"barycentric": {"faces": [0, 6], "coords": [[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]]}}
    (generic_root / "landmarks.json").write_text(json.dumps(spec))
    data = load_generic(generic_root, load_sequences=False)
    assert data.landmarks.kind == "barycentric" and data.landmarks.n_landmarks == 2
    v = data.template.vertices
    got = data.landmarks.positions(v, data.template.faces)
    np.testing.assert_allclose(got[0], 0.2 * v[0] + 0.3 * v[1] + 0.5 * v[2])
    np.testing.assert_allclose(got[1], v[7])


@pytest.mark.parametrize(
    ("landmarks", "pattern"),
    [
        ({"indices": [0, 10]}, r"must lie in 0\.\.9 \(the template has 10 vertices\)"),
        ({"indices": [0.5]}, "non-empty list of integers"),
        ({"indices": [0], "barycentric": {}}, "exactly one of 'indices' or 'barycentric'"),
        ({"barycentric": {"faces": [0], "coords": [[0.5, 0.2, 0.2]]}}, "summing to 1, found 0.9"),
        (
            {"barycentric": {"faces": [7], "coords": [[1, 0, 0]]}},
            r"0\.\.6 \(the template has 7 faces\)",
        ),
        ({"barycentric": {"faces": [0, 1], "coords": [[1, 0, 0]]}}, r"shape \(2, 3\)"),
        ("not json", "not readable JSON"),
    ],
)
def test_generic_bad_landmarks(generic_root, landmarks, pattern):
    text = landmarks if isinstance(landmarks, str) else json.dumps(landmarks)
    (generic_root / "landmarks.json").write_text(text)
    with pytest.raises(DatasetError, match=pattern):
        load_generic(generic_root)


def test_generic_layout_errors(generic_root):
    bad = generic_root / "sequences" / "talk" / "f2.obj"
    save_mesh(bad, _frame(0, 0, 2)[:8], FACES[:3])
    with pytest.raises(
        DatasetError,
        match=r"frame f2\.obj of mydata/talk has 8 vertices .* the dataset template has 10",
    ):
        load_generic(generic_root)
    (generic_root / "landmarks.json").unlink()
    with pytest.raises(DatasetError, match="landmarks.json does not exist"):
        load_generic(generic_root)
    (generic_root / "template.obj").unlink()
    with pytest.raises(DatasetError, match="expected template.obj or template.ply, found neither"):
        load_generic(generic_root)


def test_generic_missing_or_empty_sequences(generic_root):
    import shutil

    shutil.rmtree(generic_root / "sequences")
    with pytest.raises(DatasetError, match="sequences folder .* does not exist"):
        load_generic(generic_root)
    (generic_root / "sequences" / "empty").mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"empty: expected the frames of one sequence"):
        load_generic(generic_root)
