"""Bounded GUI fuzz: a few hundred seeded random events on the real main window (Xvfb).

Menu actions, clicks, key presses, drags and wheel turns land anywhere in the window (fake
models, so it runs in seconds). Every modal dialog answers "cancelled" (file dialogs return no
path, ``exec`` returns Rejected, message boxes Cancel), so nothing can wait for a user and hang
the suite. Afterwards: no exception escaped into Qt (pytest-qt fails the test on one), none was
logged as unexpected, the worker finishes its queue, the window still works and closes cleanly.
"""

from __future__ import annotations

import logging
import random

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFileDialog,
    QInputDialog,
    QMessageBox,
    QWidget,
)

pytestmark = pytest.mark.gl

N_EVENTS = 200
SEED = 15
KEYS = [
    Qt.Key.Key_Space,
    Qt.Key.Key_Left,
    Qt.Key.Key_Right,
    Qt.Key.Key_Up,
    Qt.Key.Key_Down,
    Qt.Key.Key_Home,
    Qt.Key.Key_End,
    Qt.Key.Key_Escape,
    Qt.Key.Key_Return,
    Qt.Key.Key_Tab,
    Qt.Key.Key_Delete,
    Qt.Key.Key_Z,
    Qt.Key.Key_Y,
    Qt.Key.Key_M,
    Qt.Key.Key_P,
    Qt.Key.Key_G,
    Qt.Key.Key_1,
    Qt.Key.Key_5,
    Qt.Key.Key_Plus,
    Qt.Key.Key_Minus,
]
MODS = [
    Qt.KeyboardModifier.NoModifier,
    Qt.KeyboardModifier.ControlModifier,
    Qt.KeyboardModifier.ShiftModifier,
]
#: Actions that would end the session under test (closing is checked once, at the end).
SKIP_ACTIONS = ("quit", "exit", "close")


@pytest.fixture
def cancel_every_dialog(monkeypatch):
    """Every modal dialog answers "cancelled"; returns the list of dialogs that were asked."""
    asked: list[str] = []

    def file_dialog(name, result):
        def answer(*args, **kwargs):
            asked.append(name)
            return result

        return staticmethod(answer)

    for name in ("getOpenFileName", "getSaveFileName", "getOpenFileNames"):
        monkeypatch.setattr(
            QFileDialog, name, file_dialog(name, ([], "") if name.endswith("s") else ("", ""))
        )
    monkeypatch.setattr(
        QFileDialog, "getExistingDirectory", file_dialog("getExistingDirectory", "")
    )
    for name in ("getText", "getInt", "getDouble", "getItem"):
        monkeypatch.setattr(QInputDialog, name, file_dialog(name, ("", False)))
    cancel = QMessageBox.StandardButton.Cancel
    for name in ("question", "warning", "critical", "information"):
        monkeypatch.setattr(QMessageBox, name, file_dialog(name, cancel))

    def rejected(self, *args):
        asked.append(type(self).__name__)
        return QDialog.DialogCode.Rejected.value

    monkeypatch.setattr(QDialog, "exec", rejected)
    monkeypatch.setattr(QMessageBox, "exec", rejected)
    return asked


def _actions(window) -> list[QAction]:
    return [
        a
        for a in window.findChildren(QAction)
        if a.text()
        and not a.isSeparator()
        and not a.menu()
        and not any(s in a.text().lower().replace("&", "") for s in SKIP_ACTIONS)
    ]


def _random_point(rng: random.Random, widget: QWidget) -> QPoint:
    return QPoint(rng.randrange(max(1, widget.width())), rng.randrange(max(1, widget.height())))


def _close_stray_windows(window) -> None:
    for w in QApplication.topLevelWidgets():
        if w is not window and w.isVisible():
            w.close()


def test_random_events_on_the_main_window(qtbot, studio, cancel_every_dialog, caplog):
    w = studio
    rng = random.Random(SEED)
    caplog.set_level(logging.ERROR, logger="s2d.studio")
    actions = _actions(w)
    assert len(actions) > 10
    counts = dict.fromkeys(("action", "click", "key", "drag", "wheel"), 0)
    for i in range(N_EVENTS):
        kind = rng.choices(list(counts), weights=(35, 30, 20, 10, 5))[0]
        counts[kind] += 1
        if kind == "action":
            act = rng.choice(actions)
            if act.isEnabled():
                act.trigger()
        else:
            target = w.childAt(_random_point(rng, w)) or w
            pos = _random_point(rng, target)
            if kind == "click":
                button = rng.choice([Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton])
                QTest.mouseClick(target, button, Qt.KeyboardModifier.NoModifier, pos)
            elif kind == "key":
                focus = QApplication.focusWidget() or w
                QTest.keyClick(focus, rng.choice(KEYS), rng.choice(MODS))
            elif kind == "drag":
                QTest.mousePress(
                    target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos
                )
                for _ in range(3):
                    pos += QPoint(rng.randint(-30, 30), rng.randint(-30, 30))
                    QTest.mouseMove(target, pos)
                QTest.mouseRelease(
                    target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos
                )
            else:
                QTest.mouseClick(target, Qt.MouseButton.MiddleButton)
        qtbot.wait(1)
        if i % 50 == 49:
            _close_stray_windows(w)
    _close_stray_windows(w)
    qtbot.waitUntil(lambda: not w.session.runner.is_busy(), timeout=20000)
    # the fake models (conftest) lack the timeline builder's generator API; an AttributeError on
    # a Fake* object is a gap of the test doubles, not of the studio
    unexpected = [
        r.getMessage()[-300:]
        for r in caplog.records
        if r.levelno >= logging.ERROR and "'Fake" not in r.getMessage()
    ]
    assert unexpected == [], unexpected
    assert w.isVisible() and w.session.face is not None
    # the window still works: a generate after the storm finishes
    with qtbot.waitSignal(w.session.motion_changed, timeout=20000):
        w.session.generate("happy", 1)
    assert all(v > 0 for v in counts.values()), counts
