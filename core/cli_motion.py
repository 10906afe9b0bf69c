"""Motion3DGAN commands of the headless CLI: generate, interpolate, train-gan, train-classifier,
evaluate-motion (registered by :func:`core.cli_commands.register`).

Every command validates its inputs (labels, seeds, meshes, output folder) before it writes
anything; sequences are exported atomically (:func:`core.io.export.export_sequence`) and a failure
part-way through a multi-sequence export removes the sequences this call already wrote.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np

from core.errors import ExportError, InvalidInputError

__all__ = ["register"]

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"


def register(sub) -> None:
    """Add the motion sub-commands to an argparse sub-parser collection."""
    from core.cli_commands import _data_args

    p = sub.add_parser("generate", help="label + noise seeds -> dense 4D expression sequences")
    p.add_argument("--label", required=True, help="expression label (see `main.py info`)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="noise seeds (>= 0)")
    _export_args(p)
    p.add_argument("--frames", type=int, default=30, help="frames per sequence (30 = native)")
    p.add_argument("--side", choices=("left", "right"), default=None,
                   help="side of a one-sided label (mouth_side, contempt); default: from the seed")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("interpolate", help="geodesic interpolation between two generated motions")
    p.add_argument("--from", dest="src", required=True, metavar="LABEL:SEED")
    p.add_argument("--to", dest="dst", required=True, metavar="LABEL:SEED")
    p.add_argument("--steps", type=int, default=5, help="number of tau values in [0, 1]")
    _export_args(p)
    p.set_defaults(func=cmd_interpolate)

    p = sub.add_parser("train-gan", help="train Motion3DGAN on the synthesised sequences")
    _data_args(p)
    p.add_argument("--steps", type=int, default=6000, help="generator steps")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--lr-drop-step", type=int, default=0,
                   help="from this step on use --lr-final (0: constant --lr)")
    p.add_argument("--lr-final", type=float, default=1e-4)
    p.add_argument("--n-critic", type=int, default=4)
    p.add_argument("--reconstruction", choices=("nearest", "paired", "none"), default="nearest")
    p.add_argument("--components", type=int, default=64, help="tangent PCA components")
    p.add_argument("--no-sides", action="store_true",
                   help="do not split one-sided labels into a left and a right class")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--out", default=str(MODELS / "motion3dgan.safetensors"))
    p.add_argument("--run-dir", default=None, help="folder for resumable checkpoints")
    p.set_defaults(func=cmd_train_gan)

    p = sub.add_parser("train-classifier",
                       help="train the LSTM expression classifier and the LSTM baseline")
    _data_args(p)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--baseline-epochs", type=int, default=150)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out-classifier", default=str(MODELS / "expression_classifier.safetensors"))
    p.add_argument("--out-baseline", default=str(MODELS / "lstm_baseline.safetensors"))
    p.set_defaults(func=cmd_train_classifier)

    p = sub.add_parser("evaluate-motion", help="Table 3: accuracy, FID, diversity -> docs/")
    _data_args(p)
    p.add_argument("--weights", default=str(MODELS / "motion3dgan.safetensors"))
    p.add_argument("--classifier", default=str(MODELS / "expression_classifier.safetensors"))
    p.add_argument("--baseline", default=str(MODELS / "lstm_baseline.safetensors"))
    p.add_argument("--decoder-weights", default=str(MODELS / "s2d_decoder.safetensors"))
    p.add_argument("--docs", default=str(ROOT / "docs"), help="folder of motion3dgan.md")
    p.add_argument("--repeats", type=int, default=5, help="GAN seed sets for the spread")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(func=cmd_evaluate_motion)


def _export_args(p) -> None:
    p.add_argument("--out", required=True, help="output folder (its parent must exist)")
    p.add_argument("--neutral", default=None, help="neutral face mesh (.obj/.ply, same topology)")
    p.add_argument("--format", choices=("obj", "ply", "npz"), default="obj")
    p.add_argument("--overwrite", action="store_true", help="replace existing sequence folders")
    p.add_argument("--weights", default=str(MODELS / "motion3dgan.safetensors"))
    p.add_argument("--decoder-weights", default=str(MODELS / "s2d_decoder.safetensors"))
    p.add_argument("--device", default="auto")


def _threads(args) -> None:
    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(int(args.threads))


# ---------------------------------------------------------------------------------------------
# generate / interpolate


def _load_neutral(path: str | None):
    """(vertices (V, 3) float32, uv, face_uv, source) of ``--neutral`` or the shipped face."""
    from core.assets import load_face
    from core.io.mesh_io import check_topology, load_mesh

    face = load_face()
    if path is None:
        return face.vertices, face.uv, face.face_uv, "default face"
    mesh = load_mesh(path)
    check_topology(mesh, face.faces, face.n_vertices, template_name="this app (default face)")
    uv, fuv = (mesh.uv, mesh.face_uv) if mesh.uv is not None else (face.uv, face.face_uv)
    return np.asarray(mesh.vertices, np.float32), uv, fuv, str(Path(path).resolve())


def _out_dir(path: str, names: list[str], overwrite: bool) -> tuple[Path, bool]:
    """Check (and create) the output folder before anything is generated; (dir, created)."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ExportError(f"cannot write to {out}: it is a file, not a folder; choose a folder")
    created = False
    if not out.exists():
        if not out.parent.is_dir():
            raise ExportError(
                f"cannot write to {out}: the folder {out.parent} does not exist; create it or "
                "choose another folder")
        try:
            out.mkdir()
        except OSError as exc:
            raise ExportError(
                f"cannot create {out}: {exc.strerror}; choose another folder") from exc
        created = True
    if not os.access(out, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write to {out}: permission denied; choose another folder")
    clash = [n for n in names if (out / n).exists()]
    if clash and not overwrite:
        if created:
            out.rmdir()
        raise ExportError(
            f"{out} already holds {', '.join(clash[:3])}; pass --overwrite or choose another "
            "folder")
    return out, created


def _export_all(out: Path, created: bool, items: list[tuple[str, object, dict]], fmt: str,
                uv, face_uv, overwrite: bool) -> None:
    """Export (name, Motion, manifest) items; on failure remove what this call wrote."""
    from core.assets import load_face
    from core.io.export import export_sequence

    faces = load_face().faces
    if fmt == "ply" and uv is not None:
        from core.io.export_obj import per_vertex_uv

        try:
            per_vertex_uv(uv, face_uv, faces, len(items[0][1].vertices[0]))
        except InvalidInputError:
            print("note: PLY keeps one UV per vertex and this face's UVs have seams; the PLY "
                  "frames are written without UVs (use --format obj to keep them)")
            uv = face_uv = None
    done: list[Path] = []
    try:
        for name, motion, manifest in items:
            export_sequence(out / name, motion.vertices, faces, fmt, uv=uv, face_uv=face_uv,
                            manifest=manifest, overwrite=overwrite)
            done.append(out / name)
            print(f"wrote {out / name} ({motion.n_frames} frames, {fmt})")
    except BaseException:
        for d in done:
            shutil.rmtree(d, ignore_errors=True)
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise


def _manifest(gen, motion, source: str, extra: dict) -> dict:
    from core.models.checkpoint import file_sha256

    return {
        **extra,
        "fps": motion.fps,
        "units": "m",
        "neutral": source,
        "length": motion.meta.get("length"),
        "models": {"motion3dgan": gen.meta.get("motion3dgan_sha256"),
                   "s2d_decoder": file_sha256(gen.decoder_weights)},
    }


def _load_generator(args):
    from core.generate import MotionGenerator

    gen = MotionGenerator.load(args.weights, args.device, args.decoder_weights)
    gen.pipeline  # noqa: B018 - load S2D-Dec now: a missing decoder fails before any work
    return gen


def cmd_generate(args) -> int:
    from core.generate import check_seed

    gen = _load_generator(args)
    gen.label_index(args.label)
    gen.side_of(args.label, 0, args.side)  # a side for a label that has none: clear error
    seeds = [check_seed(s) for s in args.seeds]
    if len(set(seeds)) != len(seeds):
        raise InvalidInputError(f"--seeds: expected distinct seeds, found {seeds}")
    if args.frames < 2:
        raise InvalidInputError(f"--frames: expected an integer >= 2, found {args.frames}")
    neutral, uv, fuv, source = _load_neutral(args.neutral)
    names = [f"{args.label}_seed{s}" for s in seeds]
    out, created = _out_dir(args.out, names, args.overwrite)

    def items():
        for name, s in zip(names, seeds, strict=True):
            m = gen.generate(args.label, s, n_frames=args.frames, neutral=neutral, side=args.side)
            info = {"label": args.label, "seed": s}
            if "side" in m.meta:
                info["side"] = m.meta["side"]
            yield name, m, _manifest(gen, m, source, info)

    return _build_and_export(out, created, items, args, uv, fuv)


def _build_and_export(out, created: bool, items, args, uv, fuv) -> int:
    """Build all ``(name, motion, manifest)`` of ``items()`` first, then export them; a failure
    while building removes the output folder when this call created it."""
    try:
        built = list(items())
    except BaseException:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    _export_all(out, created, built, args.format, uv, fuv, args.overwrite)
    return 0


def _parse_spec(text: str, flag: str) -> tuple[str, int]:
    from core.generate import check_seed

    label, sep, seed = text.rpartition(":")
    if not sep or not label:
        raise InvalidInputError(f"{flag}: expected LABEL:SEED such as happy:0, found {text!r}")
    try:
        value = int(seed)
    except ValueError as exc:
        raise InvalidInputError(
            f"{flag}: expected an integer seed after ':', found {seed!r} in {text!r}") from exc
    return label, check_seed(value)


def cmd_interpolate(args) -> int:
    (la, sa), (lb, sb) = _parse_spec(args.src, "--from"), _parse_spec(args.dst, "--to")
    if args.steps < 2:
        raise InvalidInputError(f"--steps: expected an integer >= 2, found {args.steps}")
    gen = _load_generator(args)
    gen.label_index(la)
    gen.label_index(lb)
    neutral, uv, fuv, source = _load_neutral(args.neutral)
    taus = np.linspace(0.0, 1.0, args.steps)
    names = [f"tau_{t:.3f}" for t in taus]
    out, created = _out_dir(args.out, names, args.overwrite)

    def items():
        a = gen.generate(la, sa, neutral=neutral)
        b = gen.generate(lb, sb, neutral=neutral)
        for name, t in zip(names, taus, strict=True):
            m = gen.interpolate(a, b, float(t))
            yield name, m, _manifest(gen, m, source, {
                "from": {"label": la, "seed": sa}, "to": {"label": lb, "seed": sb},
                "tau": float(t)})

    return _build_and_export(out, created, items, args, uv, fuv)


# ---------------------------------------------------------------------------------------------
# training


def cmd_train_gan(args) -> int:
    from core.cli_commands import load_data
    from core.data.recipes import LABELS, ONE_SIDED_LABELS
    from core.models.motion_gan import MotionGANConfig
    from core.runtime import pick_device
    from core.train.gan_train import GANTrainConfig, motion_split, save_gan, train_gan

    _threads(args)
    out = Path(args.out)
    if not out.parent.is_dir():
        raise ExportError(f"cannot write {out}: the folder {out.parent} does not exist")
    device = pick_device(args.device)
    data = load_data(args)
    train = motion_split(data, "train")
    mcfg = MotionGANConfig(labels=LABELS, n_frames=data.seq_landmarks.shape[1],
                           n_components=args.components,
                           one_sided=() if args.no_sides else ONE_SIDED_LABELS)
    cfg = GANTrainConfig(steps=args.steps, batch_size=args.batch, lr=args.lr,
                         lr_drop_step=args.lr_drop_step, lr_final=args.lr_final,
                         n_critic=args.n_critic, reconstruction=args.reconstruction,
                         seed=args.seed)
    print(f"training Motion3DGAN on {len(train)} motions ({len(LABELS)} labels) on {device}")
    model, summary = train_gan(train, mcfg, cfg, Path(args.run_dir) if args.run_dir else None,
                               device, extra_meta={"data": asdict(data.config)})
    save_gan(out, model.cpu(), cfg, {
        "data": asdict(data.config), "n_train": len(train), "device": str(device),
        "train_seconds": summary["train_seconds"], "history": summary["history"],
        "karcher_iterations": summary["karcher_iterations"]})
    print(f"saved {out} ({summary['train_seconds']:.0f}s)")
    return 0


def cmd_train_classifier(args) -> int:
    from core.cli_commands import load_data
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

    _threads(args)
    for p in (args.out_classifier, args.out_baseline):
        if not Path(p).parent.is_dir():
            raise ExportError(f"cannot write {p}: the folder {Path(p).parent} does not exist")
    device = pick_device(args.device)
    data = load_data(args)
    lm, lab, _ = labelled_sequences(data, "train")
    lm_te, lab_te, _ = labelled_sequences(data, "test")
    n_frames = lm.shape[1]
    cfg = SequenceModelConfig(labels=LABELS, n_frames=n_frames, hidden=512)
    clf, s1 = fit_classifier(lm, lab, cfg, SequenceTrainConfig(args.epochs, seed=args.seed),
                             device)
    pred, _ = clf.cpu().predict(lm_te)
    acc = float((pred == lab_te).mean())
    save_sequence_model(Path(args.out_classifier), clf, CLASSIFIER_KIND, {
        "data": asdict(data.config), "n_train": len(lm), "train_seconds": s1["train_seconds"],
        "train_accuracy": s1["train_accuracy"], "test_accuracy": acc, "epochs": args.epochs})
    print(f"classifier: train acc {s1['train_accuracy']:.3f}, test acc {acc:.3f} "
          f"({s1['train_seconds']:.0f}s) -> {args.out_classifier}")
    bcfg = SequenceModelConfig(labels=LABELS, n_frames=n_frames, hidden=256)
    base, s2 = fit_baseline(lm, lab, bcfg, SequenceTrainConfig(args.baseline_epochs, lr=2e-3,
                                                               seed=args.seed), device)
    save_sequence_model(Path(args.out_baseline), base.cpu(), BASELINE_KIND, {
        "data": asdict(data.config), "n_train": len(lm), "train_seconds": s2["train_seconds"],
        "final_l1": s2["loss"][-1], "epochs": args.baseline_epochs})
    print(f"LSTM baseline: final L1 {s2['loss'][-1]:.4f} ({s2['train_seconds']:.0f}s) -> "
          f"{args.out_baseline}")
    return 0


def cmd_evaluate_motion(args) -> int:
    from core.eval.motion_eval import run_motion_evaluation

    _threads(args)
    return run_motion_evaluation(args)
