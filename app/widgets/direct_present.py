"""Frames of the 3-D view presented straight to a native window, not through Qt's compositor.

A ``QOpenGLWidget`` (pyvistaqt's ``QtInteractor``) draws into a texture; Qt then composes the
window on every frame: it clears it, uploads the raster widgets' backing store, draws the
widget's texture and the backing store over it with alpha blending, and swaps. On a CPU
rasteriser (llvmpipe) those are full-frame passes: an empty 1280x720 view repaints in
~10-12 ms, of which VTK's render and the blit into the widget's texture take 1.7 ms.

:class:`DirectPresenter` puts a child ``QWindow`` (OpenGL surface, a child of the interactor's
native window) exactly over the interactor and hands each frame to it instead: VTK renders
into its own framebuffers as before, the frame is blitted into the window's back buffer and
swapped. While it does, VTK's make-current binds the context to that window too (switching
the context between two drawables on every frame made Mesa page-fault a fresh 3.7 MB
shared-memory back buffer in on every frame). Measured in one process, alternating
(``tests/benchmarks/bench_gui.py``, frame costs): the empty view repaints in ~5 ms instead of
~10 ms, the face in ~14 ms instead of ~19 ms, at 28 % less CPU per frame.

The widget underneath keeps everything else: it receives the mouse, wheel and keyboard (the
window is transparent for input and never takes focus), serves ``grabFramebuffer`` and the
pyvista API, and is still painted by Qt when Qt wants (exposes, resizes, grabs), hidden under
the window. The interactor's ``frameSwapped`` is emitted after each presented frame, as Qt
emits it after each composed one (``tests/test_app_direct_present.py`` compares what reaches
the X server's screen with the widget's framebuffer, pixel for pixel, and clicks through the
window with XTEST).

Used on the X11 platform only (``xcb``: the window is a child X window) and switched off with
``S2D_DIRECT_PRESENT=0``. The first frame is checked: a block at its centre is read back from
the X server and compared with VTK's frame. That check failing, or the context refusing the
window, sends the view back to Qt's path for good, so a driver that would show a black or stale
window costs speed, not a frozen view.
"""

from __future__ import annotations

import ctypes
import os

import shiboken6
from PySide6.QtCore import QEvent, QObject, QRect, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QOpenGLContext, QSurface, QSurfaceFormat, QWindow

__all__ = ["DirectPresenter", "direct_present_available"]

_GL_DRAW_FRAMEBUFFER = 0x8CA9
_GL_READ_FRAMEBUFFER = 0x8CA8
_GL_COLOR_ATTACHMENT0 = 0x8CE0
_GL_COLOR_BUFFER_BIT = 0x00004000
_GL_NEAREST = 0x2600
_GL_LINEAR = 0x2601
_GL_SCISSOR_TEST = 0x0C11
_GL_LEQUAL = 0x0203
_GL_BACK_LEFT = 0x0402
_GL_RGBA = 0x1908
_GL_UNSIGNED_BYTE = 0x1401


def direct_present_available() -> bool:
    """Whether frames can go straight to a child window here (X11, not switched off)."""
    if os.environ.get("S2D_DIRECT_PRESENT", "1").strip().lower() in ("0", "off", "false", "no"):
        return False
    return QGuiApplication.platformName() == "xcb"


class _GLFunctions:
    """The raw GL entry points of the hand-over, resolved in one context (it must be current
    when they are resolved and called)."""

    _SIGNATURES = {
        "glBindFramebuffer": (None, ctypes.c_uint, ctypes.c_uint),
        "glReadBuffer": (None, ctypes.c_uint),
        "glDrawBuffers": (None, ctypes.c_int, ctypes.POINTER(ctypes.c_uint)),
        "glIsEnabled": (ctypes.c_ubyte, ctypes.c_uint),
        "glEnable": (None, ctypes.c_uint),
        "glDisable": (None, ctypes.c_uint),
        "glBlitFramebuffer": (None, *([ctypes.c_int] * 8), ctypes.c_uint, ctypes.c_uint),
        "glReadPixels": (
            None,
            *([ctypes.c_int] * 4),
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
        ),
        "glFinish": (None,),
    }

    def __init__(self, ctx: QOpenGLContext) -> None:
        for name, (res, *args) in self._SIGNATURES.items():
            addr = ctx.getProcAddress(name.encode())
            if not addr:
                raise RuntimeError(f"could not resolve OpenGL function {name!r}")
            setattr(self, name, ctypes.CFUNCTYPE(res, *args)(int(addr)))


