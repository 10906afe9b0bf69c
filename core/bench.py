"""``python main.py bench decoder|generate``: speed of the shipped models on this machine.

Results are printed and (with ``--out``) written as JSON; docs/benchmarks.md records them.
main.py calls ``core.runtime.tune_malloc()`` before torch is imported (large tensors stay on
the heap; see ecosystem notes §5), as the app does.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np

__all__ = ["register", "time_calls"]


def time_calls(fn, runs: int = 50, warmup: int = 5) -> dict:
    """Median / p10 / p90 wall time of ``fn()`` in milliseconds."""
    for _ in range(warmup):
        fn()
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        t.append((time.perf_counter() - t0) * 1000)
    return {"median_ms": float(np.median(t)), "p10_ms": float(np.percentile(t, 10)),
            "p90_ms": float(np.percentile(t, 90)), "runs": runs}


def _bench_decoder(args) -> dict:
    import torch

    from core.pipeline import S2DPipeline

    pipe = S2DPipeline.load(device=args.device)
    neutral = pipe.face.vertices
    lm = pipe.face_landmarks(neutral)[None].repeat(30, 0)
    lm = lm + np.random.default_rng(0).normal(0, 0.002, lm.shape).astype(np.float32)
    out = {}
    for mode, sizes in (("eager", ()), ("traced", (1, 30))):
        pipe.use_traced(sizes)  # traced: as the studio decodes (S2DPipeline.use_traced)
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for b in (1, 30):
                cell = time_calls(lambda b=b: pipe.decode(neutral, lm[:b]), runs=args.runs)
                key = f"B{b}_threads{threads}" + ("_traced" if sizes else "")
                out[key] = cell
                print(f"decode {mode:<6} B={b:<2} threads={threads}: median "
                      f"{cell['median_ms']:.2f} ms (p10 {cell['p10_ms']:.2f}, "
                      f"p90 {cell['p90_ms']:.2f})")
    return out


def _run(args) -> int:
    import torch

    result = {"machine": {"platform": platform.platform(), "processor": platform.processor(),
                          "torch": torch.__version__, "device": args.device}}
    if args.what == "decoder":
        result["decoder"] = _bench_decoder(args)
    else:
        from core.generate import benchmark_generate

        result["generate"] = benchmark_generate(runs=args.runs, device=args.device)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
    return 0


def register(sub) -> None:
    p = sub.add_parser("bench", help="speed of the shipped models (decoder, generate)")
    p.add_argument("what", choices=("decoder", "generate"))
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default=None, help="write the results as JSON")
    p.set_defaults(func=_run)
