"""Rebuild ``resources/mediapipe_response.npz`` and ``resources/mediapipe_ibug68.json`` (written
beside ``--out``; see :mod:`core.fit.detector_response` and :mod:`core.fit.mp68`).

    OMP_NUM_THREADS=1 nice -n 10 python tests/benchmarks/train_mediapipe_response.py \
        [--samples 300] [--seed 7] [--ridge 30] [--out resources/mediapipe_response.npz]
        [--raw /tmp/detections.npz]

Needs mediapipe (``pip install -e '.[anyface]'``); about 1 s per identity on one core. The
identities are drawn with their own seed; the benchmark evaluates on other seeds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from core.fit.detector_response import (  # noqa: E402
    ibug68_weights,
    save_response,
    train_response,
)
from core.fit.mp68 import IBUG68_RESOURCE  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--ridge", type=float, default=30.0)
    ap.add_argument("--raw", default=None, help="also save the detections (z, y) here")
    ap.add_argument("--out", default=str(ROOT / "resources" / "mediapipe_response.npz"))
    args = ap.parse_args()
    t0 = time.perf_counter()

    def say(i: int, n: int) -> None:
        if i % 20 == 0 or i == n:
            print(f"{i}/{n} identities, {time.perf_counter() - t0:.0f} s", flush=True)

    model, facts = train_response(args.samples, seed=args.seed, ridge=args.ridge, progress=say)
    raw_z, raw_y = facts["z"], facts["y"]
    if args.raw:
        np.savez(args.raw, z=raw_z, y=raw_y)
    facts = {k: v for k, v in facts.items() if k not in ("z", "y")}
    save_response(args.out, model, facts)
    print(f"wrote {args.out}: {facts}")
    ids, weights, f68 = ibug68_weights(raw_z, raw_y)
    out68 = Path(args.out).with_name(IBUG68_RESOURCE)
    out68.write_text(
        json.dumps({"ids": ids.tolist(), "weights": np.round(weights, 6).tolist(), **f68}) + "\n"
    )
    print(f"wrote {out68}: {f68}")


if __name__ == "__main__":
    main()