class _Surface(QWindow):
    """The child window the frames are swapped into; asks for a frame when exposed."""

    def __init__(self, on_expose) -> None:
        super().__init__()
        self._on_expose = on_expose
        self.setSurfaceType(QSurface.SurfaceType.OpenGLSurface)
        self.setFormat(QSurfaceFormat.defaultFormat())
        self.setFlags(
            Qt.WindowType.WindowTransparentForInput | Qt.WindowType.WindowDoesNotAcceptFocus
        )

    def exposeEvent(self, ev) -> None:  # noqa: N802 - Qt API
        if self.isExposed():
            self._on_expose()


class DirectPresenter(QObject):
    """Presents the frames of one pyvistaqt interactor in a child window over it.

    ``present()`` renders and swaps now; ``schedule()`` once from the event loop (several
    requests before it runs give one frame, as ``QWidget.update`` does). ``active`` is False
    until the window is exposed and after a failure (then the interactor paints as before).
    """

    def __init__(self, interactor) -> None:
        super().__init__(interactor)
        self.view = interactor
        self.failed = False
        self.frames = 0
        self._gl = None  # (context, _GLFunctions)
        self._own_surface = None  # the interactor's surface, given back by _release()
        self._verified = False  # the first frame was read back from the window (_shows)
        self._window = _Surface(self.schedule)
        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self.present)
        interactor.installEventFilter(self)
        self._attach()

    def _attach(self) -> None:
        """Make the window a child of the interactor's native window, over all of it (once
        that exists: asking for it early would create it before the widget has its place)."""
        handle = self.view.windowHandle()
        if handle is None or not self.view.isVisible():
            return
        if self._window.parent() is not handle:
            self._window.setParent(handle)
            self._verified = False  # a new native parent: check the first frame again
        self._fit()
        self._window.show()

    def _fit(self) -> None:
        self._window.setGeometry(QRect(0, 0, self.view.width(), self.view.height()))

    @property
    def active(self) -> bool:
        """Whether frames go to the child window (it is exposed and nothing has failed)."""
        return (
            not self.failed
            and self.view.isVisible()
            and self._window.isVisible()
            and self._window.isExposed()
            and getattr(self.view, "_ctx", None) is not None
        )

    def schedule(self) -> None:
        """Present once from the event loop (requests before it runs give one frame)."""
        if self.failed or not shiboken6.isValid(self._timer):
            return  # closed: the window may still report exposes while it goes
        if not self._timer.isActive():
            self._timer.start()

    def present(self) -> bool:
        """Render the interactor's scene and swap it into the window; False if not done."""
        self._timer.stop()
        view = self.view
        rw = getattr(view, "_RenderWindow", None)
        ctx = getattr(view, "_ctx", None)
        if not self.active or rw is None or not rw.GetReadyForRendering():
            return False
        if getattr(view, "_in_paint", False):
            return False
        if not ctx.makeCurrent(self._window):
            self._fail()
            return False
        # VTK makes the context current whenever it renders (pyvistaqt: on the widget's own
        # offscreen surface). Switching the context between two drawables on every frame makes
        # Mesa's software rasteriser set up the window's back buffer anew each time (a 3.7 MB
        # shared-memory image at 1280x720, page-faulted in on every frame): keep it on the
        # window while frames go there (VTK draws into its own framebuffers either way).
        if view._surface is not self._window:
            self._own_surface = view._surface
            view._surface = self._window
        st = rw.GetState()
        st.Reset()  # Qt may have touched GL since VTK's last call
        st.Push()
        st.vtkglDepthFunc(_GL_LEQUAL)
        view._in_paint = True
        try:
            iren = rw.GetInteractor()
            (iren if iren is not None else rw).Render()
        finally:
            view._in_paint = False
        current = QOpenGLContext.currentContext() is ctx and ctx.surface() is self._window
        if not current and not ctx.makeCurrent(self._window):
            st.Pop()
            self._fail()
            return False
        self._blit(ctx, rw)
        ctx.swapBuffers(self._window)
        if not self._verified:
            if not self._shows(ctx, rw):
                st.Pop()
                self._fail()
                return False
            self._verified = True
        st.Pop()
        self.frames += 1
        view.frameSwapped.emit()
        return True

    def _functions(self, ctx: QOpenGLContext) -> _GLFunctions:
        """The GL entry points of ``ctx`` (current), resolved once per context."""
        if self._gl is None or self._gl[0] is not ctx:
            self._gl = (ctx, _GLFunctions(ctx))
        return self._gl[1]

    def _shows(self, ctx: QOpenGLContext, rw) -> bool:
        """Whether the X server now shows VTK's frame in the window (a block at its centre,
        read back once from the server): a driver that accepts the window but shows something
        else makes the view fall back to Qt's path instead of freezing."""
        gl = self._functions(ctx)
        gl.glFinish()
        win = self._window
        if abs(win.devicePixelRatio() - 1.0) > 1e-6:
            return True  # the server's pixels would be scaled; not checked
        w, h = rw.GetSize()
        n = 4
        x, y = max(0, w // 2 - n // 2), max(0, h // 2 - n // 2)
        want = (ctypes.c_ubyte * (4 * n * n))()
        gl.glBindFramebuffer(_GL_READ_FRAMEBUFFER, rw.GetDisplayFramebuffer().GetFBOIndex())
        gl.glReadBuffer(_GL_COLOR_ATTACHMENT0)
        gl.glReadPixels(x, y, n, n, _GL_RGBA, _GL_UNSIGNED_BYTE, ctypes.addressof(want))
        shot = win.screen().grabWindow(win.winId(), x, h - y - n, n, n).toImage()
        if shot.width() != n or shot.height() != n:
            return False
        ok = True
        for row in range(n):  # GL rows go up, image rows down
            for col in range(n):
                c = shot.pixelColor(col, n - 1 - row)
                i = 4 * (row * n + col)
                ok &= (c.red(), c.green(), c.blue()) == tuple(want[i : i + 3])
        return ok

    def _blit(self, ctx: QOpenGLContext, rw) -> None:
        """Copy VTK's displayed frame into the window's back buffer (raw GL: VTK's own blit
        goes through its state cache, which does not know the window's framebuffer)."""
        gl = self._functions(ctx)
        w, h = rw.GetSize()
        dpr = self._window.devicePixelRatio()
        tw = max(1, round(self._window.width() * dpr))
        th = max(1, round(self._window.height() * dpr))
        same = (w, h) == (tw, th)  # equal sizes: a plain copy; else scaled (a resize in flight)
        gl.glBindFramebuffer(_GL_READ_FRAMEBUFFER, rw.GetDisplayFramebuffer().GetFBOIndex())
        gl.glReadBuffer(_GL_COLOR_ATTACHMENT0)
        gl.glBindFramebuffer(_GL_DRAW_FRAMEBUFFER, ctx.defaultFramebufferObject())
        # the context was made for the widget's single-buffered offscreen surface: its default
        # framebuffer draws to the front buffer until told otherwise, and a swap would then
        # show the unchanged back buffer
        gl.glDrawBuffers(1, (ctypes.c_uint * 1)(_GL_BACK_LEFT))
        scissor = bool(gl.glIsEnabled(_GL_SCISSOR_TEST))
        if scissor:  # the scissor test applies to glBlitFramebuffer
            gl.glDisable(_GL_SCISSOR_TEST)
        gl.glBlitFramebuffer(
            0, 0, w, h, 0, 0, tw, th, _GL_COLOR_BUFFER_BIT, _GL_NEAREST if same else _GL_LINEAR
        )
        if scissor:
            gl.glEnable(_GL_SCISSOR_TEST)

    def _release(self) -> None:
        """Give VTK's make-current back the interactor's own surface."""
        if self._own_surface is not None and shiboken6.isValid(self.view):
            if self.view._surface is self._window:
                self.view._surface = self._own_surface
        self._own_surface = None

    def _fail(self) -> None:
        """Give the frames back to Qt's path for good (the window would show stale frames)."""
        self.failed = True
        self._release()
        self._window.hide()
        self.view.update()

    def close(self) -> None:
        """Stop presenting (before the interactor's context goes)."""
        self.failed = True
        if shiboken6.isValid(self._timer):
            self._timer.stop()
        self._release()
        if shiboken6.isValid(self.view):
            self.view.removeEventFilter(self)
        if shiboken6.isValid(self._window):  # it goes with the interactor's native window
            self._window.hide()

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 - Qt API
        if obj is self.view and not self.failed:
            t = ev.type()
            if t == QEvent.Type.Resize:
                self._fit()
                self.schedule()
            elif t in (QEvent.Type.Show, QEvent.Type.WinIdChange):
                self._attach()
            elif t == QEvent.Type.Hide:
                self._release()  # VTK may render while hidden (screenshots): not to the window
                self._window.hide()
        return False
