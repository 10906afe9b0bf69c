"""Screenshot comparisons of the 3-D views against reference PNGs, with a tolerance.

References live in ``tests/data/app_*.png``; regenerate them after an intended visual change
with ``S2D_UPDATE_SCREENSHOTS=1 python -m pytest tests/test_app_screenshots.py --xvfb-backend
xvfb`` and look at them before committing. The fake models make the faces deterministic.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.gl

DATA = Path(__file__).parent / "data"
SIZE = (640, 480)  # viewport size of the comparisons
#: Tolerance: mean absolute difference (0..255 levels) and share of pixels off by > 40 levels.
MEAN_TOL, OUTLIER_LEVEL, OUTLIER_SHARE = 2.0, 40, 0.01


def _sized(qtbot, w, plotter) -> None:
    w.resize(w.width() + SIZE[0] - plotter.width(), w.height() + SIZE[1] - plotter.height())
    qtbot.waitUntil(lambda: (plotter.width(), plotter.height()) == SIZE, timeout=5000)


def _compare(name: str, img: np.ndarray) -> None:
    from PIL import Image

    img = np.ascontiguousarray(img[..., :3])
    ref_path = DATA / f"app_{name}.png"
    if os.environ.get("S2D_UPDATE_SCREENSHOTS"):
        DATA.mkdir(exist_ok=True)
        Image.fromarray(img).save(ref_path)
        return
    if not ref_path.is_file():  # a missing reference is a failure, never a silent pass
        DATA.mkdir(exist_ok=True)
        Image.fromarray(img).save(ref_path.with_name(f"app_{name}_actual.png"))
        pytest.fail(
            f"reference {ref_path} is missing; the actual image was saved beside it. "
            "Create the references with S2D_UPDATE_SCREENSHOTS=1 (module docstring)"
        )
    ref = np.asarray(Image.open(ref_path).convert("RGB"))
    assert ref.shape == img.shape, f"size {img.shape} differs from reference {ref.shape}"
    diff = np.abs(ref.astype(int) - img.astype(int)).max(-1)
    mean, share = diff.mean(), (diff > OUTLIER_LEVEL).mean()
    if mean > MEAN_TOL or share > OUTLIER_SHARE:
        Image.fromarray(img).save(ref_path.with_name(f"app_{name}_actual.png"))
        pytest.fail(
            f"{name}: mean difference {mean:.2f} (tolerance {MEAN_TOL}), "
            f"{100 * share:.2f}% pixels off by > {OUTLIER_LEVEL} (tolerance "
            f"{100 * OUTLIER_SHARE}%); actual image saved beside the reference"
        )


def _idle(qtbot, s):
    qtbot.waitUntil(lambda: s.idle, timeout=10000)


def test_neutral_face_with_landmarks(studio, qtbot):
    vp = studio.viewport
    _sized(qtbot, studio, vp.plotter)
    vp.reset_camera()
    _compare("neutral", vp.plotter.screenshot(return_img=True))


def test_expression_heatmap_and_selection(studio, qtbot):
    w, s = studio, studio.session
    _sized(qtbot, w, w.viewport.plotter)
    s.generate("high_smile", 3)
    qtbot.waitUntil(lambda: s.source.kind == "generate", timeout=10000)
    _idle(qtbot, s)
    s.set_frame(29)
    s.select(48)
    s.set_view_option("heatmap", True)
    s.set_view_option("wireframe", True)
    w.viewport.reset_camera()
    w.viewport.plotter.render()
    img = w.viewport.plotter.screenshot(return_img=True)
    d = s.current_vertices() - s.face.vertices
    assert np.abs(d).max() > 1e-3  # a real expression is on screen
    _compare("heatmap", img)


def test_compare_grid(studio, qtbot):
    w, s = studio, studio.session
    w.tabs.setCurrentWidget(w.compare_grid)
    grid = w.compare_grid
    grid.label_box.setCurrentIndex(grid.label_box.findData("surprised"))
    grid.count.setValue(4)
    grid.show_button.click()
    qtbot.waitUntil(lambda: grid.plotter is not None and len(grid.faces) == 4, timeout=15000)
    _sized(qtbot, w, grid.plotter)
    s.set_frame(29)
    grid.plotter.render()
    _compare("compare", grid.plotter.screenshot(return_img=True))


def test_a_missing_reference_fails_and_writes_no_reference(tmp_path, monkeypatch):
    import sys

    monkeypatch.setattr(sys.modules[__name__], "DATA", tmp_path)
    monkeypatch.delenv("S2D_UPDATE_SCREENSHOTS", raising=False)
    with pytest.raises(pytest.fail.Exception, match="is missing"):
        _compare("nothing", np.zeros((4, 4, 3), np.uint8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app_nothing_actual.png"]
