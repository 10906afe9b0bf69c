"""Shared pytest configuration.

GUI tests need a real OpenGL context: run under Xvfb with Qt's xcb platform (pytest-xvfb starts
one; ``--xvfb-backend xvfb`` makes a missing Xvfb an error instead of a silent skip).
Without any display, GL tests are skipped rather than letting Qt abort the whole run.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("PYTEST_QT_API", "pyside6")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.hookimpl(trylast=True)  # after pytest-xvfb exported DISPLAY
def pytest_configure(config):
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"


def pytest_collection_modifyitems(config, items):
    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        skip = pytest.mark.skip(reason="needs an X server for OpenGL (install xvfb)")
        for item in items:
            if "gl" in item.keywords:
                item.add_marker(skip)
    try:
        import anny  # noqa: F401
    except ImportError:
        skip = pytest.mark.skip(reason="anny not installed (pip install -e '.[data]')")
        for item in items:
            if "anny" in item.keywords:
                item.add_marker(skip)
