"""``python main.py`` — start the studio (QApplication, main window, event loop).

Options: ``--device {auto,cpu,cuda}``, ``--open FACE.obj`` (a neutral face to load),
``--msaa N`` (anti-aliasing samples; default 0 on software OpenGL such as llvmpipe, else 4).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
import types

__all__ = ["run_app", "gl_renderer", "configure_pyvista", "defer_pyplot", "display_problem"]

GL_RENDERER = 0x1F01


def gl_renderer() -> str:
    """The OpenGL renderer string of a throw-away context ("" when there is none)."""
    from PySide6.QtGui import QOffscreenSurface, QOpenGLContext

    ctx = QOpenGLContext()
    if not ctx.create():
        return ""
    surface = QOffscreenSurface()
    surface.setFormat(ctx.format())
    surface.create()
    try:
        if not ctx.makeCurrent(surface):
            return ""
        name = ctx.functions().glGetString(GL_RENDERER)
        ctx.doneCurrent()
        return str(name or "")
    finally:
        surface.destroy()


class _DeferredModule(types.ModuleType):
    """Stands in ``sys.modules`` for a module until one of its attributes is first read, then
    imports the real module, puts it in its place and answers from it. Reading a missing
    ``__dunder__`` does not import it (shiboken reads ``__file__`` of every module in
    ``sys.modules`` when PySide6 sets up a class)."""

    def __getattr__(self, attr: str):
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        real = importlib.import_module(name)
        parent, _, child = name.rpartition(".")
        if parent in sys.modules:
            setattr(sys.modules[parent], child, real)
        return getattr(real, attr)


def defer_pyplot() -> None:
    """Import ``matplotlib.pyplot`` only when something uses it.

    ``pyvista.plotting`` imports ``matplotlib.pyplot`` when it is imported, only to read a colour
    cycle in functions the studio does not call; pyplot pulls in figures, axes and a backend:
    0.2 s of the 0.54 s of ``import pyvista.plotting`` on a quiet machine (``python -X
    importtime``). A stand-in module takes its place in ``sys.modules`` and imports the real
    one on the first attribute read (``plt.rcParams``, ``from matplotlib.pyplot import …``), so a
    user of pyplot still gets all of it. Nothing happens when pyplot is already imported.
    """
    name = "matplotlib.pyplot"
    spec = importlib.util.find_spec("matplotlib")  # found, not imported
    if name in sys.modules or spec is None or not spec.submodule_search_locations:
        return
    stand_in = _DeferredModule(name)
    stand_in.__file__ = os.path.join(spec.submodule_search_locations[0], "pyplot.py")
    sys.modules[name] = stand_in


def configure_pyvista(msaa: int | None = None) -> int:
    """Theme settings for the studio; returns the MSAA samples chosen.

    MSAA costs ~2.7x frame time on llvmpipe (measured at 640x520 under Xvfb on 2 cores:
    111-116 fps without MSAA, 42 fps with 8 samples, 34 with 4), so it is off on software GL.
    """
    defer_pyplot()
    import pyvista as pv

    from app.widgets.scene import software_gl

    if msaa is None:
        msaa = 0 if software_gl(gl_renderer()) else 4
    pv.OFF_SCREEN = False
    pv.global_theme.multi_samples = msaa
    pv.global_theme.depth_peeling.enabled = False
    pv.global_theme.allow_empty_mesh = True
    return msaa


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="main.py", description="Sparse2Dense Studio")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--open", dest="face", default=None, help="neutral face (OBJ/PLY) to load")
    p.add_argument("--msaa", type=int, default=None, help="anti-aliasing samples")
    return p.parse_args(argv)


NO_DISPLAY = (
    "error: the studio needs a display, and none was found (DISPLAY and WAYLAND_DISPLAY are "
    "not set).\n"
    "  On a machine without a screen, run it on a virtual one:  xvfb-run -a .venv/bin/python "
    "main.py\n"
    "  Or use the headless commands:  .venv/bin/python main.py --help"
)


def display_problem(env: dict | None = None, platform: str | None = None) -> str | None:
    """The message for starting without a display, or None when Qt can open a window.

    On Linux Qt needs an X11 or Wayland display unless ``QT_QPA_PLATFORM`` picks another
    platform (offscreen, vnc, …); without one it fails with a misleading message about the
    xcb-cursor library.
    """
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux") or env.get("QT_QPA_PLATFORM"):
        return None
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return NO_DISPLAY


def run_app(argv: list[str] | None = None) -> int:
    """Create the QApplication and the main window, run the event loop; exit code."""
    args = _parse(list(argv or []))
    problem = display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    os.environ.setdefault("QT_API", "pyside6")
    from PySide6.QtWidgets import QApplication

    from app.errors import install_excepthook, setup_logging

    setup_logging()
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName("Sparse2Dense")
    app.setApplicationName("Studio")
    msaa = configure_pyvista(args.msaa)
    install_excepthook()

    from app.main_window import MainWindow
    from app.session import StudioSession

    window = MainWindow(StudioSession(device=args.device), multi_samples=msaa, start=False)
    window.show()
    app.processEvents()  # the window is on screen before the models load
    window.session.start()
    if args.face:
        window.session.open_face(args.face)
    return int(app.exec())
