"""``core``'s public API: lazy (``import core`` loads no torch) and complete (README's names)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_import_core_loads_no_torch_and_no_numpy_heavy_module():
    got = _run(
        "import sys, core\nprint(sorted(m for m in ('torch', 'scipy', 'core.pipeline') "
        "if m in sys.modules))"
    )
    assert got == "[]"


def test_the_public_names_resolve_to_their_modules():
    import core

    for name in core.__all__:
        obj = getattr(core, name)
        assert obj is not None, name
    from core.generate import MotionGenerator
    from core.io.mesh_io import load_mesh
    from core.pipeline import S2DPipeline

    assert core.S2DPipeline is S2DPipeline and core.MotionGenerator is MotionGenerator
    assert core.load_mesh is load_mesh
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        core.nope  # noqa: B018


def test_readme_api_names_are_exported():
    import core

    readme = (ROOT / "README.md").read_text()
    for name in ("S2DPipeline", "MotionGenerator"):
        assert name in readme and name in core.__all__
