"""FXAA on the frames the studio's views hold still (app.widgets.gl_view.StillAntiAliasing):
never on a frame of a drag, a camera turn or playback; on the still frame after them, on
exported video frames and on screenshots; never where MSAA is on. Real mouse events."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from app.widgets.gl_view import STILL_MS, StillAntiAliasing

pytestmark = pytest.mark.gl

MOUTH_CORNER = 48


def _idle(qtbot, s):
    qtbot.waitUntil(lambda: s.idle, timeout=10000)


def _record_fxaa(plotter) -> list[bool]:
    """Whether each render of ``plotter`` from now on draws with FXAA."""
    seen: list[bool] = []
    ren = plotter.renderer
    plotter.render_window.AddObserver("StartEvent", lambda *_: seen.append(bool(ren.GetUseFXAA())))
    return seen


def _grab(plotter) -> np.ndarray:
    from PySide6.QtGui import QImage

    img = plotter.grabFramebuffer().convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    return rows[:, : 3 * img.width()].reshape(img.height(), img.width(), 3).copy()


def test_a_still_view_is_smoothed_and_only_at_edges(studio, qtbot):
    vp = studio.viewport
    vp.reset_camera()  # a change: drawn without FXAA
    assert not vp.still_aa.on and not vp.plotter.renderer.GetUseFXAA()
    plain = _grab(vp.plotter)
    qtbot.waitUntil(lambda: vp.still_aa.on, timeout=10 * STILL_MS)
    assert all(ren.GetUseFXAA() for ren in vp.plotter.renderers)
    smooth = _grab(vp.plotter)
    diff = np.abs(plain.astype(int) - smooth.astype(int)).max(-1)
    changed = diff > 0
    assert 0.0005 < changed.mean() < 0.05  # edges only: skin, landmark dots, caption text
    # where FXAA changed a pixel the plain frame has an edge: a neighbour differs strongly
    g = plain.astype(int).sum(-1)
    edge = np.zeros_like(changed)
    for axis in (0, 1):
        step = np.abs(np.diff(g, axis=axis)) > 30
        pad = [(0, 0), (0, 0)]
        for side in ((1, 0), (0, 1)):
            pad[axis] = side
            edge |= np.pad(step, pad)
    near_edge = edge | np.roll(edge, 1, 0) | np.roll(edge, -1, 0)
    near_edge |= np.roll(near_edge, 1, 1) | np.roll(near_edge, -1, 1)
    assert near_edge[diff > 20].mean() > 0.95


def test_drag_turn_and_playback_frames_are_drawn_without_fxaa(studio, qtbot):
    w, s = studio, studio.session
    vp = w.viewport
    qtbot.waitUntil(lambda: vp.still_aa.on, timeout=10 * STILL_MS)
    seen = _record_fxaa(vp.plotter)
    # a landmark drag with the mouse, pausing longer than STILL_MS with the button held
    start = vp.world_to_widget(s.current_landmarks()[MOUTH_CORNER]).toPoint()
    qtbot.mousePress(vp.plotter, Qt.MouseButton.LeftButton, pos=start)
    for i in range(1, 7):
        qtbot.mouseMove(vp.plotter, start + QPoint(-2 * i, -6 * i))
        qtbot.wait(STILL_MS + 50 if i == 3 else 10)
    _idle(qtbot, s)
    assert s.dragging and seen and not any(seen)
    qtbot.mouseRelease(vp.plotter, Qt.MouseButton.LeftButton, pos=start + QPoint(-12, -36))
    _idle(qtbot, s)
    qtbot.waitUntil(lambda: vp.still_aa.on, timeout=10 * STILL_MS)
    qtbot.waitUntil(lambda: seen[-1], timeout=10 * STILL_MS)  # the still frame after it
    # a camera turn (a drag on the background)
    del seen[:]
    corner = QPoint(30, 30)
    qtbot.mousePress(vp.plotter, Qt.MouseButton.LeftButton, pos=corner)
    for i in range(1, 6):
        qtbot.mouseMove(vp.plotter, corner + QPoint(12 * i, 0))
    qtbot.mouseRelease(vp.plotter, Qt.MouseButton.LeftButton, pos=corner + QPoint(60, 0))
    assert len(seen) >= 3 and not any(seen)
    qtbot.waitUntil(lambda: vp.still_aa.on, timeout=10 * STILL_MS)
    # playback
    s.generate("high_smile", 3)
    qtbot.waitUntil(lambda: s.source.kind == "generate", timeout=10000)
    _idle(qtbot, s)
    del seen[:]
    s.play()
    qtbot.waitUntil(lambda: len(seen) >= 8, timeout=10000)
    assert s.playback.playing and not any(seen) and not vp.still_aa.on
    s.pause()
    qtbot.waitUntil(lambda: vp.still_aa.on, timeout=10 * STILL_MS)


def test_exported_frames_and_screenshots_are_smoothed_at_once(studio, qtbot):
    vp = studio.viewport
    vp.reset_camera()
    assert not vp.still_aa.on
    seen = _record_fxaa(vp.plotter)
    img = vp.render_frame(0)
    assert img.ndim == 3 and seen and all(seen)
    vp.reset_camera()
    vp.hold_still()  # what app.screenshots calls before grabbing the window
    assert vp.still_aa.on


def test_nothing_changes_where_msaa_is_on(studio, qtbot):
    vp = studio.viewport
    assert vp.still_aa.enabled  # the fixture's window has no MSAA (multi_samples=0)
    vp.hold_still()
    assert vp.still_aa.on
    vp.still_aa.enabled = False  # as a window with MSAA makes it
    assert not any(ren.GetUseFXAA() for ren in vp.plotter.renderers)
    vp.hold_still()
    vp.reset_camera()
    qtbot.wait(2 * STILL_MS)
    assert not vp.still_aa.on
    assert not any(ren.GetUseFXAA() for ren in vp.plotter.renderers)
    assert not StillAntiAliasing(vp.plotter, enabled=False).enabled
