"""The studio's VTK view widget: pyvistaqt's ``QtInteractor`` with a cheaper frame hand-over.

pyvistaqt renders VTK into VTK's own framebuffer, then (``paintGL`` -> ``_blit``) blits it into
the ``QOpenGLWidget``'s framebuffer with ``GL_LINEAR`` and clears the alpha channel to 1 so
that compositors do not blend the window with what is behind it. On a CPU rasteriser
(llvmpipe) both are full-frame shader passes: 2-4 ms of CPU time per frame at 855x780 (the
frame costs of ``tests/benchmarks/bench_gui.py``, in ``docs/studio.md``). :class:`StudioInteractor` skips them when they cannot change
a pixel:

* VTK's frame has exactly the widget's size in device pixels, so a ``GL_NEAREST`` blit reads
  the same texels as ``GL_LINEAR`` does (every sample lands on a texel centre) and Mesa
  copies it without a shader;
* the renderers of the bottom layer tile the whole frame (one full-viewport renderer, or a
  grid of them) and clear to an opaque background (:func:`opaque_background`); opaque
  geometry writes alpha 1, and VTK blends translucent geometry with
  ``glBlendFuncSeparate(..., ONE, ONE_MINUS_SRC_ALPHA)``, which keeps a destination alpha of 1
  at 1. The alpha clear is then a no-op.

Otherwise (a transparent background, a part of the frame no renderer clears, a size
mismatch) it falls back to pyvistaqt's hand-over. ``tests/test_app_window.py`` compares both
hand-overs pixel for pixel, for the main view and for the compare grid.

:class:`StillAntiAliasing` smooths the edges of the frames a view holds still (FXAA) where MSAA
is off, and draws the moving ones (drags, playback, camera turns) without it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from pyvistaqt import QtInteractor

__all__ = [
    "STILL_MS",
    "StillAntiAliasing",
    "StudioInteractor",
    "opaque_background",
    "tiles_opaquely",
]

#: A view that has not changed for this long (ms) is drawn once more, with FXAA.
STILL_MS = 200

_GL_DRAW_FRAMEBUFFER = 0x8CA9
_GL_COLOR_BUFFER_BIT = 0x00004000
_GL_NEAREST = 0x2600
_GL_SCISSOR_TEST = 0x0C11


def opaque_background(plotter) -> None:
    """Make every renderer of ``plotter`` clear to an opaque background (alpha 1)."""
    for renderer in plotter.renderers:
        renderer.SetBackgroundAlpha(1.0)


def tiles_opaquely(render_window) -> bool:
    """Whether the bottom-layer renderers of ``render_window`` clear every pixel of the frame to
    an opaque background: each erases with background alpha 1, and every cell of the grid their
    viewport edges make lies inside one of them."""
    collection = render_window.GetRenderers()
    collection.InitTraversal()
    boxes = []
    for _ in range(collection.GetNumberOfItems()):
        ren = collection.GetNextItem()
        if ren.GetLayer() != 0:
            continue  # overlays draw over the frame; they do not clear its colour
        if not ren.GetErase() or ren.GetBackgroundAlpha() < 1.0:
            return False
        boxes.append(tuple(ren.GetViewport()))  # (xmin, ymin, xmax, ymax), normalised
    if not boxes:
        return False
    xs = sorted({0.0, 1.0, *(b[0] for b in boxes), *(b[2] for b in boxes)})
    ys = sorted({0.0, 1.0, *(b[1] for b in boxes), *(b[3] for b in boxes)})
    for x0, x1 in itertools.pairwise(xs):
        for y0, y1 in itertools.pairwise(ys):
            if x1 <= 0.0 or x0 >= 1.0 or y1 <= 0.0 or y0 >= 1.0:
                continue  # outside the frame
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            if not any(b[0] <= cx <= b[2] and b[1] <= cy <= b[3] for b in boxes):
                return False
    return True


class StudioInteractor(QtInteractor):
    """``QtInteractor`` whose frame hand-over is a plain copy when that is exact (see the
    module docstring). ``fast_handovers`` counts the frames handed over that way."""

    fast_handovers = 0
    #: False forces pyvistaqt's hand-over (tests compare the two).
    fast_handover_enabled = True

    #: The :class:`~app.widgets.direct_present.DirectPresenter` showing the frames, if any.
    presenter = None

    def enable_direct_present(self) -> bool:
        """Give the view its own native window (:func:`app.widgets.scene.make_native`, which
        the child window needs and which pays off alone) and show frames through a child
        window instead of Qt's compositor where possible (:mod:`app.widgets.direct_present`);
        True when the child window is set up."""
        from app.widgets.direct_present import DirectPresenter, direct_present_available
        from app.widgets.scene import make_native

        make_native(self)
        if self.presenter is None and direct_present_available():
            self.presenter = DirectPresenter(self)
        return self.presenter is not None

    def update(self, *args) -> None:
        p = self.presenter
        if not args and p is not None and p.active:
            p.schedule()
            return
        super().update(*args)

    def repaint(self, *args) -> None:
        p = self.presenter
        if not args and p is not None and p.active and p.present():
            return
        super().repaint(*args)

    def close(self) -> bool:
        if self.presenter is not None:
            self.presenter.close()
        return super().close()

    def _fast_handover_ok(self, rect) -> bool:
        rw = getattr(self, "_RenderWindow", None)
        if not self.fast_handover_enabled or rw is None or getattr(self, "_gl", None) is None:
            return False
        if tuple(rw.GetSize()) != (rect.width(), rect.height()) or rect.x() or rect.y():
            return False
        return tiles_opaquely(rw)

    def _blit(self, target_id, rect):
        if not self._fast_handover_ok(rect):
            return super()._blit(target_id, rect)
        rw, f = self._RenderWindow, self._gl
        f.glBindFramebuffer(_GL_DRAW_FRAMEBUFFER, target_id)
        f.draw_buffer_attachment0()
        scissor = bool(f.glIsEnabled(_GL_SCISSOR_TEST))
        if scissor:  # the scissor test applies to glBlitFramebuffer
            rw.GetState().vtkglDisable(_GL_SCISSOR_TEST)
            f.glDisable(_GL_SCISSOR_TEST)
        w, h = rw.GetSize()
        rw.BlitDisplayFramebuffer(0, 0, 0, w, h, 0, 0, w, h, _GL_COLOR_BUFFER_BIT, _GL_NEAREST)
        if scissor:
            rw.GetState().vtkglEnable(_GL_SCISSOR_TEST)
            f.glEnable(_GL_SCISSOR_TEST)
        self.fast_handovers += 1
        return None


class StillAntiAliasing(QObject):
    """FXAA on the frames a view holds still; none on the frames of a drag, playback or a turn.

    MSAA is off on software OpenGL (``app.main``: it costs ~2.7x frame time on llvmpipe), so
    edges are jagged. VTK's FXAA is one full-frame shader pass after the scene; a moving frame
    would pay it on every drag preview, so :meth:`moving` (called before a changed frame is drawn,
    and on mouse presses, wheel turns and resizes of the view) switches it off, and :data:`STILL_MS`
    later, with no mouse button held and ``busy()`` false, the view is drawn once more with it.
    :meth:`hold_still` switches it on at once (screenshots, exported video frames).

    Parameters
    ----------
    plotter : the pyvistaqt interactor whose renderers get FXAA.
    enabled : bool
        False (MSAA is on) leaves every frame as it is.
    busy : callable
        True while the view will change again soon (a drag or playback in progress).
    """

    _MOVES = (QEvent.Type.MouseButtonPress, QEvent.Type.Wheel, QEvent.Type.Resize)

    def __init__(
        self, plotter, enabled: bool = True, busy: Callable[[], bool] = lambda: False
    ) -> None:
        super().__init__(plotter)
        self.plotter = plotter
        self._enabled = bool(enabled)
        self._busy = busy
        self._on = False
        self._timer = QTimer(self, singleShot=True, interval=STILL_MS)
        self._timer.timeout.connect(self._settle)
        plotter.installEventFilter(self)

    @property
    def on(self) -> bool:
        """Whether the next frame is drawn with FXAA."""
        return self._on

    @property
    def enabled(self) -> bool:
        """False: every frame without FXAA (set when MSAA is on)."""
        return self._enabled

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._enabled = bool(value)
        if not self._enabled:
            self._timer.stop()
            self._set(False)

    def moving(self) -> None:
        """The next frame changes: draw it without FXAA; draw with it once the view is still."""
        if not self._enabled:
            return
        self._set(False)
        self._timer.start()

    def hold_still(self) -> None:
        """Draw the next frames with FXAA now (until the view moves again)."""
        self._timer.stop()
        self._set(self._enabled)

    def _settle(self) -> None:
        if self._busy() or QGuiApplication.mouseButtons() != Qt.MouseButton.NoButton:
            self._timer.start()  # still turning or dragging: try again later
            return
        self._set(True)
        self.plotter.update()

    def _set(self, on: bool) -> None:
        if on != self._on:
            self._on = on
            for ren in self.plotter.renderers:
                ren.SetUseFXAA(on)

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 - Qt API
        t = ev.type()
        if t in self._MOVES or (
            t == QEvent.Type.MouseMove and ev.buttons() != Qt.MouseButton.NoButton
        ):
            self.moving()
        return False
