"""Motion training commands: ``train-gan`` (Motion3DGAN) and ``train-classifier`` (the LSTM
expression classifier of the evaluation and the LSTM baseline)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from core.cli.common import add_data_args, load_data, set_threads
from core.errors import ExportError
from core.paths import MODELS

__all__ = ["register", "cmd_train_gan", "cmd_train_classifier"]


def register(sub) -> None:
    """Add ``train-gan`` and ``train-classifier``."""
    p = sub.add_parser("train-gan", help="train Motion3DGAN on the synthesised sequences")
    add_data_args(p)
    p.add_argument("--steps", type=int, default=6000, help="generator steps")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument(
        "--lr-drop-step",
        type=int,
        default=0,
        help="from this step on use --lr-final (0: constant --lr)",
    )
    p.add_argument("--lr-final", type=float, default=1e-4)
    p.add_argument("--n-critic", type=int, default=4)
    p.add_argument("--reconstruction", choices=("nearest", "paired", "none"), default="nearest")
    p.add_argument("--components", type=int, default=64, help="tangent PCA components")
    p.add_argument(
        "--no-sides",
        action="store_true",
        help="do not split one-sided labels into a left and a right class",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--out", default=str(MODELS / "motion3dgan.safetensors"))
    p.add_argument("--run-dir", default=None, help="folder for resumable checkpoints")
    p.set_defaults(func=cmd_train_gan)

    p = sub.add_parser(
        "train-classifier", help="train the LSTM expression classifier and the LSTM baseline"
    )
    add_data_args(p)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--baseline-epochs", type=int, default=150)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out-classifier", default=str(MODELS / "expression_classifier.safetensors"))
    p.add_argument("--out-baseline", default=str(MODELS / "lstm_baseline.safetensors"))
    p.set_defaults(func=cmd_train_classifier)


def cmd_train_gan(args) -> int:
    from core.data.recipes import LABELS, ONE_SIDED_LABELS
    from core.models.motion_gan import MotionGANConfig
    from core.runtime import pick_device
    from core.train.gan_train import GANTrainConfig, motion_split, save_gan, train_gan

    set_threads(args)
    out = Path(args.out)
    if not out.parent.is_dir():
        raise ExportError(f"cannot write {out}: the folder {out.parent} does not exist")
    device = pick_device(args.device)
    data = load_data(args)
    train = motion_split(data, "train")
    mcfg = MotionGANConfig(
        labels=LABELS,
        n_frames=data.seq_landmarks.shape[1],
        n_components=args.components,
        one_sided=() if args.no_sides else ONE_SIDED_LABELS,
    )
    cfg = GANTrainConfig(
        steps=args.steps,
        batch_size=args.batch,
        lr=args.lr,
        lr_drop_step=args.lr_drop_step,
        lr_final=args.lr_final,
        n_critic=args.n_critic,
        reconstruction=args.reconstruction,
        seed=args.seed,
    )
    print(f"training Motion3DGAN on {len(train)} motions ({len(LABELS)} labels) on {device}")
    model, summary = train_gan(
        train,
        mcfg,
        cfg,
        Path(args.run_dir) if args.run_dir else None,
        device,
        extra_meta={"data": asdict(data.config)},
    )
    save_gan(
        out,
        model.cpu(),
        cfg,
        {
            "data": asdict(data.config),
            "n_train": len(train),
            "device": str(device),
            "train_seconds": summary["train_seconds"],
            "history": summary["history"],
            "karcher_iterations": summary["karcher_iterations"],
        },
    )
    print(f"saved {out} ({summary['train_seconds']:.0f}s)")
    return 0


def cmd_train_classifier(args) -> int:
    from core.data.recipes import LABELS
    from core.eval.motion_eval import labelled_sequences
    from core.models.classifier import (
        BASELINE_KIND,
        CLASSIFIER_KIND,
        SequenceModelConfig,
        SequenceTrainConfig,
        fit_baseline,
        fit_classifier,
        save_sequence_model,
    )
    from core.runtime import pick_device

    set_threads(args)
    for p in (args.out_classifier, args.out_baseline):
        if not Path(p).parent.is_dir():
            raise ExportError(f"cannot write {p}: the folder {Path(p).parent} does not exist")
    device = pick_device(args.device)
    data = load_data(args)
    lm, lab, _ = labelled_sequences(data, "train")
    lm_te, lab_te, _ = labelled_sequences(data, "test")
    n_frames = lm.shape[1]
    cfg = SequenceModelConfig(labels=LABELS, n_frames=n_frames, hidden=512)
    clf, s1 = fit_classifier(lm, lab, cfg, SequenceTrainConfig(args.epochs, seed=args.seed), device)
    pred, _ = clf.cpu().predict(lm_te)
    acc = float((pred == lab_te).mean())
    save_sequence_model(
        Path(args.out_classifier),
        clf,
        CLASSIFIER_KIND,
        {
            "data": asdict(data.config),
            "n_train": len(lm),
            "train_seconds": s1["train_seconds"],
            "train_accuracy": s1["train_accuracy"],
            "test_accuracy": acc,
            "epochs": args.epochs,
        },
    )
    print(
        f"classifier: train acc {s1['train_accuracy']:.3f}, test acc {acc:.3f} "
        f"({s1['train_seconds']:.0f}s) -> {args.out_classifier}"
    )
    bcfg = SequenceModelConfig(labels=LABELS, n_frames=n_frames, hidden=256)
    base, s2 = fit_baseline(
        lm, lab, bcfg, SequenceTrainConfig(args.baseline_epochs, lr=2e-3, seed=args.seed), device
    )
    save_sequence_model(
        Path(args.out_baseline),
        base.cpu(),
        BASELINE_KIND,
        {
            "data": asdict(data.config),
            "n_train": len(lm),
            "train_seconds": s2["train_seconds"],
            "final_l1": s2["loss"][-1],
            "epochs": args.baseline_epochs,
        },
    )
    print(
        f"LSTM baseline: final L1 {s2['loss'][-1]:.4f} ({s2['train_seconds']:.0f}s) -> "
        f"{args.out_baseline}"
    )
    return 0
