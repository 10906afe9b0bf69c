"""Compare seeds: N (2–9) seeds of one label side by side in linked viewports.

One QtInteractor with an (rows, cols) grid of renderers whose cameras are linked
(``link_views``), each captioned with its seed. Playback is the session's: every frame change
shows that frame in all cells. Click a cell to select it, then continue editing it or use it as
interpolation end A or B.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QStackedLayout,
    QVBoxLayout,
    QWidget,
)

from app.errors import guarded, report
from app.widgets.common import label_combo, seed_spin, set_combo_label
from app.widgets.gl_view import StillAntiAliasing, StudioInteractor, opaque_background
from app.widgets.scene import (
    BACKGROUND,
    add_face,
    add_three_point_lights,
    frame_camera,
    use_caption_font,
)
from app.widgets.user_mesh import UserMeshMap

__all__ = ["CompareGrid", "grid_shape"]

_SELECTED_BG = "#34486a"


def grid_shape(n: int) -> tuple[int, int]:
    """(rows, cols) for n cells: one row up to 3, then as square as possible."""
    if n <= 3:
        return 1, n
    cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


class _ClickFilter(QObject):
    """Selects the cell under a click (a press and release without a drag)."""

    def __init__(self, grid: CompareGrid) -> None:
        super().__init__(grid)
        self.grid = grid
        self._press = None

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 - Qt API
        try:
            t = ev.type()
            if t == QEvent.Type.MouseButtonPress and ev.button() == Qt.MouseButton.LeftButton:
                self._press = ev.position()
            elif t == QEvent.Type.MouseButtonRelease and self._press is not None:
                d = ev.position() - self._press
                self._press = None
                if abs(d.x()) + abs(d.y()) < 4:
                    self.grid.select_at(ev.position())
            elif t in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
                return True  # no VTK key bindings
        except Exception as exc:  # noqa: BLE001 - never raise into Qt
            report(exc, "compare grid")
        return False


class CompareGrid(QWidget):
    def __init__(self, session, parent: QWidget | None = None, multi_samples: int = 0) -> None:
        super().__init__(parent)
        self.session = s = session
        self.multi_samples = multi_samples
        self.plotter: StudioInteractor | None = None
        self.faces: list = []
        self._shown = lambda v: v  # template vertices -> what a cell shows (user's mesh)
        self.selected = 0
        self._filter = _ClickFilter(self)

        self.label_box = label_combo(s.labels, self)
        self.count = QSpinBox(self)
        self.count.setObjectName("compare_count")
        self.count.setRange(2, 9)
        self.count.setValue(4)
        self.count.setSuffix(" seeds")
        self.first_seed = seed_spin(self)
        self.first_seed.setPrefix("from seed ")
        self.show_button = QPushButton("Show seeds", self)
        self.show_button.setObjectName("compare_button")
        self.selection = QLabel("Click a face to select it", self)
        self.edit_button = QPushButton("Edit this seed", self)
        self.a_button = QPushButton("Use as A", self)
        self.b_button = QPushButton("Use as B", self)
        self.placeholder = QLabel(
            "Pick a label and press “Show seeds” to compare several seeds side by side.", self
        )
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setStyleSheet("color: palette(mid); font-size: 14px;")

        top = QHBoxLayout()
        top.addWidget(QLabel("Expression", self))
        top.addWidget(self.label_box, 1)
        top.addWidget(self.count)
        top.addWidget(self.first_seed)
        top.addWidget(self.show_button)
        bottom = QHBoxLayout()
        bottom.addWidget(self.selection, 1)
        for b in (self.edit_button, self.a_button, self.b_button):
            bottom.addWidget(b)
        self.stack = QStackedLayout()
        self.stack.addWidget(self.placeholder)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addLayout(self.stack, 1)
        lay.addLayout(bottom)

        self.show_button.clicked.connect(self._request)
        self.edit_button.clicked.connect(guarded(lambda: s.compare_use(self.selected, "edit")))
        self.a_button.clicked.connect(guarded(lambda: s.compare_use(self.selected, "A")))
        self.b_button.clicked.connect(guarded(lambda: s.compare_use(self.selected, "B")))
        s.compare_changed.connect(self._rebuild)
        s.frame_changed.connect(self.refresh)
        s.motion_changed.connect(self._sync_controls)
        self._sync_controls()
        self._set_buttons()

    # --------------------------------------------------------------------------- actions
    @guarded
    def _request(self, *_args) -> None:
        first = self.first_seed.value()
        seeds = [first + i for i in range(self.count.value())]
        self.session.compare(self.label_box.currentData(), seeds)

    def _sync_controls(self) -> None:
        if self.session.compare_set is None:
            set_combo_label(self.label_box, self.session.label)

    def _set_buttons(self) -> None:
        cs = self.session.compare_set
        ok = cs is not None and self.faces
        for b in (self.edit_button, self.a_button, self.b_button):
            b.setEnabled(bool(ok))
        if ok:
            self.selection.setText(f"Selected: {cs.label} · seed {cs.seeds[self.selected]}")

    def captions(self) -> list[str]:
        """The cell captions: the seed, and the side of a one-sided label."""
        cs = self.session.compare_set
        if cs is None:
            return []
        return [
            f"seed {seed}" + (f" · {m.meta['side']}" if (m.meta or {}).get("side") else "")
            for seed, m in zip(cs.seeds, cs.motions, strict=True)
        ]

    # --------------------------------------------------------------------------- drawing
    @guarded
    def _rebuild(self) -> None:
        cs = self.session.compare_set
        if cs is None:
            return
        self.close_plotter()
        shape = grid_shape(len(cs.motions))
        p = StudioInteractor(
            self, shape=shape, auto_update=False, multi_samples=self.multi_samples, border=False
        )
        p.enable_direct_present()  # a native window, presented directly
        p.installEventFilter(self._filter)
        self.plotter = p
        session = self.session
        self.still_aa = StillAntiAliasing(  # FXAA on still frames where MSAA is off
            p, self.multi_samples == 0, lambda: session.playback.playing
        )
        self.stack.addWidget(p)
        self.stack.setCurrentWidget(p)
        template = self.session.template
        user = self.session.face.user  # a face of another topology: show the user's own mesh
        self._shown = UserMeshMap(user) if user is not None else (lambda v: v)
        faces, skin = (
            (self._shown.faces, self._shown.skin)
            if user is not None
            else (template.faces, template.skin)
        )
        lm_idx = self.session.landmarks.indices
        self.faces = []
        for i, (caption, motion) in enumerate(zip(self.captions(), cs.motions, strict=True)):
            p.subplot(*divmod(i, shape[1]))
            add_three_point_lights(p)
            self.faces.append(
                add_face(
                    p,
                    self._shown(motion.vertices[0]),
                    faces,
                    skin,
                    wireframe=False,
                    landmarks=None if user is not None else lm_idx,
                )
            )
            text = p.add_text(
                caption, position="upper_left", font_size=11, color="white", render=False
            )
            use_caption_font(text.GetTextProperty())
            frame_camera(p, motion.landmarks[0], distance=0.42)
        for i in range(len(cs.motions), shape[0] * shape[1]):
            p.subplot(*divmod(i, shape[1]))
        p.set_background(BACKGROUND)
        opaque_background(p)
        p.link_views()
        self.selected = min(self.selected, len(cs.motions) - 1)
        self._highlight()
        self._set_buttons()
        self.refresh()

    @guarded
    def refresh(self, *_args) -> None:
        cs = self.session.compare_set
        if self.plotter is None or cs is None or not self.isVisible():
            return
        t = self.session.frame
        for face, motion in zip(self.faces, cs.motions, strict=True):
            face.set_points(self._shown(motion.vertices[min(t, motion.n_frames - 1)]))
        self.still_aa.moving()
        self.plotter.update()

    def hold_still(self) -> None:
        """Draw the grid with FXAA now (screenshots), not ``STILL_MS`` after its last change."""
        if self.plotter is not None:
            self.still_aa.hold_still()
            self.plotter.update()

    def showEvent(self, ev) -> None:  # noqa: N802 - Qt API
        super().showEvent(ev)
        self.refresh()

    def select(self, index: int) -> None:
        cs = self.session.compare_set
        if cs is None or not 0 <= index < len(cs.motions):
            return
        self.selected = index
        self._highlight()
        self._set_buttons()

    def select_at(self, pos) -> None:
        """Select the cell under a widget position (logical px)."""
        if self.plotter is None:
            return
        rows, cols = grid_shape(len(self.faces))
        c = int(np.clip(pos.x() / max(self.plotter.width(), 1) * cols, 0, cols - 1))
        r = int(np.clip(pos.y() / max(self.plotter.height(), 1) * rows, 0, rows - 1))
        self.select(r * cols + c)

    def _highlight(self) -> None:
        if self.plotter is None:
            return
        for i, ren in enumerate(self.plotter.renderers):
            ren.set_background(_SELECTED_BG if i == self.selected else BACKGROUND)
        self.plotter.update()

    def close_plotter(self) -> None:
        """Close the grid's plotter (before a rebuild and when the window closes)."""
        if self.plotter is not None:
            self.plotter.removeEventFilter(self._filter)
            for face in self.faces:
                face.release()
            self.stack.removeWidget(self.plotter)
            self.plotter.close()
            self.plotter.deleteLater()
            self.plotter = None
            self.faces = []
