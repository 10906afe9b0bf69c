"""app.qt_compat: the PySide6 reference leak it works around, reproduced, and its version range.

The probe runs in fresh interpreters that never import ``app`` (whose import applies the
workaround), so it sees the installed PySide6 as it is.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import sys
from PySide6.QtCore import QObject, Signal
import PySide6

class P(QObject):
    sig = Signal()

p = P()
before = sys.getrefcount(None), sys.getrefcount(True)
for _ in range(100):
    p.setObjectName("probe")  # a void method: returns None
    p.sig.emit()  # returns True
after = sys.getrefcount(None), sys.getrefcount(True)
print(PySide6.__version__, after[0] - before[0], after[1] - before[1])
sys.stdout.flush()
import os
os._exit(0)  # a leaking build would abort in bool_dealloc at shutdown
"""


def _run(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None/True are immortal on 3.12+")
def test_the_leak_is_reproduced_exactly_inside_the_bounded_range():
    from app.qt_compat import affected

    version, d_none, d_true = _run(PROBE).split()
    leaks = int(d_none) < 0 or int(d_true) < 0
    assert leaks == affected(version), (
        f"PySide6 {version}: leak {leaks} (None {d_none}, True {d_true}) but AFFECTED says "
        f"{affected(version)}; update app.qt_compat.AFFECTED and the pin in pyproject.toml"
    )
    if leaks:  # about one reference lost per call, as the module docstring says
        assert -102 <= int(d_none) <= -100 and -102 <= int(d_true) <= -100


def test_importing_app_makes_the_singletons_safe_only_when_needed():
    code = (
        "import sys, app\nfrom app.qt_compat import IMMORTAL_BOOST, affected\n"
        "print(affected(), sys.getrefcount(None) > IMMORTAL_BOOST)\n"
    )
    need, boosted = _run(code).split()
    assert boosted == ("True" if need == "True" and sys.version_info < (3, 12) else "False")
    # and a long run of leaking calls no longer aborts the interpreter
    _run(
        "import app\n"
        + PROBE.replace("range(100)", "range(20000)").replace("os._exit(0)", "sys.exit(0)")
    )


def test_version_bounds():
    from app.qt_compat import AFFECTED, affected

    assert AFFECTED == ((6, 12, 0), (6, 13, 0))
    assert affected("6.12.0") and affected("6.12.3")
    assert not affected("6.11.2") and not affected("6.13.0") and not affected("6.9.3")


def test_pyproject_pins_pyside6_to_the_tested_range_and_the_installed_version_fits():
    from importlib.metadata import version

    tomllib = pytest.importorskip("tomllib")
    Requirement = pytest.importorskip("packaging.requirements").Requirement

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    req = next(Requirement(d) for d in deps if d.startswith("PySide6-Essentials"))
    assert str(req.specifier) in (">=6.11.2,<6.13", "<6.13,>=6.11.2")
    assert req.specifier.contains(version("PySide6-Essentials"))
