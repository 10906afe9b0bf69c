"""Small things a user meets first, driven through the real window with real events."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.errors import plain_text, user_message
from app.main import display_problem
from core.io.mesh_io import save_mesh

ROOT = Path(__file__).resolve().parents[1]


def idle(qtbot, s, timeout=10000):
    qtbot.waitUntil(lambda: s.idle, timeout=timeout)


def generate(qtbot, w, label="surprised", seed=0):
    s = w.session
    s.generate(label, seed)
    qtbot.waitUntil(
        lambda: s.source.kind == "generate" and s.source.label == label and s.source.seed == seed,
        timeout=10000,
    )
    idle(qtbot, s)


# ------------------------------------------------------------------------------- no window
def test_error_texts_are_plain():
    assert "[Errno" not in user_message(PermissionError(13, "Permission denied", "/x/f.obj"))
    assert "Permission denied: /x/f.obj" in user_message(
        PermissionError(13, "Permission denied", "/x/f.obj")
    )
    text = plain_text(ValueError(b"\x89PNG\r\n\x1a"))
    assert "b'" not in text and "\\x" not in text and "\\r" not in text
    msg = user_message(RuntimeError("bad ((thing)) [[x]]."))
    assert "((" not in msg and "[[" not in msg and ".." not in msg


def test_no_display_says_how_to_run_it():
    assert display_problem({}, "linux") is not None
    assert display_problem({"DISPLAY": ":0"}, "linux") is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    assert display_problem({}, "darwin") is None
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    env["PYTHONPATH"] = str(ROOT)
    run = subprocess.run(
        [sys.executable, str(ROOT / "main.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert "needs a display" in run.stderr and "xvfb-run" in run.stderr
    assert "xcb" not in run.stderr


# ---------------------------------------------------------------------------------- window
@pytest.mark.gl
def test_first_generate_shows_the_apex_not_the_neutral(studio, qtbot):
    w, s = studio, studio.session
    assert s.n_motion_frames == 1
    qtbot.mouseClick(w.generate_panel.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.source.kind == "generate", timeout=10000)
    idle(qtbot, s)
    lm = s.snapshot.base.landmarks
    disp = np.linalg.norm(lm - lm[:1], axis=-1).mean(-1)
    assert s.frame == int(np.argmax(disp)) and s.frame > 0


@pytest.mark.gl
def test_edit_this_seed_switches_to_the_editor(studio, qtbot):
    w, s = studio, studio.session
    w.tabs.setCurrentWidget(w.compare_grid)
    grid = w.compare_grid
    qtbot.mouseClick(grid.show_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: grid.plotter is not None and len(grid.faces) == 4, timeout=15000)
    idle(qtbot, s)
    assert w.sculpt_panel.name.text() == "no landmark selected"
    assert "–" in w.sculpt_panel.readout.text()  # the readout is blank on the Compare tab
    qtbot.mouseClick(grid.edit_button, Qt.MouseButton.LeftButton)
    assert w.tabs.currentWidget() is w.viewport
    qtbot.waitUntil(lambda: s.source.kind == "generate", timeout=10000)


@pytest.mark.gl
def test_default_face_keeps_the_generated_motion(studio, qtbot, tmp_path):
    w, s = studio, studio.session
    generate(qtbot, w, "happy", 2)
    face = s.template
    path = tmp_path / "wide.obj"
    save_mesh(path, face.vertices * [1.05, 1.0, 1.0], face.faces)
    s.open_face(str(path))
    qtbot.waitUntil(lambda: s.face.path is not None, timeout=10000)
    idle(qtbot, s)
    action = next(a for a in w.menuBar().actions() if a.text() == "&File").menu().actions()
    next(a for a in action if a.text() == "&Default face").trigger()
    qtbot.waitUntil(lambda: s.face.path is None, timeout=10000)
    idle(qtbot, s)
    assert s.source.kind == "generate" and (s.source.label, s.source.seed) == ("happy", 2)
    assert s.n_motion_frames == 30


@pytest.mark.gl
def test_selecting_a_landmark_does_not_move_the_layout(studio, qtbot):
    w, s = studio, studio.session
    generate(qtbot, w)
    dock, vp = w.docks["sculpt"], w.viewport
    before = (dock.geometry(), vp.geometry())
    pos = vp.world_to_widget(s.current_landmarks()[48]).toPoint()
    qtbot.mouseClick(vp.plotter, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: s.selected == 48, timeout=5000)
    qtbot.wait(100)
    assert "mouth" in w.sculpt_panel.name.text()
    assert (dock.geometry(), vp.geometry()) == before


@pytest.mark.gl
def test_interpolation_caption_uses_tau_and_arrow_on_two_lines(studio, qtbot):
    w, s = studio, studio.session
    s.set_interp_end("A", "happy", 1)
    s.set_interp_end("B", "surprised", 2)
    idle(qtbot, s)
    s.set_tau(0.5)
    s.commit_interpolation()
    qtbot.waitUntil(lambda: s.source.kind == "interpolate", timeout=10000)
    idle(qtbot, s)
    text = w.viewport._caption_text
    first, second = text.split("\n")
    assert "→" in first and second.startswith("τ = 0.50")


@pytest.mark.gl
def test_export_dialog_opens_fresh(studio, qtbot, tmp_path):
    w = studio
    generate(qtbot, w)
    dlg = w.show_export()
    dlg.path.setText(str(tmp_path / "seq"))
    qtbot.mouseClick(dlg.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Exported" in dlg.message.text(), timeout=20000)
    assert dlg.progress.value() == dlg.progress.maximum() > 0
    qtbot.mouseClick(dlg.close_button, Qt.MouseButton.LeftButton)
    dlg = w.show_export()
    assert "Exported" not in dlg.message.text() and dlg.progress.value() == 0


@pytest.mark.gl
def test_shortcut_rows_are_aligned(studio, qtbot):
    box = studio.show_shortcuts()
    from app.main_window import SHORTCUTS

    lines = box.text().split("\n")
    assert all(line.endswith(v) for line, (_k, v) in zip(lines, SHORTCUTS, strict=True))
    columns = {len(line) - len(v) for line, (_k, v) in zip(lines, SHORTCUTS, strict=True)}
    assert len(columns) == 1
    box.close()
