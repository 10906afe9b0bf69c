"""Benchmark: label + seed -> 30 dense frames (Motion3DGAN + SRVF inversion + S2D-Dec), CPU.

Run from the repository root::

    python tests/benchmarks/bench_generate.py                  # table
    python tests/benchmarks/bench_generate.py --threads 1      # one torch thread
    python tests/benchmarks/bench_generate.py --write          # also update docs/motion3dgan.md

``core.runtime.tune_malloc()`` runs before torch is imported. Models: the shipped weights; a
missing file is replaced by a randomly initialised model of the default architecture (same
cost, reported as "random" in the table). Each stage is timed separately over ``--runs`` calls
(label and seed change every call) after ``--warmup`` calls; the table gives the median and the
10th/90th percentiles in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def _generator(weights: Path, decoder_weights: Path):
    """(MotionGenerator, {"motion3dgan": "trained"|"random", "s2d_decoder": ...})."""
    import torch

    from core.assets import load_face, load_landmarks
    from core.data.recipes import LABELS
    from core.generate import MotionGenerator
    from core.mesh.hierarchy import MeshHierarchy
    from core.models.loaders import load_gan
    from core.models.motion_gan import Motion3DGAN, MotionGANConfig
    from core.models.s2d_decoder import DecoderConfig, S2DDecoder
    from core.paths import RESOURCES
    from core.pipeline import S2DPipeline

    kinds = {}
    if weights.is_file():
        gan, _ = load_gan(weights)
        kinds["motion3dgan"] = "trained"
    else:
        gan = Motion3DGAN(MotionGANConfig(labels=LABELS)).eval()
        kinds["motion3dgan"] = "random"
    if decoder_weights.is_file():
        pipe = S2DPipeline.load(decoder_weights, device="cpu")
        kinds["s2d_decoder"] = "trained"
    else:
        torch.manual_seed(0)
        h = MeshHierarchy.load(RESOURCES / "hierarchy.npz")
        dec = S2DDecoder(DecoderConfig.from_hierarchy(h), h).eval()
        pipe = S2DPipeline(dec, "scale", load_face(), load_landmarks(), torch.device("cpu"), {})
        kinds["s2d_decoder"] = "random"
    return MotionGenerator(gan, pipe), kinds


def _stats(ms: list[float]) -> dict:
    import numpy as np

    a = np.asarray(ms)
    return {
        "median": float(np.median(a)),
        "p10": float(np.percentile(a, 10)),
        "p90": float(np.percentile(a, 90)),
    }


def run(args) -> dict:
    from core.runtime import tune_malloc

    malloc = tune_malloc()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from core.assets import load_face, load_landmarks
    from core.data.recipes import LABELS

    gen, kinds = _generator(Path(args.weights), Path(args.decoder_weights))
    neutral = load_face().vertices
    lm0 = load_landmarks().gather(neutral)
    stages = {
        "total generate()": [],
        "Motion3DGAN sample": [],
        "SRVF -> landmarks": [],
        "S2D-Dec decode (30 frames)": [],
    }
    for i in range(args.warmup + args.runs):
        label, seed = LABELS[i % len(LABELS)], i
        t0 = time.perf_counter()
        gen.generate(label, seed)
        t1 = time.perf_counter()
        q, length = gen.sample_srvf([label], [seed])
        t2 = time.perf_counter()
        lm = gen.landmark_motion(q[0], length[0], lm0)
        t3 = time.perf_counter()
        gen.decode(neutral, lm)
        t4 = time.perf_counter()
        if i >= args.warmup:
            for name, dt in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                stages[name].append(1000 * dt)
    return {
        "stages": {k: _stats(v) for k, v in stages.items()},
        "models": kinds,
        "threads": torch.get_num_threads(),
        "malloc_tuned": malloc,
        "runs": args.runs,
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
        "torch": torch.__version__,
    }


def table(res: dict) -> str:
    lines = ["| stage | median (ms) | p10 | p90 |", "|---|---|---|---|"]
    for name, s in res["stages"].items():
        lines.append(f"| {name} | {s['median']:.1f} | {s['p10']:.1f} | {s['p90']:.1f} |")
    la = ", ".join(f"{x:.1f}" for x in res["load_average"])
    lines += [
        "",
        f"{res['runs']} runs, torch {res['torch']}, {res['threads']} thread(s), "
        f"{res['cores']} cores ({res['cpu']}), malloc tuned: "
        f"{all(res['malloc_tuned'].values())}, models: "
        f"{', '.join(f'{k} {v}' for k, v in res['models'].items())}, load average during "
        f"the run: {la} (the machine is shared; medians under load are pessimistic).",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--weights", default=str(ROOT / "models" / "motion3dgan.safetensors"))
    ap.add_argument("--decoder-weights", default=str(ROOT / "models" / "s2d_decoder.safetensors"))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--write", action="store_true", help="update docs/motion3dgan.md (bench)")
    args = ap.parse_args(argv)
    res = run(args)
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        print(table(res))
    if args.write:
        from core.eval.motion_eval import write_report

        write_report(
            ROOT / "docs" / "motion3dgan.md",
            ROOT / "docs" / "motion3dgan_metrics.json",
            f"bench-{res['threads']}-thread",
            table(res),
            res,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
