"""Benchmark: drag robustness of the decoder (issue 10's protocol, :mod:`core.eval.drag`).

Each of the 68 landmarks is dragged by 5, 10 and 15 mm in ±x and ±z (the frontal view plane)
with the other 67 at rest, on the default face, and decoded as the studio decodes a drag of
the neutral face (``--decode``: per-edit gate and fold repair; or ``python main.py decode``).
Clean = at most 10 of the 8566 triangles flipped and no vertex moving more than 2.5x the drag.

Run from the repository root::

    python tests/benchmarks/bench_drag.py                        # shipped decoder, table
    python tests/benchmarks/bench_drag.py --weights other.safetensors --json
    python tests/benchmarks/bench_drag.py --baselines            # + biharmonic-only rows
    python tests/benchmarks/bench_drag.py --mode smooth          # the studio's smooth drags
    python tests/benchmarks/bench_drag.py --mode coherent        # the prior's coherent drags
    python tests/benchmarks/bench_drag.py --decode no-repair     # without the fold repair

``--mode`` says how the drag moves the other landmarks (``core.sculpt.DragPlan``): ``direct``
(the protocol: they stay), ``smooth`` (neighbours within ``--radius`` follow) or ``coherent``
(the landmark prior's conditional expectation, the drag observed in the frontal plane).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

DISTANCES_MM = (5.0, 10.0, 15.0)


def run(decode, face, landmark_idx, distances_mm=DISTANCES_MM, landmarks=None, spread=None) -> dict:
    """decode(targets (N, 68, 3)) -> (N, V, 3); returns {distance_mm: summary} and failures;
    ``spread``: see :func:`core.eval.drag.drag_targets`."""
    from core.eval.drag import drag_targets, score_drags, summarize_drags

    v0 = face.vertices.astype(np.float64)
    out = {}
    for mm in distances_mm:
        d = mm / 1000.0
        targets, lm, dirs = drag_targets(v0[landmark_idx], d, landmarks, spread)
        decoded = np.asarray(decode(targets), np.float64)
        res = score_drags(v0, face.faces, landmark_idx, decoded, targets, lm, dirs, d)
        s = summarize_drags(res)
        s["failed"] = [
            f"{int(k)}{dd}"
            for k, dd in zip(res.landmark[~res.clean], res.direction[~res.clean], strict=True)
        ]
        out[f"{mm:g}"] = s
    return out


def _pipeline_decoder(weights, decode: str = "studio"):
    """decode(targets) of the shipped pipeline: ``studio``, the studio's decode of a drag on
    the neutral face (per-edit gate and fold repair: ``S2DPipeline.decode_edit`` and
    ``core.edit.residual.apply_residual``); ``no-repair``, the same without the fold repair
    (the studio before the eighth session); ``plain``, ``S2DPipeline.decode`` of the targets
    (``python main.py decode``)."""
    from core.edit.residual import decode_as_edit
    from core.pipeline import DEFAULT_DECODER, S2DPipeline

    pipe = S2DPipeline.load(weights or DEFAULT_DECODER, device="cpu")
    v0 = pipe.face.vertices
    if decode == "plain":
        return lambda targets: pipe.decode(v0, targets)
    return lambda targets: decode_as_edit(pipe, v0, targets, repair=decode == "studio")


def drag_spread(mode: str, landmarks, radius: float | None = None):
    """``spread(k, drag)`` of a studio drag mode on the neutral landmarks (None: direct)."""
    if mode == "direct":
        return None
    from core.sculpt import DragPlan, load_landmark_prior, smooth_radius

    v0 = load_face_landmarks(landmarks)
    prior = load_landmark_prior() if mode == "coherent" else None
    frontal = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # the drag plane of the protocol
    r = smooth_radius(v0) if radius is None else radius  # the studio's: 15 mm on this face
    if mode == "smooth":
        print(f"smooth radius {1000 * r:.2f} mm")

    def spread(k, drag):
        plan = DragPlan(k, landmarks.mirror, mode, prior, view_rows=frontal, positions=v0, radius=r)
        return plan.delta(drag)

    return spread


def load_face_landmarks(landmarks) -> np.ndarray:
    """(68, 3) neutral landmark positions of the default face."""
    from core.assets import load_face

    return load_face().vertices[landmarks.indices].astype(np.float64)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", default=None, help="decoder weights (default: shipped)")
    p.add_argument("--baselines", action="store_true", help="also score the baselines")
    p.add_argument("--json", action="store_true")
    p.add_argument("--mode", choices=("direct", "smooth", "coherent"), default="direct")
    p.add_argument(
        "--decode",
        choices=("studio", "no-repair", "plain"),
        default="studio",
        help="studio: the studio's decode of a drag (per-edit gate, fold repair; default); "
        "no-repair: without the fold repair; plain: `main.py decode` of the targets",
    )
    p.add_argument(
        "--radius", type=float, default=None, help="smooth radius (mm; default scaled to the face)"
    )
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from core.assets import load_face, load_landmarks

    face, lms = load_face(), load_landmarks()
    radius = None if args.radius is None else args.radius / 1000.0
    spread = drag_spread(args.mode, lms, radius)
    rows = {
        f"decoder ({args.decode}), {args.mode}": run(
            _pipeline_decoder(args.weights, args.decode), face, lms.indices, spread=spread
        )
    }
    if args.baselines:
        from core.models.landmark_residual import LandmarkResidual

        res = LandmarkResidual.from_face(face.vertices, face.faces, lms.indices)
        v0 = face.vertices.astype(np.float64)

        def interp(targets):
            disp = targets - v0[lms.indices][None]
            return v0[None] + res.apply_numpy(disp)

        rows["biharmonic interpolation only"] = run(interp, face, lms.indices, spread=spread)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(
        f"{'model':32s} {'mm':>4s} {'clean':>7s} {'flip med':>8s} {'flip max':>8s} "
        f"{'worst x':>8s} {'lm err mm':>9s}"
    )
    for name, by_d in rows.items():
        for mm, s in by_d.items():
            print(
                f"{name:32s} {mm:>4s} {s['clean_fraction']:7.1%} {s['flipped_median']:8.0f} "
                f"{s['flipped_max']:8d} {s['worst_vertex_ratio_max']:8.2f} "
                f"{s['landmark_error_mm_mean']:9.2f}"
            )
        print(f"  failed at 10 mm: {' '.join(by_d.get('10', {}).get('failed', []))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
