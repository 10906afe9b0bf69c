"""Wires the applications into the main window: the Face and Timeline docks, the Face menu
and File ▸ Transfer motion from… with its options dialog (one call, :func:`install_apps`, from
``MainWindow``).

File dialogs go through the window's ``ask_*`` methods defined here, which tests replace to
avoid native dialogs.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from app.apps_controller import AppsController
from app.widgets.face_panel import FacePanel
from app.widgets.timeline_strip import TimelineStrip
from app.widgets.transfer_dialog import TransferDialog

__all__ = ["install_apps"]

TRANSFER_FILES = "Landmark motions (*.npy *.csv);;All files (*)"


def install_apps(window) -> AppsController:
    """Add the application docks and menu entries to ``window`` (an ``app.main_window``
    MainWindow); returns the controller (also ``window.apps``)."""
    s = window.session
    apps = AppsController(s, window)
    window.apps = apps
    window.face_panel = FacePanel(s, apps, window)
    window.timeline_strip = TimelineStrip(s, apps, window)
    area = Qt.DockWidgetArea
    window.docks["face"] = window._dock(
        "Face", window.face_panel, area.RightDockWidgetArea, scroll=True
    )
    window.docks["timeline"] = window._dock(
        "Timeline", window.timeline_strip, area.BottomDockWidgetArea, scroll=True
    )
    if "sculpt" in window.docks:  # a tab beside Sculpt: both keep the full height
        window.tabifyDockWidget(window.docks["sculpt"], window.docks["face"])
        window.docks["sculpt"].raise_()
    window.face_panel.export_button.clicked.connect(lambda: _export_neutral(window))

    mb = window.menuBar()
    file_menu = next(a.menu() for a in mb.actions() if a.text() == "&File")
    t_file = window._action(
        file_menu,
        "&Transfer motion from file…",
        lambda: _transfer(window, folder=False),
        name="transfer_file",
    )
    t_dir = window._action(
        file_menu,
        "Transfer motion from &folder…",
        lambda: _transfer(window, folder=True),
        name="transfer_folder",
    )
    export = next(a for a in file_menu.actions() if a.objectName() == "export")
    acts = [t_file, t_dir]
    for act in acts:  # before Export…, not after Quit
        file_menu.removeAction(act)
    file_menu.insertActions(export, acts)

    help_menu = next(a for a in mb.actions() if a.text() == "&Help")
    face_menu = mb.addMenu("F&ace")
    mb.removeAction(face_menu.menuAction())
    mb.insertMenu(help_menu, face_menu)
    window._action(face_menu, "&Neutralize", lambda: apps.neutralize(), name="neutralize")
    window._action(face_menu, "&Random face", lambda: apps.random_face(), name="random_face")
    window._action(face_menu, "R&eset face sliders", apps.reset_sliders)
    window._action(face_menu, "&Export neutral face…", lambda: _export_neutral(window))
    view = next(a.menu() for a in mb.actions() if a.text() == "&View")
    for name in ("face", "timeline"):
        view.addAction(window.docks[name].toggleViewAction())

    # the dialogs (tests replace these two attributes)
    window.ask_transfer_path = lambda folder: _ask_transfer_path(window, folder)
    window.ask_export_neutral_path = lambda: _ask_export_neutral_path(window)
    return apps


def _start_dir(window) -> str:
    return str(window.settings.value("last_face_dir", str(Path.home())))


def _ask_transfer_path(window, folder: bool) -> str:
    title = "Transfer motion from"
    if folder:
        return QFileDialog.getExistingDirectory(
            window, title + " a folder of frames", _start_dir(window)
        )
    path, _ = QFileDialog.getOpenFileName(window, title, _start_dir(window), TRANSFER_FILES)
    return path


def _ask_export_neutral_path(window) -> str:
    path, _ = QFileDialog.getSaveFileName(
        window,
        "Export neutral face",
        str(Path(_start_dir(window)) / "neutral.obj"),
        "Meshes (*.obj *.ply)",
    )
    return path


def _transfer(window, folder: bool) -> None:
    path = window.ask_transfer_path(folder)
    if path:
        _transfer_options(window, path)


def _transfer_options(window, path: str) -> TransferDialog:
    """The options dialog of a transfer of ``path`` (non-modal; also ``window.transfer_dialog``);
    Transfer starts it and remembers the options for the next one."""
    try:
        last = json.loads(str(window.settings.value("transfer_options", "{}")))
    except ValueError:
        last = {}
    dialog = TransferDialog(
        path, window.session.fps, last if isinstance(last, dict) else {}, window
    )
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    window.transfer_dialog = dialog

    def accepted():
        options = dialog.options()
        window.settings.setValue("transfer_options", json.dumps(options))
        window.apps.transfer(path, **options)

    dialog.accepted.connect(accepted)
    dialog.open()
    return dialog


def _export_neutral(window) -> None:
    path = window.ask_export_neutral_path()
    if path:
        window.apps.export_neutral(path)
