"""Benchmark of the studio's interactive speed, in the real main window under Xvfb.

Run from the repository root (re-runs itself under ``xvfb-run`` when there is no display)::

    python tests/benchmarks/bench_gui.py              # table
    python tests/benchmarks/bench_gui.py --json out.json

What is measured (all with real Qt events through QTest, the viewport sized 1280x720):

* **drag**: the mouth corner is grabbed on frame 0 of a generated motion (the cost does not
  depend on the frame; a randomly initialised generator's later frames are not faces) and the
  mouse moves every 16 ms (a 60 Hz mouse) along a small circle; ``--drags`` (3) drags one after
  another, their latencies pooled (later drags used to be slower than the first). Latency of a move = from sending the mouse event until the viewport swaps a
  frame that shows a face decoded from that move's (or a later) landmark positions
  (``QOpenGLWidget.frameSwapped``). Moves superseded by the coalescing count with the time
  until a newer position is on screen.
* **playback**: frames swapped per second while the session plays as fast as its timer allows
  (120 fps requested), and at the default 30 fps (dropped frames show as < 30).
* **generate**: from the click on "Generate" (a new seed each time, so nothing is cached) to
  the first frame of the new motion on screen.
* **frame costs**: ``plotter.repaint()`` of the viewport (points modified, as in a drag) and
  ``ren_win.Render()`` alone, alternating in one process between the view as shipped and the
  view without back-face culling of the skin (``app.widgets.scene.SkinCulling``), with its
  frames handed to Qt's compositor instead of the child window
  (``app.widgets.direct_present``), there also without the fast frame hand-over
  (``app.widgets.gl_view.StudioInteractor``); also with an empty scene (the fixed cost of
  presenting a frame, both ways) and as a still frame is drawn, with FXAA
  (``app.widgets.gl_view.StillAntiAliasing``; drag and playback frames are drawn without).
  Wall median and CPU mean (app threads) of the second repaint after each switch (the first
  one after a switch is not counted).

Models: the trained weights in ``models/`` when present; otherwise randomly initialised
networks of the same architecture (the timings are the same; the faces are not meaningful).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _display import ensure_display  # noqa: E402 - after the path setup

sys.path.insert(0, str(ROOT))

VIEWPORT = (1280, 720)  # default size of the 3-D view (--viewport)


def _models():
    """(pipeline, generator, description): trained if available, else random weights."""
    import torch

    from core.assets import load_face, load_landmarks, resource_path
    from core.generate import DEFAULT_GAN, MotionGenerator
    from core.pipeline import DEFAULT_DECODER, S2DPipeline

    torch.set_num_threads(1)
    kinds = []
    if DEFAULT_DECODER.is_file():
        pipe = S2DPipeline.load(device="cpu")
        kinds.append("trained S2D-Dec")
    else:
        from core.mesh.hierarchy import MeshHierarchy
        from core.models.s2d_decoder import DecoderConfig, S2DDecoder

        torch.manual_seed(0)
        h = MeshHierarchy.load(resource_path("hierarchy.npz"))
        dec = S2DDecoder(DecoderConfig.from_hierarchy(h), h).eval()
        pipe = S2DPipeline(dec, "scale", load_face(), load_landmarks(), torch.device("cpu"), {})
        kinds.append("random-init S2D-Dec")
    if DEFAULT_GAN.is_file():
        from core.models.loaders import load_gan

        gan, meta = load_gan(DEFAULT_GAN, "cpu")
        kinds.append("trained Motion3DGAN")
    else:
        from core.data.recipes import LABELS
        from core.models.motion_gan import Motion3DGAN, MotionGANConfig

        gan = Motion3DGAN(MotionGANConfig(LABELS)).eval()
        kinds.append("random-init Motion3DGAN")
    return pipe, MotionGenerator(gan, pipe, device="cpu"), ", ".join(kinds)


def _xvfb_pid() -> int | None:
    """The X server of our DISPLAY (its CPU time counts: it receives every frame)."""
    disp = os.environ.get("DISPLAY", "")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"Xvfb") and disp.encode() in cmd:
            return int(proc.name)
    return None


def cpu_seconds(xvfb: int | None) -> float:
    """CPU time (user + system) of this process's threads plus the X server's."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    total = ru.ru_utime + ru.ru_stime
    if xvfb is not None:
        try:
            fields = Path(f"/proc/{xvfb}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


def _pct(values, q):
    import numpy as np

    return float(np.percentile(np.asarray(values, float), q)) if len(values) else float("nan")


class Bench:
    def __init__(self, args) -> None:
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication

        self.app = QApplication.instance() or QApplication([sys.argv[0]])
        from app.main import configure_pyvista, gl_renderer

        self.renderer = gl_renderer()
        msaa = configure_pyvista()
        from app.main_window import MainWindow
        from app.session import StudioSession

        pipe, gen, self.models = _models()
        self.session = s = StudioSession(pipe, gen)
        self.tmp = tempfile.mkdtemp(prefix="s2d-bench-")
        settings = QSettings(os.path.join(self.tmp, "bench.ini"), QSettings.Format.IniFormat)
        self.window = w = MainWindow(s, settings, multi_samples=msaa, start=False)
        self.shown: list[tuple[int, float]] = []
        w.viewport.frame_shown.connect(lambda v, t: self.shown.append((v, t)))
        self.timings: dict[str, list[float]] = {}
        self.xvfb = _xvfb_pid()
        s.timing.connect(lambda lane, ms: self.timings.setdefault(lane, []).append(ms))
        s.runner.finished.connect(  # worker-thread CPU time per job (contention-free cost)
            lambda lane, _w, cpu: self.timings.setdefault(lane + "_cpu", []).append(1e3 * cpu)
        )
        w.show()
        self.wait_until(lambda: w.isVisible(), 5.0)
        self.wait(0.3)
        vp = w.viewport.plotter  # grow the window until the 3-D view has the asked size
        size = tuple(int(v) for v in args.viewport.split("x"))
        w.resize(w.width() + size[0] - vp.width(), w.height() + size[1] - vp.height())
        self.wait(0.3)
        s.start()
        self.wait_until(lambda: s.device != "…", 60.0)

    # ------------------------------------------------------------------------------- utils
    def wait(self, seconds: float) -> None:
        from PySide6.QtTest import QTest

        QTest.qWait(int(seconds * 1000))

    def wait_until(self, cond, timeout: float) -> None:
        from PySide6.QtTest import QTest

        end = time.perf_counter() + timeout
        while not cond():
            if time.perf_counter() > end:
                raise TimeoutError("benchmark step timed out")
            QTest.qWait(1)

    def idle(self) -> None:
        s = self.session
        self.wait_until(lambda: s.idle, 30.0)

    # ------------------------------------------------------------------------------ cases
    def generate(self, n: int) -> dict:
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        s, panel = self.session, self.window.generate_panel
        out = []
        for i in range(n):
            seed = 1000 + i
            panel.seed_spin.blockSignals(True)
            panel.seed_spin.setValue(seed)
            panel.seed_spin.blockSignals(False)
            self.idle()
            self.shown.clear()
            t0 = time.perf_counter()
            QTest.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
            seen = []

            def done(seed=seed, seen=seen):
                if s.source.seed == seed and s.source.kind == "generate" and not seen:
                    seen.append(len(self.shown))
                return bool(seen) and len(self.shown) > seen[0]

            self.wait_until(done, 30.0)
            out.append((self.shown[-1][1] - t0) * 1000.0)
        cpu = self.timings.get("generate_cpu", [])[-n:]
        return {
            "click_to_first_frame_ms": out,
            "median_ms": _pct(out, 50),
            "p95_ms": _pct(out, 95),
            "worker_ms": self.timings.get("generate", [])[-n:],
            "worker_cpu_median_ms": _pct(cpu, 50),
        }

    def drag(self, moves: int, frame: int = 0, landmark: int = 48) -> dict:
        import numpy as np
        from PySide6.QtCore import QPoint, Qt
        from PySide6.QtTest import QTest

        s, vp = self.session, self.window.viewport
        s.set_frame(frame)
        self.wait(0.2)
        self.timings.pop("drag", None)
        self.timings.pop("drag_cpu", None)
        start = vp.world_to_widget(s.current_landmarks()[landmark]).toPoint()
        QTest.mousePress(
            vp.plotter, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start
        )
        assert s.dragging, "the landmark was not grabbed"
        sent: list[tuple[int, float]] = []
        self.shown.clear()
        c0 = cpu_seconds(self.xvfb)
        for i in range(1, moves + 1):
            a = 2 * np.pi * i / 60.0
            pos = start + QPoint(round(30 * np.sin(a)), round(-30 * (1 - np.cos(a))))
            t0 = time.perf_counter()
            QTest.mouseMove(vp.plotter, pos)
            sent.append((s.sculpt.drag_version, t0))
            self.wait_until(lambda t0=t0: time.perf_counter() - t0 >= 0.016, 1.0)
        self.idle()
        cpu = cpu_seconds(self.xvfb) - c0
        self.wait(0.1)
        QTest.mouseRelease(
            vp.plotter, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos
        )
        self.idle()
        lat = []
        for version, t0 in sent:
            t = [ts for v, ts in self.shown if v >= version and ts >= t0]
            if t:
                lat.append((min(t) - t0) * 1000.0)
        dec = self.timings.get("drag", [])
        dec_cpu = self.timings.get("drag_cpu", [])
        return {
            "moves": moves,
            "measured": len(lat),
            "latencies_ms": lat,
            "median_ms": _pct(lat, 50),
            "p95_ms": _pct(lat, 95),
            "max_ms": max(lat) if lat else float("nan"),
            "decodes": len(dec),
            "decode_median_ms": _pct(dec, 50),
            "decode_cpu_median_ms": _pct(dec_cpu, 50),
            "cpu_ms_per_move": 1000.0 * cpu / moves,
        }

    def drags(self, moves: int, n: int, mode: str) -> dict:
        s = self.session
        s.set_mode(mode)
        if s.mode != mode:
            raise RuntimeError(f"sculpting mode {mode!r} is unavailable")
        try:
            return {"mode": mode, **pooled_drags([self.drag(moves) for _ in range(n)])}
        finally:
            s.set_mode("direct")

    def playback(self, fps: float, seconds: float) -> dict:
        s = self.session
        s.set_fps(fps)
        s.set_loop(True)
        s.set_frame(0)
        self.wait(0.2)
        self.shown.clear()
        s.play()
        t0, c0 = time.perf_counter(), cpu_seconds(self.xvfb)
        self.wait(seconds)
        s.pause()
        t1, c1 = time.perf_counter(), cpu_seconds(self.xvfb)
        n = sum(1 for _v, t in self.shown if t0 <= t <= t1)
        return {
            "requested_fps": fps,
            "shown_fps": n / (t1 - t0),
            "seconds": t1 - t0,
            "frames": n,
            "cpu_ms_per_frame": 1000.0 * (c1 - c0) / max(n, 1),
        }

    def frame_costs(self, reps: int) -> dict:
        import resource

        import numpy as np

        vp = self.window.viewport
        p, rw = vp.plotter, vp.plotter.ren_win

        def cpu() -> float:
            ru = resource.getrusage(resource.RUSAGE_SELF)
            return ru.ru_utime + ru.ru_stime

        actors = [*p.renderer.GetActors(), vp.caption]
        shown = [a.GetVisibility() for a in actors]
        configs = {  # (back-face culling, fast hand-over, direct present)
            "shipped": (True, True, True),
            "no teeth/eyes": (True, True, True),
            "no culling": (False, True, True),
            "Qt compositor (no direct present)": (True, True, False),
            "Qt compositor, no fast hand-over": (True, False, False),
            "empty scene": (True, True, True),
            "empty scene, Qt compositor": (True, True, False),
            "still frame (FXAA)": (True, True, True),
        }
        presenter = p.presenter

        def direct(on: bool) -> None:
            if presenter is None:
                return
            presenter.failed = not on
            if not on:
                presenter._release()
            presenter._window.setVisible(on)
            if on:
                self.wait_until(lambda: presenter.active, 5.0)

        parts = set(map(id, vp.face.parts.actors)) if vp.face.parts is not None else set()
        out = {name: {"repaint": [], "repaint_cpu": [], "render": []} for name in configs}
        try:
            for _ in range(reps):
                for name, (cull, fast, present) in configs.items():
                    vp.face.culling.enabled = cull
                    p.fast_handover_enabled = fast
                    direct(present)
                    vp.still_aa.enabled = name == "still frame (FXAA)"  # off: a drag's frames
                    vp.still_aa.hold_still()
                    for a, v in zip(actors, shown, strict=True):
                        hide = name.startswith("empty scene") or (
                            name == "no teeth/eyes" and id(a) in parts
                        )
                        a.SetVisibility(v and not hide)
                    p.repaint()  # unmeasured: the first frame after a switch rebuilds state
                    vp.face.set_points(vp.face.skin_mesh.points.copy())
                    t0, c0 = time.perf_counter(), cpu()
                    p.repaint()
                    out[name]["repaint"].append(1e3 * (time.perf_counter() - t0))
                    out[name]["repaint_cpu"].append(1e3 * (cpu() - c0))
                    vp.face.skin_mesh.Modified()
                    t0 = time.perf_counter()
                    rw.Render()
                    out[name]["render"].append(1e3 * (time.perf_counter() - t0))
        finally:
            direct(True)
            vp.face.culling.enabled = True
            p.fast_handover_enabled = True
            vp.still_aa.enabled = True
            for a, v in zip(actors, shown, strict=True):
                a.SetVisibility(v)
            p.update()
        return {
            name: {
                "repaint_median_ms": _pct(r["repaint"], 50),
                "repaint_cpu_mean_ms": float(np.mean(r["repaint_cpu"])),
                "render_median_ms": _pct(r["render"], 50),
            }
            for name, r in out.items()
        }

    def close(self) -> None:
        self.window.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def pooled_drags(runs: list[dict]) -> dict:
    """Several :meth:`Bench.drag` results as one (latencies pooled; per-drag medians kept)."""
    lat = [v for r in runs for v in r["latencies_ms"]]
    return {
        "drags": len(runs),
        "moves": sum(r["moves"] for r in runs),
        "measured": len(lat),
        "median_ms": _pct(lat, 50),
        "p95_ms": _pct(lat, 95),
        "max_ms": max(lat),
        "per_drag_median_ms": [r["median_ms"] for r in runs],
        "per_drag_p95_ms": [r["p95_ms"] for r in runs],
        "decodes": sum(r["decodes"] for r in runs),
        "decode_median_ms": _pct([r["decode_median_ms"] for r in runs], 50),
        "decode_cpu_median_ms": _pct([r["decode_cpu_median_ms"] for r in runs], 50),
        "cpu_ms_per_move": sum(r["cpu_ms_per_move"] * r["moves"] for r in runs)
        / max(1, sum(r["moves"] for r in runs)),
    }


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--json", default=None, help="also write the results to this file")
    p.add_argument("--moves", type=int, default=180, help="mouse moves per drag")
    p.add_argument(
        "--drags",
        type=int,
        default=3,
        help="drags, one after another on the same landmark (results pooled)",
    )
    p.add_argument("--generate", type=int, default=8, help="generate clicks")
    p.add_argument("--seconds", type=float, default=4.0, help="playback seconds per case")
    p.add_argument(
        "--mode",
        choices=("direct", "smooth", "coherent"),
        default="direct",
        help="sculpting mode of the drags (coherent: the other landmarks follow the prior)",
    )
    p.add_argument(
        "--frames",
        type=int,
        default=60,
        help="repaints per configuration for the frame costs (0: skip)",
    )
    p.add_argument("--viewport", default=f"{VIEWPORT[0]}x{VIEWPORT[1]}", help="3-D view size, WxH")
    args = p.parse_args(argv)
    ensure_display(__file__, argv)
    from core.runtime import tune_malloc

    tune_malloc()
    os.environ.setdefault("QT_API", "pyside6")
    bench = Bench(args)
    try:
        vp = bench.window.viewport.plotter
        res = {
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "gl_renderer": bench.renderer,
                "load_avg": os.getloadavg(),
                "viewport": [vp.width(), vp.height()],
                "models": bench.models,
            },
            "generate": bench.generate(args.generate),
            "drag": bench.drags(args.moves, args.drags, args.mode),
            "playback_max": bench.playback(120.0, args.seconds),
            "playback_30": bench.playback(30.0, args.seconds),
            "frame_costs": bench.frame_costs(args.frames) if args.frames > 0 else {},
        }
    finally:
        bench.close()
    g, d = res["generate"], res["drag"]
    pm, p30 = res["playback_max"], res["playback_30"]
    m = res["machine"]
    print(
        f"GUI benchmark — {m['gl_renderer']}, {m['cpus']} CPUs, viewport "
        f"{m['viewport'][0]}x{m['viewport'][1]}, {m['models']}"
    )
    print(f"{'case':<44} {'result':>12} {'target':>10}")
    print(
        f"{'drag (' + d['mode'] + ') -> face on screen, p95 (median)':<44} "
        f"{d['p95_ms']:7.1f} ms ({d['median_ms']:.1f}) {'<= 33 ms':>10}"
    )
    print(
        f"{'  per drag: median / p95 (ms)':<44} "
        + ", ".join(
            f"{m:.0f}/{p:.0f}"
            for m, p in zip(d["per_drag_median_ms"], d["per_drag_p95_ms"], strict=True)
        )
    )
    print(
        f"{'  decodes / moves; decode median':<44} "
        f"{d['decodes']:>4}/{d['moves']}; {d['decode_median_ms']:.1f} ms"
    )
    print(f"{'  CPU time per mouse move (app + X server)':<44} {d['cpu_ms_per_move']:9.1f} ms")
    print(f"{'playback, as fast as possible':<44} {pm['shown_fps']:9.1f} fps {'>= 30 fps':>10}")
    print(f"{'  CPU time per frame (app + X server)':<44} {pm['cpu_ms_per_frame']:9.1f} ms")
    print(f"{'playback at 30 fps (frames shown per s)':<44} {p30['shown_fps']:9.1f} fps")
    print(
        f"{'generate: click -> first frame, median (p95)':<44} "
        f"{g['median_ms']:7.1f} ms ({g['p95_ms']:.1f}) {'<= 300 ms':>9}"
    )
    print(f"{'  generate job CPU time (worker), median':<44} {g['worker_cpu_median_ms']:7.1f} ms")
    if res["frame_costs"]:
        print(f"{'frame costs (ms)':<44} {'repaint':>8} {'its CPU':>8} {'Render()':>9}")
        for name, c in res["frame_costs"].items():
            print(
                f"{'  ' + name:<44} {c['repaint_median_ms']:8.1f} "
                f"{c['repaint_cpu_mean_ms']:8.1f} {c['render_median_ms']:9.1f}"
            )
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
