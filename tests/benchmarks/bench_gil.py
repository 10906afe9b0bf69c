"""Benchmark: a B=1 S2D-Dec decode, eager vs traced, alone and beside a thread holding the GIL.

Run from the repository root::

    python tests/benchmarks/bench_gil.py [--n 30]

The studio's GUI thread keeps the Python GIL while VTK renders a frame; a decode on the worker
thread that needs the GIL for each of its ~100 torch calls then waits for the renders. A
pure-Python busy loop in a second thread stands in for the GUI thread here (it hands the GIL
over only every switch interval, 5 ms). ``S2DPipeline.use_traced`` turns the decoder into one
TorchScript call that runs without the GIL. Uses the trained weights in ``models/`` (random
weights of the same architecture when they are missing: the timings are the same).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    import torch

    from core.pipeline import DEFAULT_DECODER, S2DPipeline

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=30, help="decodes per case")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    if not DEFAULT_DECODER.is_file():
        sys.exit(f"{DEFAULT_DECODER} is missing: run `python main.py train-decoder` first")
    pipe = S2DPipeline.load(device="cpu")
    lm = pipe.face_landmarks(pipe.face.vertices)[None].copy()
    lm[0, 48, 2] += 0.003

    def timed(n: int) -> list[float]:
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            pipe.decode(pipe.face.vertices, lm)
            out.append(1000.0 * (time.perf_counter() - t0))
        return out

    stop = threading.Event()

    def hog() -> None:
        while not stop.is_set():
            sum(range(20000))

    rows = []
    for name, sizes in (("eager", ()), ("traced", (1,))):
        pipe.use_traced(sizes)
        timed(3)  # warm-up (and the trace)
        alone = timed(args.n)
        th = threading.Thread(target=hog)
        th.start()
        try:
            beside = timed(max(5, args.n // 3))
        finally:
            stop.set()
            th.join()
            stop.clear()
        rows.append((name, np.median(alone), np.median(beside), np.percentile(beside, 95)))
    print(
        f"B=1 decode, torch {torch.__version__}, 1 thread, switch interval "
        f"{sys.getswitchinterval() * 1000:.0f} ms"
    )
    print(f"{'decoder':<8} {'alone median':>13} {'beside GIL holder median':>25} {'p95':>8}")
    for name, a, b, b95 in rows:
        print(f"{name:<8} {a:10.1f} ms {b:22.1f} ms {b95:5.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
