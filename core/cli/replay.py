"""``python main.py replay manifest.json --out DIR``: re-create a studio export bit for bit
(and a CLI ``sequence``/``transfer`` export: :mod:`core.apps.replay`)."""

from __future__ import annotations

__all__ = ["register", "cmd_replay"]


def register(sub) -> None:
    """Add ``replay``."""
    p = sub.add_parser("replay", help="re-create an exported studio sequence from its manifest")
    p.add_argument(
        "manifest",
        help="manifest.json of an OBJ/PLY/NPZ studio export (or CLI generate/interpolate/"
        "sequence/transfer export)",
    )
    p.add_argument("--out", required=True, help="folder to create (its parent must exist)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing folder")
    p.add_argument("--weights", default=None, help="Motion3DGAN weights (default: shipped)")
    p.add_argument("--decoder-weights", default=None, help="S2D-Dec weights (default: shipped)")
    p.add_argument("--device", default=None, help="default: the device of the export")
    p.set_defaults(func=cmd_replay)


def cmd_replay(args) -> int:
    from core.apps.replay import replay  # core.edit.replay with the applications' kinds

    out = replay(
        args.manifest, args.out, args.weights, args.decoder_weights, args.device, args.overwrite
    )
    print(f"replayed {args.manifest} into {out}")
    return 0
