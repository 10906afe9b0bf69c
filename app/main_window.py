"""The main window: assembles the viewport, the compare grid and the docked panels.

It wires widgets to the session only (widgets never talk to each other), owns the menus,
shortcuts, status bar and QSettings (window geometry/state, recent faces, preferences), shows
errors in non-modal dialogs and shuts everything down in order in ``closeEvent``.
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QFrame,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QTabWidget,
    QWidget,
)

from app.errors import guarded, set_reporter
from app.session import StudioSession
from app.widgets.common import Throttle
from app.widgets.compare_grid import CompareGrid
from app.widgets.export_dialog import ExportDialog
from app.widgets.generate_panel import GeneratePanel
from app.widgets.interpolate_panel import InterpolatePanel
from app.widgets.playback_bar import PlaybackBar
from app.widgets.sculpt_panel import SculptPanel
from app.widgets.viewport import Viewport

__all__ = ["MainWindow", "SHORTCUTS"]

MAX_RECENT = 8
TITLE = "Sparse2Dense Studio"

#: (menu text, shortcut) for the Help ▸ Keyboard shortcuts list.
SHORTCUTS = [
    ("Open neutral face", "Ctrl+O"),
    ("Export", "Ctrl+E"),
    ("Undo / redo", "Ctrl+Z / Ctrl+Shift+Z"),
    ("Generate / new seed", "Ctrl+G / Ctrl+N"),
    ("Play / pause", "Space"),
    ("Previous / next frame", ", / ."),
    ("First / last frame", "Ctrl+Home / Ctrl+End"),
    ("Pin selected landmark", "P"),
    ("Reset selected landmark", "Backspace"),
    ("Reset all landmarks", "Ctrl+Backspace"),
    ("Coherent mode on / off (back to smooth or direct)", "C"),
    ("Symmetric editing", "M"),
    ("Wireframe / heat map / landmarks", "W / H / L"),
    ("Reset camera", "R"),
    ("Grab a landmark", "left drag on it"),
    ("Pin a landmark", "Ctrl+click"),
]


class MainWindow(QMainWindow):
    """The studio window.

    Parameters
    ----------
    session : StudioSession or None
        Injected by tests (with fake models); None creates one with the real models.
    settings : QSettings or None
        Where layout and preferences live (tests pass a temporary INI file).
    multi_samples : int
        MSAA samples of the 3-D views (0 on software OpenGL, see ``app.main``).
    start : bool
        Load the models right away.
    """

    def __init__(
        self,
        session: StudioSession | None = None,
        settings: QSettings | None = None,
        multi_samples: int = 0,
        start: bool = True,
    ) -> None:
        super().__init__()
        self.setObjectName("main_window")
        self.session = s = session or StudioSession()
        self.settings = settings or QSettings("Sparse2Dense", "Studio")
        self.error_box: QMessageBox | None = None
        self.export_dialog: ExportDialog | None = None
        self._closed = False

        self.viewport = Viewport(s, self, multi_samples=multi_samples)
        self.compare_grid = CompareGrid(s, self, multi_samples=multi_samples)
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.viewport, "Editor")
        self.tabs.addTab(self.compare_grid, "Compare seeds")
        self.setCentralWidget(self.tabs)
        self.tabs.currentChanged.connect(
            lambda i: s.set_compare_active(self.tabs.widget(i) is self.compare_grid)
        )
        # "Edit this seed" makes the seed current: show it in the Editor
        self.compare_grid.edit_button.clicked.connect(
            lambda: self.tabs.setCurrentWidget(self.viewport)
        )

        self.generate_panel = GeneratePanel(s, self)
        self.sculpt_panel = SculptPanel(s, self)
        self.interpolate_panel = InterpolatePanel(s, self)
        self.playback_bar = PlaybackBar(s, self)
        area = Qt.DockWidgetArea
        self.docks = {
            "generate": self._dock("Generate", self.generate_panel, area.LeftDockWidgetArea),
            "interpolate": self._dock(
                "Interpolate", self.interpolate_panel, area.LeftDockWidgetArea
            ),
            "sculpt": self._dock("Sculpt", self.sculpt_panel, area.RightDockWidgetArea),
            "playback": self._dock("Playback", self.playback_bar, area.BottomDockWidgetArea),
        }
        self._build_status_bar()
        self._build_menus()
        from app.apps_ui import install_apps

        install_apps(self)  # Face and Timeline docks, Face menu, File ▸ Transfer motion from…
        from app.speech_ui import install_speech

        install_speech(self)  # File ▸ Animate from audio…
        from app.any_face_ui import install_any_face

        install_any_face(self)  # File ▸ Open face mesh (any topology)…

        s.failed.connect(self.show_error)
        s.status.connect(lambda m: self.statusBar().showMessage(m, 6000))
        s.busy_changed.connect(self._busy)
        s.models_ready.connect(lambda dev: self.device_label.setText(f"Device: {dev}"))
        # a drag reports a decode per mouse move: show at most 4 a second
        self._timing_text = Throttle(lambda text: self.timing_label.setText(text), 250, self)
        s.timing.connect(self._timing)
        s.face_changed.connect(self._face_changed)
        set_reporter(self.show_error)
        self._restore_settings()
        self._face_changed()
        if start:
            s.start()

    # ----------------------------------------------------------------------------- layout
    def _dock(self, title: str, widget: QWidget, area, scroll: bool = False) -> QDockWidget:
        """A dock holding ``widget``; ``scroll`` puts it in a scroll area so a tall or wide panel
        (many sliders, a long timeline) never sets the window's minimum size."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")
        if scroll:
            area_widget = QScrollArea(dock)
            area_widget.setWidgetResizable(True)
            area_widget.setFrameShape(QFrame.Shape.NoFrame)
            area_widget.setWidget(widget)
            widget = area_widget
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(area, dock)
        return dock

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.busy_bar = QProgressBar(self)
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setMaximumWidth(90)
        self.busy_bar.setMaximumHeight(12)
        self.busy_bar.setVisible(False)
        self.timing_label = QLabel("last inference: –", self)
        self.device_label = QLabel("Device: loading…", self)
        self.device_label.setObjectName("device_label")
        for w in (self.busy_bar, self.timing_label, self.device_label):
            bar.addPermanentWidget(w)

    def _action(
        self,
        menu,
        text: str,
        slot,
        shortcut=None,
        checkable=False,
        checked=False,
        name: str | None = None,
    ) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if checkable:
            act.setCheckable(True)
            act.setChecked(checked)
            act.toggled.connect(guarded(slot))
        else:
            act.triggered.connect(guarded(lambda _checked=False: slot()))
        if name:
            act.setObjectName(name)
        menu.addAction(act)
        return act

    def _build_menus(self) -> None:
        s, mb = self.session, self.menuBar()
        f = mb.addMenu("&File")
        self.open_action = self._action(
            f,
            "&Open neutral face…",
            self.open_face_dialog,
            QKeySequence.StandardKey.Open,
            name="open_face",
        )
        self.recent_menu = f.addMenu("Open &recent")
        self._action(f, "&Default face", s.reset_face)
        f.addSeparator()
        self._action(f, "&Export…", self.show_export, "Ctrl+E", name="export")
        f.addSeparator()
        self._action(f, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        e = mb.addMenu("&Edit")
        undo = s.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo = s.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        e.addAction(undo)
        e.addAction(redo)
        self.undo_action, self.redo_action = undo, redo
        e.addSeparator()
        self._action(e, "&Pin / unpin selected landmark", lambda: s.pin(), "P")
        self._action(e, "Reset &selected landmark", lambda: s.reset_landmark(), "Backspace")
        self._action(e, "Reset &all landmarks", s.reset_all, "Ctrl+Backspace")
        self._action(e, "U&npin all", s.unpin_all)
        e.addSeparator()
        self._mode_action = self._action(
            e,
            "&Coherent mode (prior)",
            lambda on: s.set_mode("coherent" if on else s.plain_mode),
            "C",
            checkable=True,
        )
        self._sym_action = self._action(
            e, "S&ymmetric editing", s.set_symmetric, "M", checkable=True
        )

        g = mb.addMenu("&Generate")
        self._action(g, "&Generate", lambda: s.generate(), "Ctrl+G")
        self._action(g, "&New seed", s.new_seed, "Ctrl+N")

        p = mb.addMenu("&Playback")
        self._action(p, "&Play / pause", s.toggle_play, "Space", name="play")
        self._action(p, "&Next frame", lambda: s.step(1), ".")
        self._action(p, "P&revious frame", lambda: s.step(-1), ",")
        self._action(p, "&First frame", lambda: s.set_frame(0), "Ctrl+Home")
        self._action(p, "&Last frame", lambda: s.set_frame(s.timeline_frames - 1), "Ctrl+End")

        v = mb.addMenu("&View")
        self.view_actions = {
            "wireframe": self._action(
                v, "&Wireframe", lambda on: s.set_view_option("wireframe", on), "W", checkable=True
            ),
            "heatmap": self._action(
                v,
                "Displacement &heat map",
                lambda on: s.set_view_option("heatmap", on),
                "H",
                checkable=True,
            ),
            "landmarks": self._action(
                v,
                "&Landmarks",
                lambda on: s.set_view_option("landmarks", on),
                "L",
                checkable=True,
                checked=True,
            ),
        }
        self._action(v, "&Reset camera", self.viewport.reset_camera, "R")
        v.addSeparator()
        for dock in self.docks.values():
            v.addAction(dock.toggleViewAction())
        s.options_changed.connect(self._sync_option_actions)

        h = mb.addMenu("&Help")
        self._action(h, "&Keyboard shortcuts", self.show_shortcuts, "F1")
        self._action(h, "&About", self.show_about)

    def _sync_option_actions(self) -> None:
        s = self.session
        for name, act in self.view_actions.items():
            act.blockSignals(True)
            act.setChecked(s.view[name])
            act.blockSignals(False)
        for act, on in ((self._mode_action, s.mode == "coherent"), (self._sym_action, s.symmetric)):
            act.blockSignals(True)
            act.setChecked(on)
            act.blockSignals(False)

    # ------------------------------------------------------------------------------ faces
    def ask_open_path(self) -> str:
        """Ask for a face file (tests replace this to avoid the native dialog)."""
        start = self.settings.value("last_face_dir", str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(
            self, "Open neutral face", start, "Meshes (*.obj *.ply);;All files (*)"
        )
        return path

    def open_face_dialog(self) -> None:
        path = self.ask_open_path()
        if path:
            self.settings.setValue("last_face_dir", str(Path(path).parent))
            self.session.open_face(path)

    def recent_faces(self) -> list[str]:
        value = self.settings.value("recent_faces", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _face_changed(self) -> None:
        face = self.session.face
        self.setWindowTitle(f"{TITLE} — {face.name}")
        if face.path:
            recent = [face.path] + [p for p in self.recent_faces() if p != face.path]
            self.settings.setValue("recent_faces", recent[:MAX_RECENT])
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_faces()
        for path in recent:
            act = self.recent_menu.addAction(Path(path).name)
            act.setToolTip(path)
            act.triggered.connect(guarded(lambda _c=False, p=path: self.session.open_face(p)))
        self.recent_menu.setEnabled(bool(recent))

    # ----------------------------------------------------------------------------- export
    def show_export(self) -> ExportDialog:
        if self.export_dialog is None:
            self.export_dialog = ExportDialog(
                self.session,
                self.viewport.render_frame,
                str(self.settings.value("export_dir", str(Path.home()))),
                self,
            )
            self.export_dialog.exports.finished.connect(
                lambda p: self.settings.setValue("export_dir", str(Path(p).parent))
            )
        self.export_dialog.show()
        self.export_dialog.raise_()
        return self.export_dialog

    # ----------------------------------------------------------------------------- status
    def show_error(self, message: str) -> None:
        """A non-modal warning dialog (the previous one is replaced)."""
        if self.error_box is not None:
            self.error_box.close()
        box = QMessageBox(
            QMessageBox.Icon.Warning, TITLE, message, QMessageBox.StandardButton.Ok, self
        )
        box.setObjectName("error_box")
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.destroyed.connect(
            lambda *_: setattr(self, "error_box", None) if self.error_box is box else None
        )
        self.error_box = box
        box.show()
        self.statusBar().showMessage(message.split(";")[0], 8000)

    def show_shortcuts(self) -> QMessageBox:
        width = max(len(k) for k, _ in SHORTCUTS) + 2  # one column for every row
        text = "\n".join(f"{k:<{width}}{v}" for k, v in SHORTCUTS)
        box = QMessageBox(
            QMessageBox.Icon.Information,
            "Keyboard shortcuts",
            text,
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setObjectName("shortcuts_box")
        box.setStyleSheet("QLabel { font-family: monospace; }")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.show()
        return box

    def show_about(self) -> None:
        from app import __version__

        box = QMessageBox(
            QMessageBox.Icon.Information,
            f"About {TITLE}",
            f"{TITLE} {__version__}\nDynamic 3-D facial expressions: Motion3DGAN "
            "landmark motions decoded to dense faces by S2D-Dec.\n"
            f"Device: {self.session.device}",
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.show()

    def _busy(self, busy: bool) -> None:
        self.busy_bar.setVisible(busy)

    def _timing(self, lane: str, ms: float) -> None:
        if lane in ("drag", "commit", "generate", "interp", "compare"):
            what = {"drag": "drag decode", "commit": "edit decode"}.get(lane, lane)
            self._timing_text(f"last inference: {ms:.1f} ms ({what})")

    # --------------------------------------------------------------------------- settings
    def _restore_settings(self) -> None:
        st, s = self.settings, self.session
        geo, state = st.value("geometry"), st.value("window_state")
        if geo is not None:
            self.restoreGeometry(geo)
        else:
            self.resize(1500, 920)
        if state is not None:
            self.restoreState(state)
        else:  # first start: a compact Generate dock above a taller Interpolate dock
            self.resizeDocks(
                [self.docks["generate"], self.docks["interpolate"]],
                [230, 500],
                Qt.Orientation.Vertical,
            )
        for name in s.view:
            v = st.value(f"view/{name}")
            if v is not None:
                s.set_view_option(name, str(v).lower() in ("true", "1"))
        mode = st.value("sculpt/mode")
        if mode in ("smooth", "direct", "coherent") and (mode != "coherent" or s.prior is not None):
            s.set_mode(mode)
        s.set_symmetric(str(st.value("sculpt/symmetric", "false")).lower() in ("true", "1"))
        try:
            sigma = float(st.value("sculpt/sigma", s.sigma))
            s.set_sigma(math.inf if sigma < 0 else sigma)
            s.set_fps(float(st.value("playback/fps", s.fps)))
        except (TypeError, ValueError):
            pass
        s.set_loop(str(st.value("playback/loop", "true")).lower() in ("true", "1"))
        self._sync_option_actions()

    def _save_settings(self) -> None:
        st, s = self.settings, self.session
        st.setValue("geometry", self.saveGeometry())
        st.setValue("window_state", self.saveState())
        for name, on in s.view.items():
            st.setValue(f"view/{name}", on)
        st.setValue("sculpt/mode", s.mode)
        st.setValue("sculpt/symmetric", s.symmetric)
        st.setValue("sculpt/sigma", -1.0 if math.isinf(s.sigma) else s.sigma)
        st.setValue("playback/fps", s.fps)
        st.setValue("playback/loop", s.loop)
        st.sync()

    def closeEvent(self, ev) -> None:  # noqa: N802 - Qt API
        """Save the layout, stop the worker, remove event filters and close the plotters."""
        if self._closed:
            super().closeEvent(ev)
            return
        self._closed = True
        try:
            self._save_settings()
        except Exception:  # noqa: BLE001 - closing must not fail
            pass
        set_reporter(None)
        if self.export_dialog is not None:
            self.export_dialog.close()
        self.session.shutdown()
        self.compare_grid.close_plotter()
        self.viewport.close_plotter()
        super().closeEvent(ev)
