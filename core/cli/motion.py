"""Motion3DGAN commands: ``generate`` and ``interpolate`` (dense 4D sequences to a folder).

Every command validates its inputs (labels, seeds, meshes, output folder) before it writes
anything; sequences are exported atomically (:func:`core.io.export.export_sequence`) and a failure
part-way through a multi-sequence export removes the sequences this call already wrote.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from core.cli.fit import add_face_args
from core.errors import InvalidInputError
from core.io.atomic import prepare_output_dir
from core.paths import MODELS

__all__ = ["register", "cmd_generate", "cmd_interpolate"]


def register(sub) -> None:
    """Add ``generate`` and ``interpolate``."""
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


def _export_args(p) -> None:
    p.add_argument("--out", required=True, help="output folder (its parent must exist)")
    p.add_argument("--neutral", default=None,
                   help="neutral face mesh (.obj .ply .glb .gltf .stl); another topology is "
                        "fitted and the frames are written in its topology")
    add_face_args(p)
    p.add_argument("--format", choices=("obj", "ply", "npz"), default="obj")
    p.add_argument("--overwrite", action="store_true", help="replace existing sequence folders")
    p.add_argument("--weights", default=str(MODELS / "motion3dgan.safetensors"))
    p.add_argument("--decoder-weights", default=str(MODELS / "s2d_decoder.safetensors"))
    p.add_argument("--device", default="auto")


# ---------------------------------------------------------------------------------------------
# generate / interpolate


def _load_neutral(args):
    """The ``--neutral`` face (any topology; see :func:`core.cli.fit.neutral_face`)."""
    from core.cli.fit import neutral_face

    return neutral_face(args.neutral, args.fit, args.landmarks)


def _export_all(out: Path, created: bool, items: list[tuple[str, object, dict]], fmt: str,
                face, overwrite: bool) -> None:
    """Export (name, Motion, manifest) items in ``face``'s topology (a NeutralFace); on failure
    remove what this call wrote."""
    from core.io.export import export_sequence

    faces, uv, face_uv = face.faces, face.uv, face.face_uv
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
                            manifest=manifest, overwrite=overwrite,
                            units=face.units if face.units in ("m", "cm", "mm") else "m")
            done.append(out / name)
            print(f"wrote {out / name} ({motion.n_frames} frames, {fmt})")
    except BaseException:
        for d in done:
            shutil.rmtree(d, ignore_errors=True)
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise


def _manifest(gen, motion, face, extra: dict) -> dict:
    from core.files import file_sha256

    return {
        **extra,
        "fps": motion.fps,
        "neutral": face.source,
        **({"face_frame": face.frame} if face.frame else {}),
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
    face = _load_neutral(args)
    names = [f"{args.label}_seed{s}" for s in seeds]
    out, created = prepare_output_dir(args.out, names, args.overwrite)

    def items():
        for name, s in zip(names, seeds, strict=True):
            m = gen.generate(args.label, s, n_frames=args.frames, neutral=face.vertices,
                             side=args.side)
            info = {"label": args.label, "seed": s}
            if "side" in m.meta:
                info["side"] = m.meta["side"]
            yield name, _carried(face, m), _manifest(gen, m, face, info)

    return _build_and_export(out, created, items, args, face)


def _carried(face, motion):
    """The motion on the user's mesh (a face of another topology) or unchanged."""
    return motion if face.carry is None else face.carry(motion)


def _build_and_export(out, created: bool, items, args, face) -> int:
    """Build all ``(name, motion, manifest)`` of ``items()`` first, then export them; a failure
    while building removes the output folder when this call created it."""
    try:
        built = list(items())
    except BaseException:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    _export_all(out, created, built, args.format, face, args.overwrite)
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
    face = _load_neutral(args)
    taus = np.linspace(0.0, 1.0, args.steps)
    names = [f"tau_{t:.3f}" for t in taus]
    out, created = prepare_output_dir(args.out, names, args.overwrite)

    def items():
        a = gen.generate(la, sa, neutral=face.vertices)
        b = gen.generate(lb, sb, neutral=face.vertices)
        for name, t in zip(names, taus, strict=True):
            m = gen.interpolate(a, b, float(t))
            yield name, _carried(face, m), _manifest(gen, m, face, {
                "from": {"label": la, "seed": sa}, "to": {"label": lb, "seed": sb},
                "tau": float(t)})

    return _build_and_export(out, created, items, args, face)
