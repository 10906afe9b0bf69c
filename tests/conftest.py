"""Shared pytest configuration.

GUI tests need a real OpenGL context: run under Xvfb with Qt's xcb platform (pytest-xvfb starts
one; ``--xvfb-backend xvfb`` makes a missing Xvfb an error instead of a silent skip).
Without any display, GL tests are skipped rather than letting Qt abort the whole run.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("PYTEST_QT_API", "pyside6")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# the decoder's trace cache (core.trace_cache) stays off: tests never read or evict the user's
os.environ["S2D_TRACE_CACHE"] = "off"


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


# ------------------------------------------------------------------------------------------------
# Leak check of GUI tests (as pyvistaqt's check_gc): nothing a test made may outlive it.
# ------------------------------------------------------------------------------------------------


def _is_vtk(obj) -> bool:
    """A VTK object (pyvista's PolyData & co. included: they subclass vtkObjectBase)."""
    try:
        from vtkmodules.vtkCommonCore import vtkObjectBase
    except ImportError:
        return False
    try:
        return isinstance(obj, vtkObjectBase)
    except Exception:  # noqa: BLE001 - objects whose type cannot be inspected
        return False


def _studio_widgets() -> list:
    """Live QWidgets of our own classes (app.*), top-level or not."""
    from PySide6.QtWidgets import QApplication

    if QApplication.instance() is None:
        return []
    return [w for w in QApplication.allWidgets() if type(w).__module__.startswith("app.")]


@pytest.fixture(autouse=True)
def check_gc(request):
    """Fail a GUI test (one that uses ``qtbot``) when a VTK object or a studio widget it made
    is still alive after its fixtures were torn down; ``@pytest.mark.allow_bad_gc`` opts out."""
    if "qtbot" not in request.fixturenames or request.node.get_closest_marker("allow_bad_gc"):
        yield
        return
    import gc

    gc.collect()
    objects = gc.get_objects()
    vtk_before = {id(o) for o in objects if _is_vtk(o)}
    windows_before = {id(o) for o in objects if type(o).__name__ == "MainWindow"}
    del objects
    widgets_before = {id(w) for w in _studio_widgets()}
    yield
    from PySide6.QtCore import QCoreApplication, QEvent

    # the fixtures set up after this one are torn down; only pytest's record of their values
    # (funcargs) still refers to them
    request.node.funcargs.clear()

    for _ in range(3):  # deleteLater() needs the event loop
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()
        gc.collect()
    alive = gc.get_objects()
    if any(
        type(o).__name__ == "MainWindow"
        and type(o).__module__ == "app.main_window"
        and id(o) not in windows_before
        for o in alive
    ):
        # KNOWN LEAK (issue 9 follow-up): a test that built the whole main window leaves it
        # alive: lambdas that capture the window are connected to signals (MainWindow.__init__,
        # install_apps/install_speech/install_any_face), so Qt's connection table, which
        # Python's gc cannot see, keeps the window and its VTK objects (a vtkScalarBarActor
        # first) alive. Such tests are not checked until that is fixed; all others are.
        return
    vtk_left = sorted({type(o).__name__ for o in alive if _is_vtk(o) and id(o) not in vtk_before})
    widgets_left = sorted(
        {type(w).__name__ for w in _studio_widgets() if id(w) not in widgets_before}
    )
    assert not vtk_left and not widgets_left, (
        f"outlived the test: VTK {vtk_left[:8]}, widgets {widgets_left[:8]}"
    )


# ------------------------------------------------------------------------------------------------
# GUI (app/) fixtures: small fake models with the real ones' methods, a session, the main window.
# ------------------------------------------------------------------------------------------------


#: Model hashes of the fakes (full 64-hex digests, as the manifest schema requires).
FAKE_DECODER_SHA, FAKE_GENERATOR_SHA = "d" * 64, "e" * 64


class FakePipeline:
    """Stands in for core.pipeline.S2DPipeline: each vertex follows nearby landmarks with a
    Gaussian falloff (sigma metres), so an edit is local like the trained decoder's."""

    def __init__(self, sigma: float = 0.008, delay: float = 0.0):
        from core.assets import load_face, load_landmarks

        self.face, self.landmarks = load_face(), load_landmarks()
        self.device, self.meta = "cpu", {"sha256": FAKE_DECODER_SHA}
        self.sigma, self.delay = sigma, delay
        self._weights: dict = {}
        self.calls = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.last_landmarks = None

    def _w(self, neutral):
        key = (neutral.shape, float(neutral.sum()), float(neutral[0, 0]))
        if key not in self._weights:
            c = neutral[self.landmarks.indices].astype(np.float64)
            d2 = ((neutral[:, None].astype(np.float64) - c[None]) ** 2).sum(-1)
            w = np.exp(-d2 / (2 * self.sigma**2))
            self._weights[key] = (w / np.maximum(1.0, w.sum(1, keepdims=True))).astype(np.float32)
        return self._weights[key]

    def face_landmarks(self, vertices):
        return np.asarray(vertices)[..., self.landmarks.indices, :]

    def check_neutral(self, neutral):
        """(V, 3) or (B, V, 3) -> (B, V, 3) float32, like S2DPipeline.check_neutral."""
        n = np.asarray(neutral, np.float32)
        return n[None] if n.ndim == 2 else n

    def decode(self, neutral, landmarks):
        import time

        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                time.sleep(self.delay)
            self.calls += 1
            neutral = np.asarray(neutral, np.float32)
            lm = np.asarray(landmarks, np.float32)
            self.last_landmarks = lm.copy()
            dl = lm - neutral[self.landmarks.indices][None]
            return neutral[None] + np.einsum("vk,bkd->bvd", self._w(neutral), dl)
        finally:
            self.in_flight -= 1

    def edit_reference(self, neutral, landmarks):
        """Like S2DPipeline.edit_reference (one decode; no learned part, gate 1)."""
        from core.pipeline import EditReference

        lm = np.asarray(landmarks, np.float32)
        dense = FakePipeline.decode(self, neutral, lm)  # not a test's spy on ``decode``
        return EditReference(lm, dense, np.zeros_like(dense), np.ones(len(lm), np.float32))

    def decode_edit(self, neutral, landmarks, reference):
        """Like S2DPipeline.decode_edit: the fake decoder is linear, so plainly ``decode``."""
        return FakePipeline.decode(self, neutral, landmarks)


class FakeGenerator:
    """Stands in for core.generate.MotionGenerator: deterministic label/seed apexes on the mouth
    and brows, eased in over the frames; interpolate/mix_apex blend landmarks linearly."""

    def __init__(self, pipeline: FakePipeline):
        self.pipeline, self.meta, self.calls = pipeline, {"sha256": FAKE_GENERATOR_SHA}, 0

    def _apex(self, label, seed):
        from core.data.recipes import LABELS

        rng = np.random.default_rng(1000 * LABELS.index(label) + int(seed))
        apex = np.zeros((68, 3), np.float32)
        apex[48:68] = rng.normal(0, 0.003, (20, 3))
        apex[17:27] = rng.normal(0, 0.002, (10, 3))
        return apex

    def _motion(self, lm, neutral, **kw):
        from core.motion import Motion

        return Motion(
            landmarks=lm,
            vertices=self.pipeline.decode(neutral, lm),
            meta={"neutral": neutral},
            **kw,
        )

    def generate(self, label, seed, n_frames=30, neutral=None, side=None):
        from core.data.recipes import ONE_SIDED_LABELS

        self.calls += 1
        if label not in ONE_SIDED_LABELS and side is not None:
            raise ValueError(f"side: {label!r} is not one-sided")
        neutral = (
            self.pipeline.face.vertices if neutral is None else np.asarray(neutral, np.float32)
        )
        s = (np.linspace(0.0, 1.0, n_frames) ** 2)[:, None, None]
        apex = self._apex(label, seed)
        if label in ONE_SIDED_LABELS:  # like the real one: the side from the seed by default
            side = side or ("left", "right")[int(seed) % 2]
            apex[48:68, 0] = np.abs(apex[48:68, 0]) * (1 if side == "left" else -1)
        lm = neutral[self.pipeline.landmarks.indices][None] + s * apex[None]
        m = self._motion(lm.astype(np.float32), neutral, label=label, seed=int(seed))
        if side is not None:
            m.meta["side"] = side
        return m

    def decode(self, neutral, landmarks):
        """Dense faces of absolute landmarks, like MotionGenerator.decode (used by transfers)."""
        return self.pipeline.decode(np.asarray(neutral, np.float32).reshape(-1, 3), landmarks)

    def interpolate(self, a, b, tau):
        lm = ((1 - tau) * a.landmarks + tau * b.landmarks).astype("float32")
        return self._motion(lm, a.meta["neutral"])

    def mix_apex(self, a, b, tau):
        """Like the real one for a float tau: a 1-frame Motion (the mixed apex)."""
        apex = (1 - tau) * (a.landmarks[-1] - a.landmarks[0]) + tau * (
            b.landmarks[-1] - b.landmarks[0]
        )
        return self._motion((a.landmarks[:1] + apex[None]).astype("float32"), a.meta["neutral"])


@pytest.fixture
def fake_models():
    """(pipeline, generator) test doubles."""
    pipeline = FakePipeline()
    return pipeline, FakeGenerator(pipeline)


@pytest.fixture
def session(qtbot, fake_models):
    """A StudioSession on the fake models, models loaded; its worker is stopped afterwards."""
    from app.session import StudioSession

    s = StudioSession(*fake_models)
    with qtbot.waitSignal(s.models_ready, timeout=10000):
        s.start()
    yield s
    s.shutdown()


@pytest.fixture
def studio(qtbot, fake_models, tmp_path):
    """The real main window on the fake models, shown and exposed (Xvfb), temporary QSettings."""
    import pyvista as pv
    from PySide6.QtCore import QSettings

    from app.errors import set_reporter
    from app.main_window import MainWindow
    from app.session import StudioSession

    pv.OFF_SCREEN = False
    pv.global_theme.multi_samples = 0
    pv.global_theme.depth_peeling.enabled = False
    settings = QSettings(str(tmp_path / "studio.ini"), QSettings.Format.IniFormat)
    s = StudioSession(*fake_models)
    w = MainWindow(s, settings, multi_samples=0, start=False)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    with qtbot.waitSignal(s.models_ready, timeout=10000):
        s.start()
    with qtbot.waitExposed(w):
        w.show()
    with qtbot.waitActive(w):  # window shortcuts need an active window (no WM on Xvfb)
        w.activateWindow()
    yield w
    if w.error_box is not None:
        w.error_box.close()
    w.close()  # closeEvent: worker stopped, event filters removed, plotters closed
    set_reporter(None)
