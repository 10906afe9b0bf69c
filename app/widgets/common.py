"""Small helpers shared by the panels (label combo boxes, signal blocking)."""

from __future__ import annotations

import contextlib

from PySide6.QtWidgets import QComboBox, QSpinBox, QWidget

from app.session import MAX_SEED
from core.data.recipes import RECIPES

__all__ = ["label_combo", "seed_spin", "set_combo_label", "blocked", "pretty_label"]


def pretty_label(label: str) -> str:
    return label.replace("_", " ")


def label_combo(labels, parent: QWidget | None = None) -> QComboBox:
    """A combo box of expression labels (data = label id, tooltip = recipe description)."""
    box = QComboBox(parent)
    for lab in labels:
        box.addItem(pretty_label(lab), lab)
        recipe = RECIPES.get(lab)
        if recipe is not None:
            box.setItemData(box.count() - 1, recipe.description, 3)  # Qt.ToolTipRole
    box.setMaxVisibleItems(20)
    return box


def set_combo_label(box: QComboBox, label: str | None) -> None:
    i = box.findData(label)
    if i >= 0 and i != box.currentIndex():
        with blocked(box):
            box.setCurrentIndex(i)


def seed_spin(parent: QWidget | None = None) -> QSpinBox:
    spin = QSpinBox(parent)
    spin.setRange(0, MAX_SEED)
    spin.setToolTip("Noise seed: the same label and seed always give the same motion")
    return spin


@contextlib.contextmanager
def blocked(*widgets):
    """Block the signals of widgets while the session's state is copied into them."""
    old = [w.blockSignals(True) for w in widgets]
    try:
        yield
    finally:
        for w, o in zip(widgets, old, strict=True):
            w.blockSignals(o)
