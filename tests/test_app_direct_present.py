"""Frames presented through a child window (app.widgets.direct_present), under Xvfb.

What reaches the X server's screen is read back with ``QScreen.grabWindow(0, ...)`` (the
root window, children included) and compared with what the interactor's own framebuffer
holds (``grabFramebuffer``, Qt's path): they must be equal pixel for pixel, before and after a
resize; real X input events (XTEST) must still reach the interactor under the window.
"""

from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np
import pytest

pytest.importorskip("pytestqt")
pv = pytest.importorskip("pyvista")

from PySide6.QtCore import QEvent, QObject, Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication  # noqa: E402
from PySide6.QtWidgets import QVBoxLayout, QWidget  # noqa: E402

from app.widgets.gl_view import StudioInteractor, opaque_background  # noqa: E402


def _rgb(image) -> np.ndarray:
    img = image.convertToFormat(image.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    raw = np.frombuffer(img.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)
    return raw[:, : 3 * w].reshape(h, w, 3).copy()


def _on_screen(widget) -> np.ndarray:
    g = widget.mapToGlobal(widget.rect().topLeft())
    screen = QGuiApplication.primaryScreen()
    return _rgb(screen.grabWindow(0, g.x(), g.y(), widget.width(), widget.height()).toImage())


def _shown_view(qtbot, size: tuple[int, int], background: str | None = None):
    """(top widget, interactor): a white sphere in a StudioInteractor with the direct present
    asked for, shown at ``size`` and exposed."""
    top = QWidget()
    layout = QVBoxLayout(top)
    p = StudioInteractor(top, auto_update=False, multi_samples=0)
    p.enable_direct_present()  # a native window, presented directly
    layout.addWidget(p)
    p.add_mesh(pv.Sphere(), color="white")
    if background is not None:
        p.set_background(background)
    opaque_background(p)
    qtbot.addWidget(top)
    top.resize(*size)
    top.show()
    qtbot.waitExposed(top)
    return top, p


@pytest.fixture
def view(qtbot, monkeypatch):
    monkeypatch.delenv("S2D_DIRECT_PRESENT", raising=False)
    top, p = _shown_view(qtbot, (420, 300))
    qtbot.waitUntil(lambda: p.presenter is not None and p.presenter.active, timeout=5000)
    yield top, p
    p.close()


def test_frames_reach_the_screen_exactly(qtbot, view):
    top, p = view
    swapped = []
    p.frameSwapped.connect(lambda: swapped.append(1))
    paints = p.presenter.frames
    for colour in ("red", "navy", "darkgreen"):
        p.set_background(colour)
        opaque_background(p)
        n = len(swapped)
        p.repaint()
        assert len(swapped) == n + 1  # one frame presented, reported like Qt's frames
        qtbot.wait(30)
        shown, rendered = _on_screen(p), _rgb(p.grabFramebuffer())
        assert shown.shape == rendered.shape == (p.height(), p.width(), 3)
        assert np.array_equal(shown, rendered)
        assert np.abs(shown[2, 2].astype(int) - rendered[2, 2]).max() == 0
    assert p.presenter.frames >= paints + 3
    # a resize: the window follows the interactor and the frames keep their pixels
    top.resize(500, 380)
    qtbot.waitUntil(lambda: p.presenter._window.width() == p.width(), timeout=3000)
    p.set_background("purple")
    opaque_background(p)
    p.repaint()
    qtbot.wait(30)
    assert np.array_equal(_on_screen(p), _rgb(p.grabFramebuffer()))


def test_update_is_coalesced_into_one_frame(qtbot, view):
    _top, p = view
    qtbot.wait(50)
    before = p.presenter.frames
    for _ in range(5):
        p.update()
    qtbot.waitUntil(lambda: p.presenter.frames > before, timeout=2000)
    qtbot.wait(50)
    assert p.presenter.frames == before + 1


def test_hiding_gives_the_surface_back_and_showing_presents_again(qtbot, view):
    _top, p = view
    p.repaint()
    assert p._surface is p.presenter._window  # while presenting, VTK binds the window
    p.hide()
    assert not p.presenter._window.isVisible()
    assert p._surface is not p.presenter._window  # VTK renders on the widget's own surface
    assert not p.presenter.active
    p.set_background("orange")
    opaque_background(p)
    p.show()
    qtbot.waitUntil(lambda: p.presenter.active, timeout=3000)
    p.repaint()
    qtbot.wait(30)
    assert np.array_equal(_on_screen(p), _rgb(p.grabFramebuffer()))


class _Presses(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.seen = []

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 - Qt API
        if ev.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease):
            self.seen.append((ev.type(), ev.position().toPoint()))
        return False


def test_real_x_clicks_reach_the_interactor_under_the_window(qtbot, view):
    name = ctypes.util.find_library("Xtst")
    if name is None or QGuiApplication.platformName() != "xcb":
        pytest.skip("needs libXtst and the xcb platform")
    xtst, x11 = ctypes.CDLL(name), ctypes.CDLL(ctypes.util.find_library("X11"))
    x11.XOpenDisplay.restype = ctypes.c_void_p
    dpy = x11.XOpenDisplay(None)
    assert dpy
    _top, p = view
    presses = _Presses()
    p.installEventFilter(presses)
    g = p.mapToGlobal(p.rect().center())
    try:
        xtst.XTestFakeMotionEvent(ctypes.c_void_p(dpy), -1, g.x(), g.y(), 0)
        xtst.XTestFakeButtonEvent(ctypes.c_void_p(dpy), 1, True, 0)
        xtst.XTestFakeButtonEvent(ctypes.c_void_p(dpy), 1, False, 0)
        x11.XFlush(ctypes.c_void_p(dpy))
        qtbot.waitUntil(lambda: len(presses.seen) >= 2, timeout=3000)
    finally:
        p.removeEventFilter(presses)
        x11.XCloseDisplay(ctypes.c_void_p(dpy))
    kind, pos = presses.seen[0]
    assert kind == QEvent.Type.MouseButtonPress
    assert abs(pos.x() - p.width() // 2) <= 1 and abs(pos.y() - p.height() // 2) <= 1
    assert p.presenter._window.flags() & Qt.WindowType.WindowTransparentForInput


def test_a_present_that_does_not_show_falls_back_to_qt(qtbot, monkeypatch):
    """A driver that takes the window but shows nothing: the first frame is read back from the
    X server, found missing, and the view goes back to Qt's path (no frozen view)."""
    monkeypatch.delenv("S2D_DIRECT_PRESENT", raising=False)
    from app.widgets import direct_present

    monkeypatch.setattr(direct_present.DirectPresenter, "_blit", lambda self, ctx, rw: None)
    _top, p = _shown_view(qtbot, (320, 240), background="red")
    qtbot.waitUntil(lambda: p.presenter.failed, timeout=5000)
    assert not p.presenter.active and not p.presenter._window.isVisible()
    p.set_background("blue")
    opaque_background(p)
    p.repaint()  # Qt's path now
    qtbot.wait(50)
    assert np.array_equal(_on_screen(p), _rgb(p.grabFramebuffer()))
    assert tuple(_on_screen(p)[3, 3]) == (0, 0, 255)
    p.close()


def test_switched_off_by_the_environment(qtbot, monkeypatch):
    monkeypatch.setenv("S2D_DIRECT_PRESENT", "0")
    top = QWidget()
    p = StudioInteractor(top, auto_update=False, multi_samples=0)
    qtbot.addWidget(top)
    assert not p.enable_direct_present()
    assert p.presenter is None
    p.close()
