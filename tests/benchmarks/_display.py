"""Shared by the GUI benchmarks: re-run a benchmark script under ``xvfb-run`` when there is no
display (the child is marked with ``S2D_BENCH_CHILD`` so it does not re-run itself again)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def ensure_display(script: str | Path, argv: list[str]) -> None:
    """Return when a display is there; otherwise replace this process with ``xvfb-run`` running
    ``script`` with ``argv`` on a 1920x1200 screen (exit with a message without xvfb-run)."""
    if os.environ.get("DISPLAY") or os.environ.get("S2D_BENCH_CHILD"):
        return
    xvfb = shutil.which("xvfb-run")
    if xvfb is None:
        sys.exit("no DISPLAY and no xvfb-run: install xvfb (see README) or run under a display")
    os.environ["S2D_BENCH_CHILD"] = "1"
    args = [xvfb, "-a", "-s", "-screen 0 1920x1200x24", sys.executable]
    os.execv(xvfb, [*args, str(Path(script).resolve()), *argv])
