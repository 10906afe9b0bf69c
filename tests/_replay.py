"""Helpers shared by the replay tests: the ``replay`` command with tiny weights, a byte-for-byte
folder comparison, a studio OBJ export, and a studio session on the tiny models (a fixture;
import it into a test module)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.cli import run_cli
from tests._tiny_models import weight_args

__all__ = ["replay_cli", "same_folders", "studio_export", "tiny_session"]


def replay_cli(manifest: Path, out: Path, weights, capsys) -> tuple[int, str]:
    """(exit status, stderr) of ``main.py replay manifest --out out`` with the tiny
    (Motion3DGAN, S2D-Dec) ``weights``."""
    rc = run_cli(["replay", str(manifest), "--out", str(out), *weight_args(*weights)])
    return rc, capsys.readouterr().err


def same_folders(a: Path, b: Path) -> list[str]:
    """The sorted file names of folder ``a``, after asserting that ``b`` holds the same files
    with the same bytes."""
    names = sorted(p.name for p in a.iterdir())
    assert sorted(p.name for p in b.iterdir()) == names
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    return names


def studio_export(qtbot, s, out: Path) -> dict:
    """Export the studio session ``s``'s motion as OBJ into ``out`` once it is idle (as the
    Export dialog does); returns the manifest written."""
    from app.exporting import ExportController

    qtbot.waitUntil(lambda: s.idle, timeout=30000)
    s.exports = ExportController(s)
    with qtbot.waitSignal(s.exports.finished, timeout=30000):
        assert s.export("obj", str(out))
    return json.loads((out / "manifest.json").read_text())


@pytest.fixture
def tiny_session(qtbot, tiny_weights):
    """(StudioSession, AppsController) on the tiny models, models loaded; shut down after."""
    from app.apps_controller import AppsController
    from app.session import StudioSession
    from core.edit.replay import studio_generator, studio_pipeline

    pipe = studio_pipeline(tiny_weights[1], "cpu")
    s = StudioSession(pipe, studio_generator(pipe, tiny_weights[0]))
    with qtbot.waitSignal(s.models_ready, timeout=30000):
        s.start()
    yield s, AppsController(s)
    s.shutdown()
