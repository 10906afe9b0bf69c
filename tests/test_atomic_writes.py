"""The one atomic writer (core.io.atomic): exact names for .npz, nothing left behind on failure."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import ExportError
from core.io.atomic import atomic_savez

NAMES = ("out.npz", "out.NPZ", "out", "out.npy")


@pytest.mark.parametrize("name", NAMES)
def test_atomic_savez_writes_exactly_the_named_file(tmp_path, name):
    a = np.arange(12, dtype=np.float32).reshape(4, 3)
    atomic_savez(tmp_path / name, {"vertices": a})
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no .npz appended, no temp
    assert (tmp_path / name).stat().st_size > 0
    with np.load(tmp_path / name, allow_pickle=False) as d:
        np.testing.assert_array_equal(d["vertices"], a)


def test_atomic_savez_compressed_round_trip_and_replaces(tmp_path):
    dest = tmp_path / "x.npz"
    atomic_savez(dest, {"a": np.zeros(3)})
    atomic_savez(dest, {"b": np.ones(1000)}, compressed=True)
    with np.load(dest) as d:
        assert d.files == ["b"] and d["b"].sum() == 1000
    assert [p.name for p in tmp_path.iterdir()] == ["x.npz"]


def test_atomic_savez_failure_leaves_nothing(tmp_path):
    with pytest.raises(ExportError, match="does not exist"):
        atomic_savez(tmp_path / "missing" / "x.npz", {"a": np.zeros(3)})
    with pytest.raises(ExportError, match="Object arrays"):  # no pickles
        atomic_savez(tmp_path / "x.npz", {"a": np.array([object()], dtype=object)})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", NAMES)
def test_decode_output_name_is_written_as_given(tmp_path, name, monkeypatch):
    """``decode --output NAME`` (issue 15 item 1): the npz lands at NAME, never as 0 bytes."""
    from core.cli import run_cli
    from core.pipeline import S2DPipeline

    class _Pipe:
        def decode(self, neutral, landmarks):
            return np.asarray(neutral, np.float32) + 1

    monkeypatch.setattr(S2DPipeline, "load", classmethod(lambda cls, *a, **k: _Pipe()))
    neutral = np.zeros((2, 5, 3), np.float32)
    np.savez(tmp_path / "in.npz", neutral=neutral, landmarks=np.zeros((2, 68, 3)))
    out = tmp_path / "o" / name
    out.parent.mkdir()
    assert run_cli(["decode", "--input", str(tmp_path / "in.npz"), "--output", str(out)]) == 0
    assert [p.name for p in out.parent.iterdir()] == [name]
    with np.load(out, allow_pickle=False) as d:
        np.testing.assert_array_equal(d["vertices"], neutral + 1)


def test_check_destination_refuses_before_any_work(tmp_path):
    from core.io.atomic import check_destination

    (tmp_path / "clip.glb").write_bytes(b"x")
    (tmp_path / "seq").mkdir()
    assert check_destination(tmp_path / "new.glb") == tmp_path / "new.glb"
    assert check_destination(tmp_path / "clip.glb", overwrite=True) == tmp_path / "clip.glb"
    with pytest.raises(ExportError, match="already exists; choose another name or allow"):
        check_destination(tmp_path / "clip.glb")
    with pytest.raises(ExportError, match="a folder with that name already exists"):
        check_destination(tmp_path / "seq", overwrite=True)
    with pytest.raises(ExportError, match="does not exist"):
        check_destination(tmp_path / "missing" / "x", folder=True)
    with pytest.raises(ExportError, match="Choose where to export"):
        check_destination("  ")


def test_prepare_output_dir_creates_checks_clashes_and_cleans_up(tmp_path):
    from core.io.atomic import prepare_output_dir

    out, created = prepare_output_dir(tmp_path / "out", ["a", "b"], overwrite=False)
    assert created and out.is_dir()
    (out / "a").mkdir()
    with pytest.raises(ExportError, match="already holds a; pass --overwrite"):
        prepare_output_dir(out, ["a", "b"], overwrite=False)
    assert prepare_output_dir(out, ["a"], overwrite=True) == (out, False)
    (tmp_path / "f").write_text("x")
    with pytest.raises(ExportError, match="it is a file, not a folder"):
        prepare_output_dir(tmp_path / "f", ["a"], overwrite=False)
    with pytest.raises(ExportError, match="does not exist"):
        prepare_output_dir(tmp_path / "no" / "out", ["a"], overwrite=False)
    assert not (tmp_path / "no").exists()
