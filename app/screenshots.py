"""Regenerate the screenshots of docs/studio.md from the running studio (real models).

    xvfb-run -a -s "-screen 0 1920x1200x24" python -m app.screenshots --out docs/screenshots

Drives the real window through the states a user goes through — a generated expression, a
coherent symmetric drag with the heat map, an interpolation, the compare grid, the export
dialog — and saves each as a PNG (``QWidget.grab`` composites the 3-D views with the widgets),
plus a short GIF of the viewport playing.

Without trained Motion3DGAN weights (``models/motion3dgan.safetensors``) the screenshots use
:class:`ReplayGenerator`: "label, seed" replays the seed-th synthesised training sequence of that
label on the face (``MotionGenerator.transfer``) — real motions, decoded by the trained S2D-Dec,
but not generated ones. The tool says which it used.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["main", "ReplayGenerator"]


def ReplayGenerator(pipeline, data=None):  # noqa: N802 - a class factory (core.generate imports torch)
    """A MotionGenerator whose ``generate`` replays synthesised training sequences.

    data : an object with ``seq_label`` (N,) and ``seq_landmarks`` (N, T, 68, 3) (default: the
    default synthesised data set, made on first use).
    """
    import dataclasses

    import numpy as np

    from core.assets import load_landmarks
    from core.data.recipes import LABELS, ONE_SIDED_LABELS
    from core.data.synth import SynthConfig, load_or_generate
    from core.errors import InvalidInputError
    from core.generate import MotionGenerator
    from core.models.motion_gan import SIDES
    from core.train.gan_train import motion_side

    if data is None:
        data = load_or_generate(SynthConfig(), load_landmarks().indices, progress=False)

    class _Replay(MotionGenerator):
        def generate(self, label, seed, n_frames=30, neutral=None, side=None):
            """The ``seed``-th training sequence of ``label`` (of ``side`` for one-sided
            labels: the studio passes the side it asks for, as to the real generator)."""
            seqs = np.flatnonzero(data.seq_label == LABELS.index(label))
            if side is not None:
                if label not in ONE_SIDED_LABELS:
                    raise InvalidInputError(f"side: {label!r} is not a one-sided label")
                sides = motion_side(data.seq_landmarks[seqs])
                seqs = seqs[sides == SIDES.index(side)]
            m = self.transfer(data.seq_landmarks[seqs[int(seed) % len(seqs)]], neutral)
            meta = {**m.meta, "replayed_training_sequence": True}
            if label in ONE_SIDED_LABELS:
                meta["side"] = SIDES[int(motion_side(m.landmarks[None])[0])]
            return dataclasses.replace(m, label=label, seed=int(seed), meta=meta)

    return _Replay(None, pipeline)


def _wait_until(cond, timeout: float = 60.0) -> None:
    from PySide6.QtTest import QTest

    end = time.perf_counter() + timeout
    while not cond():
        if time.perf_counter() > end:
            raise TimeoutError("the studio did not reach the expected state")
        QTest.qWait(10)


def _grab_with_dialog(window, dialog):
    """The window with a (top-level) dialog painted where it sits on screen."""
    from PySide6.QtGui import QPainter

    img = window.grab()
    painter = QPainter(img)
    pos = dialog.frameGeometry().topLeft() - window.frameGeometry().topLeft()
    painter.drawPixmap(pos, dialog.grab())
    painter.end()
    return img


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.screenshots", description=__doc__)
    p.add_argument("--out", default="docs/screenshots")
    p.add_argument("--size", default="1500x900")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    width, height = (int(v) for v in args.size.split("x"))

    from core.runtime import tune_malloc

    tune_malloc()
    import numpy as np
    from PySide6.QtCore import QPoint, QSettings, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    from app.main import configure_pyvista

    msaa = configure_pyvista()
    from app.main_window import MainWindow
    from app.session import StudioSession
    from core.generate import DEFAULT_GAN

    if DEFAULT_GAN.is_file():
        s = StudioSession()
    else:
        from core.pipeline import S2DPipeline

        print(f"{DEFAULT_GAN} is missing: replaying synthesised training sequences")
        pipe = S2DPipeline.load(device="cpu")
        s = StudioSession(pipe, ReplayGenerator(pipe))
    ini = Path(tempfile.mkdtemp(prefix="s2d-shots-")) / "s.ini"
    w = MainWindow(
        s, QSettings(str(ini), QSettings.Format.IniFormat), multi_samples=msaa, start=False
    )
    w.resize(width, height)
    w.show()
    QTest.qWaitForWindowExposed(w)
    errors: list[str] = []
    s.failed.connect(errors.append)
    s.start()
    _wait_until(lambda: s.device != "…" or errors)
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return 1

    def settle():
        _wait_until(lambda: s.idle)
        QTest.qWait(300)

    def save(name, img=None):
        if img is None:  # the views as they look held still: with FXAA where MSAA is off
            w.viewport.hold_still()
            w.compare_grid.hold_still()
            app.processEvents()
        (img or w.grab()).save(str(out / f"{name}.png"))
        print("wrote", out / f"{name}.png")

    # 1. a generated expression at its apex (after one warm-up generation)
    s.generate("happy", 0)
    _wait_until(lambda: s.source.kind == "generate")
    settle()
    s.generate("high_smile", 3)
    _wait_until(lambda: s.source.seed == 3)
    settle()
    s.set_frame(s.n_motion_frames - 1)
    settle()
    save("main")

    # 2. coherent, symmetric sculpting with a pinned chin and the heat map
    w.sculpt_panel.coherent.click()
    w.sculpt_panel.symmetric.click()
    s.pin(8)
    s.set_view_option("heatmap", True)
    vp = w.viewport
    start = vp.world_to_widget(s.current_landmarks()[48]).toPoint()
    QTest.mousePress(vp.plotter, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for i in range(1, 13):
        QTest.mouseMove(vp.plotter, start + QPoint(-2 * i, -3 * i))
        QTest.qWait(20)
    settle()
    QTest.mouseRelease(
        vp.plotter,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        start + QPoint(-24, -36),
    )
    settle()
    save("sculpt")
    s.set_view_option("heatmap", False)

    # 3. interpolation between two expressions
    s.set_interp_end("A", "happy", 1)
    settle()
    s.set_interp_end("B", "surprised", 2)
    settle()
    s.set_tau(0.5)
    settle()
    s.commit_interpolation()
    s.set_frame(s.n_motion_frames - 1)
    s.select(None)
    settle()
    save("interpolate")

    # 4. the compare grid
    w.tabs.setCurrentWidget(w.compare_grid)
    grid = w.compare_grid
    grid.label_box.setCurrentIndex(grid.label_box.findData("surprised"))
    grid.count.setValue(6)
    grid.show_button.click()
    _wait_until(lambda: grid.plotter is not None and len(grid.faces) == 6)
    s.set_frame(s.timeline_frames - 1)
    settle()
    grid.select(4)
    settle()
    save("compare")

    # 5. the export dialog over the editor
    w.tabs.setCurrentWidget(w.viewport)
    s.generate("bareteeth", 5)
    _wait_until(lambda: s.source.label == "bareteeth")
    s.set_frame(s.n_motion_frames - 1)
    settle()
    dlg = w.show_export()
    corner = w.viewport.mapToGlobal(w.viewport.rect().bottomRight())
    dlg.move(corner.x() - dlg.width() - 20, corner.y() - dlg.height() - 20)
    dlg.path.setText(str(ini.parent / "bareteeth_seed5"))
    dlg.export_button.click()
    _wait_until(lambda: "Exported" in dlg.message.text())
    settle()
    w.viewport.hold_still()
    app.processEvents()
    save("export", _grab_with_dialog(w, dlg))
    dlg.close()

    # 6. a small GIF of the viewport playing
    from PIL import Image

    s.set_view_option("landmarks", False)
    frames = [vp.render_frame(t) for t in range(0, s.n_motion_frames, 2)]
    frames += frames[::-1]
    small = [
        Image.fromarray(np.ascontiguousarray(f)).resize((f.shape[1] // 2, f.shape[0] // 2))
        for f in frames
    ]
    small[0].save(out / "playback.gif", save_all=True, append_images=small[1:], duration=66, loop=0)
    print("wrote", out / "playback.gif")
    w.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
