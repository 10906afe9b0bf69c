"""kill -9 during a multi-seed export, then ``--resume``: nothing lost, nothing half-done.

The CLI runs in a subprocess and is killed (SIGKILL, no clean-up code runs) while a sequence's
hidden temporary folder is being written, at two points of the batch. Each rerun must remove the
stale temporaries of the killed run (and say so), skip the sequences recorded complete and end
with exactly the files of an uninterrupted run, byte for byte.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from core.cli import run_cli
from tests._tiny_models import tiny_weights, weight_args  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ["0", "1", "2", "3"]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")


def _args(out: Path, weights, *extra) -> list[str]:
    gan, dec = weights
    return [
        sys.executable,
        "main.py",
        "generate",
        "--label",
        "happy",
        "--seeds",
        *SEEDS,
        "--out",
        str(out),
        "--format",
        "obj",
        *weight_args(gan, dec),
        "--device",
        "cpu",
        *extra,
    ]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def _kill_while_writing(out: Path, weights, seed: int, *extra) -> None:
    """Start the export and SIGKILL it once the temporary folder of ``seed`` (or, if that one
    was too quick to be seen, of a later seed) exists."""
    proc = subprocess.Popen(
        _args(out, weights, *extra),
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    prefixes = tuple(f".happy_seed{s}.tmp-" for s in range(seed, len(SEEDS)))
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if out.is_dir() and any(n.startswith(prefixes) for n in os.listdir(out)):
                break
            if proc.poll() is not None:
                pytest.fail(
                    f"the export ended before seed {seed} was written: "
                    f"{proc.stderr.read().decode()}"
                )
            time.sleep(0.002)
        else:
            pytest.fail(f"no temporary folder of seed {seed} appeared")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


def _tree(folder: Path) -> dict[str, bytes]:
    """Every visible file under ``folder`` (relative path -> bytes); hidden names excluded."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and p.name != "batch.json"
    }


def _hidden(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.startswith(".") and n != ".batch.lock")


def test_kill_during_export_then_resume_gives_the_uninterrupted_result(
    tmp_path,
    tiny_weights,  # noqa: F811
    capsys,
):
    ref = tmp_path / "ref"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the subprocesses (OMP_NUM_THREADS=1): identical float results
    try:
        assert run_cli(_args(ref, tiny_weights)[2:]) == 0
    finally:
        torch.set_num_threads(threads)
    capsys.readouterr()
    out = tmp_path / "out"

    _kill_while_writing(out, tiny_weights, 0)  # killed inside the first sequence
    assert any(n.startswith(".happy_seed") for n in _hidden(out))  # what kill -9 leaves
    _kill_while_writing(out, tiny_weights, 2, "--resume")  # killed inside the third
    record = json.loads((out / "batch.json").read_text())["sequences"]
    done = [record[f"happy_seed{s}"]["complete"] for s in SEEDS]
    n_done = sum(done)
    assert 2 <= n_done < 4 and done == [True] * n_done + [False] * (4 - n_done)

    torch.set_num_threads(1)
    try:
        rc = run_cli(_args(out, tiny_weights, "--resume")[2:])
    finally:
        torch.set_num_threads(threads)
    said = capsys.readouterr().out
    assert rc == 0
    assert "removed 1 stale temporary" in said  # said, not silent
    assert f"resuming: {n_done} of 4 sequence(s) already complete" in said
    assert said.count("] wrote ") == 4 - n_done  # only the missing ones were redone
    assert _hidden(out) == []
    assert _tree(out) == _tree(ref)  # byte-identical to the uninterrupted run
    record = json.loads((out / "batch.json").read_text())["sequences"]
    assert all(record[f"happy_seed{s}"]["complete"] for s in SEEDS)


def test_resume_redoes_a_sequence_whose_record_was_not_written(
    tmp_path,
    tiny_weights,  # noqa: F811
    capsys,
):
    out = tmp_path / "out"
    args = _args(out, tiny_weights, "--format", "npz")[2:]
    assert run_cli(args) == 0
    # a kill between the rename of seed 3 and its record: the folder exists, not recorded
    path = out / "batch.json"
    data = json.loads(path.read_text())
    data["sequences"]["happy_seed3"]["complete"] = False
    path.write_text(json.dumps(data))
    (out / ".happy_seed1.tmp-0123abcd").mkdir()  # a stale temporary of another run
    capsys.readouterr()
    assert run_cli([*args, "--resume"]) == 0
    said = capsys.readouterr().out
    assert "resuming: 3 of 4" in said and "[1/1] wrote" in said
    assert "removed 1 stale temporary" in said and _hidden(out) == []
    # without --resume finished sequences are never overwritten silently
    assert run_cli(args) == 2 and "--resume" in capsys.readouterr().err
    # another request (other frame count) does not resume from this record
    assert run_cli([*args, "--resume", "--frames", "12"]) == 2
    assert "not made by this request" in capsys.readouterr().err


def test_a_second_export_into_the_same_folder_is_refused_while_one_runs(
    tmp_path,
    tiny_weights,  # noqa: F811
    capsys,
):
    import fcntl

    out = tmp_path / "out"
    out.mkdir()
    fd = os.open(out / ".batch.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        (out / ".happy_seed0.tmp-89abcdef").mkdir()
        assert run_cli(_args(out, tiny_weights, "--format", "npz")[2:]) == 2
        assert "another export is writing" in capsys.readouterr().err
        assert (out / ".happy_seed0.tmp-89abcdef").is_dir()  # never removed under its owner
    finally:
        os.close(fd)
