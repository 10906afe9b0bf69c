"""S2D-Dec commands: ``decode`` (landmarks -> dense faces) and ``train-decoder``."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from core.cli.common import add_data_args, load_data
from core.cli.fit import add_face_args
from core.errors import InvalidInputError
from core.paths import ROOT

__all__ = ["register", "cmd_decode", "cmd_train_decoder"]


def register(sub) -> None:
    """Add ``decode`` and ``train-decoder``."""
    p = sub.add_parser("decode", help="landmarks → dense faces (npz in, npz out)")
    p.add_argument(
        "--input",
        required=True,
        help="npz with neutral (B,V,3) and landmarks (B,68,3); with --mesh: "
        "landmarks (B,68,3) only, in the mesh's coordinates",
    )
    p.add_argument("--output", required=True, help="npz receiving vertices (B,V,3)")
    p.add_argument(
        "--mesh",
        default=None,
        help="a face mesh of any topology to decode on (fitted unless --fit)",
    )
    add_face_args(p)
    p.add_argument(
        "--as-edit",
        action="store_true",
        help="decode the landmarks as an edit of each neutral face, as the studio decodes a "
        "drag: per-edit gate and the fold repair of skin the edit turns over",
    )
    p.add_argument("--weights", default=None)
    p.add_argument("--device", default="auto")
    p.set_defaults(func=cmd_decode)

    p = sub.add_parser("train-decoder", help="train S2D-Dec on the synthesised anny data")
    add_data_args(p)
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--beta2", type=float, default=0.1)
    p.add_argument(
        "--split",
        choices=("identity", "expression", "family:actions", "family:bones", "family:local"),
        default="identity",
        help="family:X trains without deformation family X (leave one family out)",
    )
    p.add_argument("--normalization", choices=("scale", "none", "frobenius"), default="scale")
    p.add_argument(
        "--loss",
        choices=("dr", "dr+pr", "dr+wpr"),
        default="dr+wpr",
        help="dr: L_dr only (S1); dr+pr: + unweighted L_pr (S2); dr+wpr: + weighted (S3)",
    )
    p.add_argument("--channels", default="128,64,32,32,16")
    p.add_argument(
        "--linear-skip",
        action="store_true",
        help="add a linear shortcut initialised with the ridge solution (S2D-Dec+)",
    )
    p.add_argument(
        "--landmark-residual",
        action="store_true",
        help="add the biharmonic landmark residual (landmarks are met exactly)",
    )
    p.add_argument(
        "--gate",
        action="store_true",
        help="with --landmark-residual: fade the learned part out for inputs outside "
        "the span of the training inputs",
    )
    p.add_argument("--out", default=str(ROOT / "models" / "s2d_decoder.safetensors"))
    p.add_argument("--run-dir", default=None, help="folder for resumable checkpoints")
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_train_decoder)


def cmd_decode(args) -> int:
    from core.io.atomic import atomic_savez
    from core.io.safe_input import read_npz
    from core.pipeline import DEFAULT_DECODER, S2DPipeline

    if (args.fit or args.landmarks) and not args.mesh:
        raise InvalidInputError("--fit/--landmarks need --mesh FACE (the mesh they belong to)")
    if args.as_edit and args.mesh:
        raise InvalidInputError("--as-edit decodes on the template's neutral faces, not --mesh")
    names = ("landmarks",) if args.mesh else ("neutral", "landmarks")
    arrays = read_npz(args.input, names, expected="'neutral' (B,V,3) and 'landmarks' (B,68,3)")
    neutral, lms = arrays.get("neutral"), arrays["landmarks"]
    pipe = S2DPipeline.load(args.weights or DEFAULT_DECODER, device=args.device)
    if args.mesh:
        from core.cli.fit import decode_on_mesh

        verts = decode_on_mesh(args, pipe, lms)
    elif args.as_edit:
        from core.edit.residual import decode_as_edit

        verts = decode_as_edit(pipe, neutral, lms)
    else:
        verts = pipe.decode(neutral, lms)
    atomic_savez(args.output, {"vertices": verts})
    print(f"wrote {len(verts)} faces of {verts.shape[1]} vertices to {args.output}")
    return 0


def cmd_train_decoder(args) -> int:
    import torch

    from core.assets import load_face, resource_path
    from core.mesh.hierarchy import MeshHierarchy
    from core.runtime import pick_device
    from core.train.distributed import dist_info, init_distributed, rank0_log, rank_device
    from core.train.s2d_train import S2DTrainConfig, make_split, save_decoder, train_decoder

    device = pick_device(args.device)
    dist = init_distributed(device)
    rank, _ = dist_info()
    device = rank_device(device, dist)
    data = load_data(args)
    cfg = S2DTrainConfig(
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        beta2=args.beta2,
        use_pr=args.loss != "dr",
        weighted=args.loss == "dr+wpr",
        normalization=args.normalization,
        split=args.split,
        channels=tuple(int(c) for c in args.channels.split(",")),
        seed=args.seed,
        linear_skip=args.linear_skip,
        landmark_residual=args.landmark_residual,
        gate=args.gate and args.landmark_residual,
    )
    train = make_split(data, cfg.split, "train")
    log = rank0_log(print, rank)
    log(f"training S2D-Dec on {len(train)} frames ({cfg.split} split) on {device}")
    hier = MeshHierarchy.load(resource_path("hierarchy.npz"))
    model, summary = train_decoder(
        train,
        hier,
        load_face().loss_weights,
        cfg,
        run_dir=Path(args.run_dir) if args.run_dir else None,
        device=device,
        log=log,
        extra_meta={"data": asdict(data.config)},
    )
    if rank == 0:
        save_decoder(
            Path(args.out),
            model.cpu(),
            cfg,
            {
                "data": asdict(data.config),
                "train_frames": len(train),
                "train_seconds": summary["train_seconds"],
                "world_size": summary["world_size"],
                "device": str(device),
                "normalization": cfg.normalization,
                "ridge_lambda": getattr(getattr(model, "learned", model), "ridge_lambda", None),
            },
        )
        log(f"saved {args.out}")
    if dist:
        torch.distributed.destroy_process_group()
    return 0
