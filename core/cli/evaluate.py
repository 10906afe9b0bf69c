"""Evaluation commands: ``evaluate`` (S2D-Dec, ablations, baselines -> docs/evaluation.md) and
``evaluate-motion`` (Motion3DGAN Table 3 -> docs/motion3dgan.md)."""

from __future__ import annotations

from pathlib import Path

from core.cli.common import add_data_args, load_data, set_threads
from core.paths import MODELS, ROOT

__all__ = ["register", "cmd_evaluate", "cmd_evaluate_motion", "cmd_evaluate_generalization"]


def register(sub) -> None:
    """Add ``evaluate`` and ``evaluate-motion``."""
    p = sub.add_parser("evaluate", help="evaluate S2D-Dec, ablations and baselines")
    add_data_args(p)
    p.add_argument("--out", default=str(ROOT / "docs"))
    p.add_argument(
        "--max-test-frames",
        type=int,
        default=1500,
        help="evaluate on a seeded subset of at most this many test frames",
    )
    p.add_argument(
        "--max-train-frames",
        type=int,
        default=6000,
        help="fit the baselines on a seeded subset of at most this many training frames",
    )
    p.add_argument(
        "--expression-steps",
        type=int,
        default=0,
        help="training steps of the expression-split decoder fitted in-process (-1: none)",
    )
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("evaluate-motion", help="Table 3: accuracy, FID, diversity -> docs/")
    add_data_args(p)
    p.add_argument("--weights", default=str(MODELS / "motion3dgan.safetensors"))
    p.add_argument("--classifier", default=str(MODELS / "expression_classifier.safetensors"))
    p.add_argument("--baseline", default=str(MODELS / "lstm_baseline.safetensors"))
    p.add_argument("--decoder-weights", default=str(MODELS / "s2d_decoder.safetensors"))
    p.add_argument("--docs", default=str(ROOT / "docs"), help="folder of motion3dgan.md")
    p.add_argument("--repeats", type=int, default=5, help="GAN seed sets for the spread")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(func=cmd_evaluate_motion)

    p = sub.add_parser(
        "evaluate-generalization",
        help="leave one deformation family out -> docs/generalization.json",
    )
    add_data_args(p)
    p.add_argument("--steps", type=int, default=400, help="decoder training steps per family")
    p.add_argument("--families", default="actions,bones,local")
    p.add_argument("--max-test-frames", type=int, default=400)
    p.add_argument("--out", default=str(ROOT / "docs" / "generalization.json"))
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(func=cmd_evaluate_generalization)


def cmd_evaluate(args) -> int:
    from core.eval.report import run_evaluation

    set_threads(args)
    return run_evaluation(
        load_data(args),
        Path(args.out),
        args.max_test_frames,
        args.max_train_frames,
        args.expression_steps,
    )


def cmd_evaluate_motion(args) -> int:
    from core.eval.motion_report import MotionEvalConfig, run_motion_evaluation

    set_threads(args)
    cfg = MotionEvalConfig(
        weights=Path(args.weights),
        classifier=Path(args.classifier),
        baseline=Path(args.baseline),
        decoder_weights=Path(args.decoder_weights),
        docs=Path(args.docs),
        repeats=args.repeats,
        device=args.device,
    )
    return run_motion_evaluation(load_data(args), cfg)


def cmd_evaluate_generalization(args) -> int:
    import json

    from core.eval.generalization import evaluate_generalization, generalization_table
    from core.io.atomic import atomic_file

    set_threads(args)
    fams = tuple(f for f in args.families.split(",") if f)
    res = evaluate_generalization(
        load_data(args), steps=args.steps, families=fams, max_test=args.max_test_frames
    )
    with atomic_file(Path(args.out)) as tmp:
        tmp.write_text(json.dumps(res, indent=1))
    print(generalization_table(res))
    print(f"wrote {args.out}")
    return 0
