"""Start-up of the studio: pyvista is imported without matplotlib.pyplot (app.main.defer_pyplot),
and pyplot is complete as soon as something uses it. In a fresh interpreter: the test process
has imported pyplot long ago."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import sys
from app.main import defer_pyplot
defer_pyplot()
defer_pyplot()  # twice: harmless
import pyvista.plotting
import PySide6.QtWidgets  # shiboken reads __file__ of every module: must not load pyplot
assert 'matplotlib.figure' not in sys.modules, 'pyplot was imported with pyvista'
assert pyvista.plotting.colors.plt.__file__.endswith('pyplot.py')
print(len(pyvista.plotting.colors.get_matplotlib_theme_cycler()))  # reads plt.rcParams
assert 'matplotlib.figure' in sys.modules
import matplotlib
import matplotlib.pyplot as plt
from matplotlib.pyplot import subplots
assert subplots is plt.subplots and matplotlib.pyplot.figure is plt.figure
assert type(sys.modules['matplotlib.pyplot']).__name__ == 'module'
print('ok')
"""


def _fresh_python(script: str, timeout: float = 120, **env: str) -> list[str]:
    """The words ``script`` prints in a fresh interpreter (the project on its path, ``env``
    added); it must exit 0."""
    run = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.split()


def test_pyvista_imports_without_pyplot_until_it_is_used():
    assert _fresh_python(SCRIPT, MPLBACKEND="Agg", QT_API="pyside6") == ["10", "ok"]


LOADS = """
import sys
from core.generate import MotionGenerator
gen = MotionGenerator.load(device="cpu")
gen.pipeline  # the decoder too
heavy = sorted(m for m in ("torch._dynamo", "sympy") if m in sys.modules)
print(" ".join(heavy) or "none")
"""


def test_loading_the_models_imports_no_dynamo_or_sympy():
    """The loaders build each model on the meta device first (a shape check); an op there that
    has no C++ meta kernel runs torch's Python refs, which import dynamo and sympy: ~2 s of
    every start (studio worker, generate)."""
    assert _fresh_python(LOADS, timeout=300) == ["none"]


WINDOW = """
import sys
import app.main_window  # everything the window needs before it is shown
print(" ".join(m for m in ("torch", "core.pipeline") if m in sys.modules) or "none")
"""


def test_the_window_modules_do_not_import_torch():
    """torch (~1.5 s) is imported by the worker while the window is already on screen; an
    import of core.pipeline at module level in app/ made the window appear 1.4 s later."""
    assert _fresh_python(WINDOW, QT_QPA_PLATFORM="offscreen") == ["none"]
