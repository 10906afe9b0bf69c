"""Benchmark: drags on top of generated expressions, decoded as the studio decodes edits.

Issue 10's drag protocol (:mod:`core.eval.drag`: every landmark by 5, 10 and 15 mm in ±x and
±z) applied to the apex frame (largest mean landmark motion) of generated motions instead of
the neutral face, and decoded with the residual convention of :mod:`core.edit.residual`
(``base + D(edited) − D(base)``) under each edit gate:

- ``whole``: ``D`` gates the whole edited input (the studio before the per-edit gate): a large
  drag closes the gate and fades the expression's learned detail with it;
- ``edit``: ``S2DPipeline.decode_edit``: the base keeps its gate and learned detail, only the
  change of the learned part is faded by how unusual the edit's own displacement is;
- ``edit+repair``: the same with the fold repair of the triangles the edit turned over
  (``S2DPipeline.fold_repair``, :mod:`core.geometry.fold_repair`): the studio since the eighth
  session.

Measured per drag, relative to the undragged base frame: clean (at most 10 flipped triangles,
no vertex moving more than 2.5× the drag), the landmark reached (mm), and the *far change*:
mean vertex motion (mm) over the vertices more than ``--far`` mm from the dragged landmark,
beside the base's learned detail there (its decode minus the biharmonic interpolation of its
landmarks): ``kept`` = 1 − far change / learned detail.

Run from the repository root (one torch thread; ~1 min per mode)::

    python tests/benchmarks/bench_edit_drag.py                       # smooth and direct
    python tests/benchmarks/bench_edit_drag.py --mode direct --labels happy --json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

LABELS = ("neutral", "happy", "surprised", "mouth_open")
GATES = ("whole", "edit", "edit+repair")


def apex_frame(gen, label: str, neutral: np.ndarray, seed: int = 0):
    """(vertices (V, 3), landmarks (68, 3)) of the apex of a generated motion (or neutral)."""
    if label == "neutral":
        return neutral, neutral[gen.pipeline.landmarks.indices]
    m = gen.generate(label, seed, n_frames=30, neutral=neutral)
    t = int(np.argmax(np.linalg.norm(m.landmarks - m.landmarks[0], axis=-1).mean(-1)))
    return m.vertices[t], m.landmarks[t]


def measure(pipe, face, base_v, base_lm, spread, far_mm: float, distances=(5, 10, 15)) -> dict:
    """{gate: {distance: summary}} of every drag of ``base_lm`` (68, 3) on ``base_v`` (V, 3)."""
    from core.edit.residual import apply_residual
    from core.eval.drag import drag_targets, score_drags, summarize_drags

    idx, v0 = pipe.landmarks.indices, face.vertices
    ref1 = pipe.edit_reference(v0, base_lm[None].astype(np.float32))
    interp = v0 + pipe.decoder.residual.apply_numpy((base_lm - v0[idx])[None])[0]  # linear
    detail = np.linalg.norm(ref1.dense[0] - interp, axis=-1)  # (V,) learned detail, metres
    out = {g: {} for g in GATES}
    repair = pipe.fold_repair()
    for mm in distances:
        d = mm / 1000.0
        targets, lm, dirs = drag_targets(base_lm.astype(np.float64), d, None, spread)
        far = np.linalg.norm(base_v[None] - base_lm[lm][:, None], axis=-1) > far_mm / 1000
        ref = pipe.edit_reference(v0, np.repeat(ref1.landmarks, len(targets), axis=0))
        for gate in GATES:
            dec = (
                pipe.decode(v0, targets) if gate == "whole" else pipe.decode_edit(v0, targets, ref)
            )
            fix = repair if gate == "edit+repair" else None
            faces = apply_residual(base_v[None], dec, ref.dense, fix).astype(np.float64)
            res = score_drags(
                base_v.astype(np.float64), face.faces, idx, faces, targets, lm, dirs, d
            )
            change = np.linalg.norm(faces - base_v[None], axis=-1)  # (N, V)
            far_change = (change * far).sum(1) / far.sum(1)
            far_detail = (detail[None] * far).sum(1) / far.sum(1)
            s = summarize_drags(res)
            s["far_change_mm"] = float(1000 * far_change.mean())
            s["far_detail_mm"] = float(1000 * far_detail.mean())
            s["detail_kept"] = float(1 - far_change.mean() / max(far_detail.mean(), 1e-12))
            out[gate][f"{mm:g}"] = s
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mode", choices=("direct", "smooth", "both"), default="both")
    p.add_argument("--labels", default=",".join(LABELS), help="comma list (neutral = no base)")
    p.add_argument("--far", type=float, default=30.0, help="far region: mm from the drag")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from bench_drag import drag_spread

    from core.generate import MotionGenerator

    gen = MotionGenerator.load(device="cpu")
    pipe, face = gen.pipeline, gen.pipeline.face
    modes = ("direct", "smooth") if args.mode == "both" else (args.mode,)
    rows = {}
    for mode in modes:
        spread = drag_spread(mode, pipe.landmarks)
        for label in args.labels.split(","):
            base_v, base_lm = apex_frame(gen, label, face.vertices)
            rows[f"{mode} {label}"] = measure(pipe, face, base_v, base_lm, spread, args.far)
            if not args.json:
                _print(f"{mode} {label}", rows[f"{mode} {label}"])
    if args.json:
        print(json.dumps(rows, indent=1))
    return 0


def _print(name: str, by_gate: dict) -> None:
    print(
        f"{'drags on':20s} {'gate':11s} {'mm':>3s} {'clean':>7s} {'flip max':>8s} "
        f"{'worst x':>7s} {'lm err':>7s} {'far chg':>8s} {'detail':>7s} {'kept':>6s}"
    )
    for gate, by_d in by_gate.items():
        for mm, s in by_d.items():
            print(
                f"{name:20s} {gate:11s} {mm:>3s} {s['clean_fraction']:7.1%} {s['flipped_max']:8d} "
                f"{s['worst_vertex_ratio_max']:7.2f} {s['landmark_error_mm_max']:7.2f} "
                f"{s['far_change_mm']:8.3f} {s['far_detail_mm']:7.3f} {s['detail_kept']:6.1%}",
                flush=True,
            )


if __name__ == "__main__":
    raise SystemExit(main())
