"""The core never imports Qt, pyvista or vtk: checked in a fresh interpreter."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("PySide6", "pyvista", "pyvistaqt", "vtk", "vtkmodules", "shiboken6")


def _core_modules():
    return sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in (ROOT / "core").rglob("*.py")
    )


def test_importing_every_core_module_pulls_no_gui_library():
    code = (
        "import importlib, sys\n"
        f"for m in {_core_modules()!r}: importlib.import_module(m)\n"
        f"bad = sorted(k for k in sys.modules if k.split('.')[0] in {FORBIDDEN!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"core imported GUI modules: {out.stdout.strip()}"


@pytest.mark.parametrize("name", FORBIDDEN)
def test_no_core_source_mentions_gui_imports(name):
    for path in (ROOT / "core").rglob("*.py"):
        text = path.read_text()
        assert f"import {name}" not in text and f"from {name}" not in text, path
