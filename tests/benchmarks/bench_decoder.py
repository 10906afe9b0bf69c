"""Benchmark: mesh-hierarchy build time and S2D decoder CPU inference latency.

Run from the repository root::

    python tests/benchmarks/bench_decoder.py            # table
    python tests/benchmarks/bench_decoder.py --json     # machine-readable
    python tests/benchmarks/bench_decoder.py --mesh resources/face.npz   # any npz with vertices/faces

The default mesh mimics the face template: a ~4200-vertex head plus two small eyeball components
(4294 vertices in all). Every (allocator, threads, batch) cell is timed in a fresh worker process,
because glibc's ``mallopt`` cannot be undone inside a process: "default" is plain glibc malloc,
"tuned" calls ``core.runtime.tune_malloc()`` before importing torch. Each cell reports the median
(and 10th/90th percentiles) of ``--runs`` calls under ``torch.inference_mode()`` in float32.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def synthetic_face():
    """(V, 3) float64, (F, 3) int64: ellipsoidal head (4202 v) + eyeballs (42 v and 50 v)."""
    import numpy as np
    import trimesh

    head = trimesh.creation.uv_sphere(radius=0.1, count=(44, 50))
    head.vertices *= [0.8, 1.0, 0.9]
    eye_r = trimesh.creation.icosphere(subdivisions=1, radius=0.012)
    eye_r.vertices += [0.03, 0.02, 0.085]
    eye_l = trimesh.creation.uv_sphere(radius=0.012, count=(6, 6))
    eye_l.vertices += [-0.03, 0.02, 0.085]
    m = trimesh.util.concatenate([head, eye_r, eye_l])
    return np.asarray(m.vertices), np.asarray(m.faces)


def _worker(args) -> None:
    """One process = one allocator mode; prints a JSON list of timing cells."""
    mode = args.malloc[0]
    if mode == "tuned":
        from core.runtime import tune_malloc

        tune_malloc()
    import numpy as np
    import torch

    from core.mesh import MeshHierarchy
    from core.models import DecoderConfig, S2DDecoder

    h = MeshHierarchy.load(args.hierarchy)
    torch.manual_seed(0)
    model = S2DDecoder(DecoderConfig.from_hierarchy(h, channels=tuple(args.channels)), h).eval()
    cells = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        for batch in args.batch:
            x = torch.randn(batch, 68, 3)
            with torch.inference_mode():
                for _ in range(3):
                    model(x)
                times = []
                for _ in range(args.runs):
                    t0 = time.perf_counter()
                    model(x)
                    times.append(time.perf_counter() - t0)
            ms = np.asarray(times) * 1e3
            cells.append(
                {
                    "malloc": mode,
                    "threads": threads,
                    "batch": batch,
                    "median_ms": float(np.median(ms)),
                    "p10_ms": float(np.percentile(ms, 10)),
                    "p90_ms": float(np.percentile(ms, 90)),
                    "runs": args.runs,
                }
            )
    print(json.dumps(cells))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--mesh", help="npz with 'vertices' (V,3) and 'faces' (F,3); default synthetic")
    p.add_argument("--runs", type=int, default=25, help="timed calls per cell (default 25)")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--batch", type=int, nargs="+", default=[1, 30])
    p.add_argument("--malloc", nargs="+", default=["default", "tuned"],
                   choices=["default", "tuned"])  # fmt: skip
    p.add_argument("--channels", type=int, nargs="+", default=[128, 64, 32, 32, 16])
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--hierarchy", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        _worker(args)
        return 0
    if args.runs < 1:
        p.error("--runs must be >= 1")

    import numpy as np

    from core.mesh import build_hierarchy

    if args.mesh:
        with np.load(args.mesh, allow_pickle=False) as d:
            vertices, faces = d["vertices"], d["faces"]
    else:
        vertices, faces = synthetic_face()
    t0 = time.perf_counter()
    h = build_hierarchy(vertices, faces, factors=(4, 4, 4, 4), spiral_length=9)
    build_s = time.perf_counter() - t0
    n_levels = len(args.channels)
    if n_levels != h.n_levels:
        p.error(f"--channels needs {h.n_levels} values (one per level), got {n_levels}")

    cells = []
    with tempfile.TemporaryDirectory() as tmp:
        hpath = Path(tmp) / "hierarchy.npz"
        h.save(hpath)
        for mode in args.malloc:
            cmd = [sys.executable, __file__, "--worker", "--malloc", mode, "--hierarchy",
                   str(hpath), "--runs", str(args.runs),
                   "--threads", *map(str, args.threads), "--batch", *map(str, args.batch),
                   "--channels", *map(str, args.channels)]  # fmt: skip
            out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
            if out.returncode != 0:
                print(out.stderr, file=sys.stderr)
                return out.returncode
            cells.extend(json.loads(out.stdout.strip().splitlines()[-1]))

    report = {
        "mesh": args.mesh or "synthetic head + 2 eyes",
        "level_sizes": list(h.sizes),
        "components": [int(c) for c in np.bincount(h.labels[0])],
        "spiral_lengths": list(h.spiral_lengths),
        "channels": args.channels,
        "build_hierarchy_s": round(build_s, 3),
        "cpu_count": os.cpu_count(),
        "load_avg_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(unset)"),
        "python": platform.python_version(),
        "cells": cells,
    }
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"mesh: {report['mesh']}, levels {report['level_sizes']}, "
          f"components {report['components']}")  # fmt: skip
    print(f"build_hierarchy (factors 4,4,4,4, spirals 9): {build_s:.2f} s")
    print(f"cpus {report['cpu_count']}, load avg {report['load_avg_1min']}, "
          f"OMP_WAIT_POLICY {report['omp_wait_policy']}")  # fmt: skip
    print(f"{'malloc':8} {'threads':>7} {'B':>4} {'median ms':>10} {'p10':>8} {'p90':>8} "
          f"{'ms/frame':>9}")  # fmt: skip
    for c in cells:
        print(f"{c['malloc']:8} {c['threads']:>7} {c['batch']:>4} {c['median_ms']:>10.2f} "
              f"{c['p10_ms']:>8.2f} {c['p90_ms']:>8.2f} {c['median_ms'] / c['batch']:>9.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
