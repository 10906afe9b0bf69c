"""Speed of the shipped models on this machine (``python main.py bench decoder|generate``).

Results are printed and (with ``--out``) written as JSON; docs/benchmarks.md records them.
main.py calls ``core.runtime.tune_malloc()`` before torch is imported, so large tensors stay on
the heap (glibc's malloc would otherwise hand every multi-megabyte tensor back to the system
with ``munmap`` and fault it in again on the next call; see ``core.runtime``), as the app does.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable

import numpy as np

__all__ = ["time_calls", "bench_decoder", "bench_generate", "machine_info"]


def time_calls(fn: Callable[[], object], runs: int = 50, warmup: int = 5) -> dict:
    """Median / p10 / p90 wall time of ``fn()`` in milliseconds."""
    for _ in range(warmup):
        fn()
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        t.append((time.perf_counter() - t0) * 1000)
    return {
        "median_ms": float(np.median(t)),
        "p10_ms": float(np.percentile(t, 10)),
        "p90_ms": float(np.percentile(t, 90)),
        "runs": runs,
    }


def machine_info(device: str) -> dict:
    """Platform, processor, torch version and the device name of a benchmark."""
    import torch

    return {
        "platform": platform.platform(),
        "processor": platform.processor(),
        "torch": torch.__version__,
        "device": device,
    }


def bench_decoder(runs: int = 50, device: str = "cpu", log=print) -> dict:
    """Decode B = 1 and B = 30 frames, eager and traced, with 1 and 2 torch threads."""
    import torch

    from core.pipeline import S2DPipeline

    pipe = S2DPipeline.load(device=device)
    neutral = pipe.face.vertices
    lm = pipe.face_landmarks(neutral)[None].repeat(30, 0)
    lm = lm + np.random.default_rng(0).normal(0, 0.002, lm.shape).astype(np.float32)
    out = {}
    for mode, sizes in (("eager", ()), ("traced", (1, 30))):
        pipe.use_traced(sizes)  # traced: as the studio decodes (S2DPipeline.use_traced)
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for b in (1, 30):
                cell = time_calls(lambda b=b: pipe.decode(neutral, lm[:b]), runs=runs)
                key = f"B{b}_threads{threads}" + ("_traced" if sizes else "")
                out[key] = cell
                log(
                    f"decode {mode:<6} B={b:<2} threads={threads}: median "
                    f"{cell['median_ms']:.2f} ms (p10 {cell['p10_ms']:.2f}, "
                    f"p90 {cell['p90_ms']:.2f})"
                )
    return out


def bench_generate(runs: int = 10, device: str = "cpu", log=print) -> dict:
    """End-to-end ``MotionGenerator.generate`` (label + seed -> 30 dense frames).

    The label and the seed change every call (labels in turn, seed = call index); the shipped
    Motion3DGAN and S2D-Dec weights are used. ``tests/benchmarks/bench_generate.py`` times the
    stages separately.
    """
    from core.generate import MotionGenerator

    gen = MotionGenerator.load(device=device)
    gen.pipeline  # noqa: B018 - load S2D-Dec before timing
    calls = iter(range(10**9))

    def one() -> None:
        i = next(calls)
        gen.generate(gen.labels[i % len(gen.labels)], i)

    cell = time_calls(one, runs=runs, warmup=min(3, runs))
    log(
        f"generate (30 frames): median {cell['median_ms']:.1f} ms (p10 {cell['p10_ms']:.1f}, "
        f"p90 {cell['p90_ms']:.1f})"
    )
    return {"generate_30_frames": cell}
