"""Face panel: the face creator's named sliders, Random face, Reset, Export neutral.

Sliders are grouped (identity, nose, mouth, chin, cheeks, eyes, brows, forehead, ears, head) in
collapsible sections; a filter box finds a slider by name. Moving a slider previews the face
live; releasing it (or a keyboard step) makes one undo step. Undo/redo and any other face
change move the sliders back to the face on screen.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QToolBox,
    QVBoxLayout,
    QWidget,
)

from app.errors import guarded
from app.widgets.common import blocked

__all__ = ["FacePanel", "STEPS"]

#: Slider resolution: positions per unit of slider value.
STEPS = 100


def _pretty(name: str) -> str:
    return name.replace("-", " ")


class FacePanel(QWidget):
    """Sliders of :class:`app.apps_controller.AppsController`'s basis (see module docstring).

    ``sliders`` maps slider name -> QSlider (integer positions, value * :data:`STEPS`).
    """

    def __init__(self, session, apps, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session, self.apps = session, apps
        self.filter = QLineEdit(self)
        self.filter.setObjectName("face_filter")
        self.filter.setPlaceholderText("Find a slider (e.g. nose width)")
        self.filter.setClearButtonEnabled(True)
        self.random_button = QPushButton("Random face", self)
        self.random_button.setObjectName("random_face")
        self.reset_button = QPushButton("Reset", self)
        self.reset_button.setObjectName("reset_face")
        self.export_button = QPushButton("Export neutral…", self)
        self.export_button.setObjectName("export_neutral")
        self.info = QLabel(self)
        self.info.setWordWrap(True)
        self.info.setStyleSheet("color: palette(mid);")

        self.sliders: dict[str, QSlider] = {}
        self._rows: dict[str, tuple[QWidget, QWidget]] = {}
        self.toolbox = QToolBox(self)
        groups: dict[str, QFormLayout] = {}
        for sl in apps.basis.sliders:
            if sl.group not in groups:
                page = QWidget()
                groups[sl.group] = QFormLayout(page)
                self.toolbox.addItem(page, sl.group.capitalize())
            w = QSlider(Qt.Orientation.Horizontal)
            w.setObjectName(f"slider_{sl.name}")
            w.setRange(int(sl.lo * STEPS), int(sl.hi * STEPS))
            w.setValue(int(round(sl.default * STEPS)))
            w.setToolTip(f"{sl.name}: {sl.lo:g} … {sl.hi:g} (default {sl.default:g})")
            w.valueChanged.connect(guarded(lambda _v, n=sl.name: self._moved(n)))
            w.sliderReleased.connect(guarded(self._released))
            label = QLabel(_pretty(sl.name))
            groups[sl.group].addRow(label, w)
            self.sliders[sl.name] = w
            self._rows[sl.name] = (label, w)
        buttons = QHBoxLayout()
        buttons.addWidget(self.random_button)
        buttons.addWidget(self.reset_button)
        lay = QVBoxLayout(self)
        lay.addWidget(self.filter)
        lay.addWidget(self.toolbox, 1)  # QToolBox scrolls each section itself
        lay.addLayout(buttons)
        lay.addWidget(self.export_button)
        lay.addWidget(self.info)

        self.random_button.clicked.connect(guarded(lambda: apps.random_face()))
        self.reset_button.clicked.connect(guarded(apps.reset_sliders))
        self.filter.textChanged.connect(self._filter)
        session.face_changed.connect(self._sync)
        self._sync()

    def values(self) -> dict[str, float]:
        """Slider name -> value shown by the widgets."""
        return {n: w.value() / STEPS for n, w in self.sliders.items()}

    def _moved(self, name: str) -> None:
        self.apps.preview_face(self.values())
        if not self.sliders[name].isSliderDown():  # keyboard / wheel / click: one step each
            self.apps.commit_face(f"Face: {_pretty(name)}")

    def _released(self) -> None:
        self.apps.commit_face("Face sliders")

    def _filter(self, text: str) -> None:
        words = text.lower().replace("-", " ").split()
        first = None
        for name, (label, w) in self._rows.items():
            show = all(word in _pretty(name) for word in words)
            label.setVisible(show)
            w.setVisible(show)
            if show and first is None:
                first = name
        if words and first is not None:  # open the section of the first match
            group = self.apps.basis.slider(first).group
            for i in range(self.toolbox.count()):
                if self.toolbox.itemText(i).lower() == group:
                    self.toolbox.setCurrentIndex(i)

    def _sync(self) -> None:
        vals = self.apps.face_values()
        with blocked(*self.sliders.values()):
            for name, w in self.sliders.items():
                w.setValue(int(round(vals[name] * STEPS)))
        face = self.session.face
        moved = len(face.sliders or ())
        self.info.setText(f"Face: {face.name}" + (f" · {moved} sliders moved" if moved else ""))
