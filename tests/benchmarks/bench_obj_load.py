"""OBJ loading speed: the streaming reader vs the vectorised parser (docs/any_face.md, Speed).

    nice -n 10 python tests/benchmarks/bench_obj_load.py [--n 708] [--obj /tmp/anyface/big.obj]

Writes a generated n x n grid OBJ (half quads, half triangles, UVs, two materials; 708 gives
501,264 vertices, 50 MB) where asked (never into the repository), then loads it with
``load_any_mesh`` three times with each parser, alternating, and prints the medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import core.io.obj_reader as reader  # noqa: E402
from core.fit.load import load_any_mesh  # noqa: E402


def write_grid(path: Path, n: int) -> None:
    """An n x n vertex grid with UVs: quads in the first half, triangles after."""
    x, y = np.meshgrid(np.linspace(-0.1, 0.1, n), np.linspace(-0.1, 0.1, n))
    z = 0.02 * np.cos(x * 20) * np.cos(y * 15)
    v = np.stack([x, y, z], -1).reshape(-1, 3)
    uv = np.stack([(x + 0.1) / 0.2, (y + 0.1) / 0.2], -1).reshape(-1, 2)
    i = np.arange(n * n).reshape(n, n)
    q = np.stack([i[:-1, :-1], i[:-1, 1:], i[1:, 1:], i[1:, :-1]], -1).reshape(-1, 4) + 1
    half = len(q) // 2
    quads, tris = np.repeat(q[:half], 2, axis=1), np.repeat(q[half:, :3], 2, axis=1)
    with open(path, "w") as f:
        f.write("mtllib grid.mtl\no grid\n")
        f.write(("v %.6f %.6f %.6f\n" * len(v)) % tuple(v.ravel()))
        f.write(("vt %.6f %.6f\n" * len(uv)) % tuple(uv.ravel()))
        f.write("usemtl skin\n" + ("f %d/%d %d/%d %d/%d %d/%d\n" * half) % tuple(quads.ravel()))
        f.write("usemtl lips\n" + ("f %d/%d %d/%d %d/%d\n" * len(tris)) % tuple(tris.ravel()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=708)
    ap.add_argument("--obj", default="/tmp/anyface/big.obj")
    args = ap.parse_args()
    path = Path(args.obj)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_grid(path, args.n)
    times: dict[str, list[float]] = {"streaming": [], "vectorised": []}
    for _ in range(3):
        for mode in times:
            reader.MIN_FAST_BYTES = 1 << 62 if mode == "streaming" else 1 << 20
            t = time.perf_counter()
            mesh = load_any_mesh(path)
            times[mode].append(time.perf_counter() - t)
    print(
        f"{path}: {mesh.n_vertices:,} vertices, {mesh.n_faces:,} triangles, "
        f"{path.stat().st_size / 1e6:.0f} MB; load average {os.getloadavg()[0]:.1f}"
    )
    med = {m: statistics.median(ts) for m, ts in times.items()}
    for mode, ts in times.items():
        print(f"  {mode}: median {med[mode]:.2f} s of {[round(t, 2) for t in ts]}")
    print(f"  ratio {med['streaming'] / med['vectorised']:.1f}x")


if __name__ == "__main__":
    main()
