"""The pyvistaqt internals app/widgets/gl_view.py relies on (no display needed).

``StudioInteractor._blit`` overrides a private method of pyvistaqt 0.13's
``QVTKRenderWindowInteractor``: it is called from ``paintGL`` with the target framebuffer id and
the widget rectangle, and reads ``self._RenderWindow`` and ``self._gl``. These tests pin that
contract (and the version range of ``pyproject.toml``); ``tests/test_app_window.py`` checks the
two hand-overs give the same pixels.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_pyvistaqt_is_in_the_pinned_range():
    tomllib = pytest.importorskip("tomllib")
    Requirement = pytest.importorskip("packaging.requirements").Requirement
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    req = next(Requirement(d) for d in deps if d.startswith("pyvistaqt"))
    assert req.specifier.contains(version("pyvistaqt")), (version("pyvistaqt"), req)
    assert not req.specifier.contains("0.14.0")  # a new minor must be re-checked first


def test_blit_contract_of_the_overridden_base():
    from pyvistaqt.rwi import QVTKRenderWindowInteractor

    from app.widgets.gl_view import StudioInteractor

    base = QVTKRenderWindowInteractor
    assert "_blit" in base.__dict__
    assert list(inspect.signature(base._blit).parameters) == ["self", "target_id", "rect"]
    assert list(inspect.signature(StudioInteractor._blit).parameters) == [
        "self",
        "target_id",
        "rect",
    ]
    paint = inspect.getsource(base.paintGL)
    assert "self._blit(" in paint  # the hand-over goes through the method we override
    src = inspect.getsource(base)
    for attr in ("self._RenderWindow", "self._gl"):
        assert attr in src, attr  # state the override reads
    blit = inspect.getsource(base._blit)
    assert "BlitDisplayFramebuffer" in blit and "glClear" in blit  # what the fast path replaces
