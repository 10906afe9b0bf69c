"""Motion3DGAN commands: ``generate`` and ``interpolate`` (dense 4D sequences to a folder).

Every command validates its inputs (labels, seeds, meshes, output folder) before it writes
anything. Sequences are generated, written and released one at a time (memory does not grow with
``--seeds``/``--steps``), each atomically (:func:`core.io.export.export_sequence`); the folder
records which are complete, so after a crash or ``kill -9`` the same command with ``--resume``
writes only the missing ones, and stale temporaries are removed (:class:`core.io.batch.ExportBatch`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.cli.fit import add_face_args
from core.errors import InvalidInputError
from core.paths import MODELS

__all__ = ["register", "cmd_generate", "cmd_interpolate", "step_names", "MAX_FRAMES", "MAX_STEPS"]


def register(sub) -> None:
    """Add ``generate`` and ``interpolate``."""
    p = sub.add_parser("generate", help="label + noise seeds -> dense 4D expression sequences")
    p.add_argument("--label", required=True, help="expression label (see `main.py info`)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="noise seeds (>= 0)")
    _export_args(p)
    p.add_argument("--frames", type=int, default=30, help="frames per sequence (30 = native)")
    p.add_argument(
        "--max-frames",
        type=int,
        default=MAX_FRAMES,
        help=f"refuse --frames above this (default {MAX_FRAMES}; raise it explicitly)",
    )
    p.add_argument(
        "--side",
        choices=("left", "right"),
        default=None,
        help="side of a one-sided label (mouth_side, contempt); default: from the seed",
    )
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("interpolate", help="geodesic interpolation between two generated motions")
    p.add_argument("--from", dest="src", required=True, metavar="LABEL:SEED")
    p.add_argument("--to", dest="dst", required=True, metavar="LABEL:SEED")
    p.add_argument("--steps", type=int, default=5, help="number of tau values in [0, 1]")
    p.add_argument(
        "--max-steps",
        type=int,
        default=MAX_STEPS,
        help=f"refuse --steps above this (default {MAX_STEPS}; raise it explicitly)",
    )
    _export_args(p)
    p.set_defaults(func=cmd_interpolate)


def _export_args(p) -> None:
    p.add_argument("--out", required=True, help="output folder (its parent must exist)")
    p.add_argument(
        "--neutral",
        default=None,
        help="neutral face mesh (.obj .ply .glb .gltf .stl); another topology is "
        "fitted and the frames are written in its topology",
    )
    add_face_args(p)
    p.add_argument(
        "--format",
        choices=("obj", "ply", "npz") + SINGLE_FILE,
        default="obj",
        help="obj/ply/npz: a folder of frames per sequence; glb (morph-target "
        "animation) or mp4/gif (a shaded front view): one file per sequence, "
        "in its folder beside manifest.json (docs/manifest.md)",
    )
    p.add_argument(
        "--up",
        choices=("z", "y"),
        default="z",
        help="up axis of the written frames: z (default; the app's frame, round-trips "
        "as --neutral) or y (Maya, Unity, Unreal, Blender's importer defaults; "
        "see docs/manifest.md). GLB is always y-up",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing sequence folders")
    p.add_argument(
        "--resume",
        action="store_true",
        help="skip sequences an interrupted run with the same options completed",
    )
    p.add_argument("--weights", default=str(MODELS / "motion3dgan.safetensors"))
    p.add_argument("--decoder-weights", default=str(MODELS / "s2d_decoder.safetensors"))
    p.add_argument("--device", default="auto")


#: Default caps of ``--frames`` and ``--steps`` (each sequence is generated, written and released
#: before the next, so memory does not grow with them; the caps bound time and disk use).
MAX_FRAMES = 1000
MAX_STEPS = 1000


def _check_count(value: int, flag: str, low: int, cap: int, cap_flag: str) -> int:
    if value < low:
        raise InvalidInputError(f"{flag}: expected an integer >= {low}, found {value}")
    if value > cap:
        raise InvalidInputError(
            f"{flag}: {value} is above the limit of {cap}; pass {cap_flag} {value} to allow it "
            "(it takes time and disk space in proportion)"
        )
    return value


# ---------------------------------------------------------------------------------------------
# generate / interpolate


def _load_neutral(args):
    """The ``--neutral`` face (any topology; see :func:`core.cli.fit.neutral_face`): a face of our
    topology is checked for plausibility (collapsed, reordered, mirrored faces refused; a rotated
    one animated upright and turned back), another topology is fitted."""
    from core.cli.fit import neutral_face

    return neutral_face(args.neutral, args.fit, args.landmarks)


#: Formats written as one file per sequence (``<name>/<name>.<fmt>`` beside its manifest).
SINGLE_FILE = ("glb", "mp4", "gif")


def _manifest(args, gen, motion, frames: np.ndarray, face, info: dict) -> dict:
    """The schema-v1 provenance (:func:`core.io.manifest.build_manifest`) of one sequence whose
    written frames are ``frames`` (T, V', 3) (in ``face``'s topology)."""
    from core.io.manifest import UNITS, build_manifest, guess_units, model_entry

    default = face.source == "default face"
    out = build_manifest(
        producer="cli",
        motion={**info, "n_frames": int(len(frames)), "length": motion.meta.get("length")},
        fps=motion.fps,
        face_name=face.source if default else Path(face.source).name,
        face_path=None if default else face.source,
        face_vertices=frames[0],  # frame 1 is the neutral, in the written topology
        models={
            "motion3dgan": model_entry(args.weights),
            "s2d_decoder": model_entry(gen.decoder_weights),
        },
        units=face.units if face.units in UNITS else guess_units(frames[0]),
    )
    if face.frame:
        out["face_frame"] = face.frame
    return out


def _export_single(
    folder: Path,
    fmt: str,
    frames: np.ndarray,
    faces: np.ndarray,
    fps: float,
    manifest: dict,
    overwrite: bool,
    up: str,
    uv: tuple | None = None,
) -> None:
    """``folder/<name>.<fmt>`` (GLB, or an MP4/GIF rendered by :mod:`core.io.render`) and
    ``folder/manifest.json``, atomically (the folder appears complete or not at all).
    ``uv`` = (uv, face_uv, materials or None) is written into a GLB."""
    from core.io.atomic import atomic_dir
    from core.io.export import MANIFEST_NAME, write_manifest
    from core.io.manifest import file_part

    name = f"{folder.name}.{fmt}"
    with atomic_dir(folder, overwrite=overwrite) as tmp:
        if fmt == "glb":
            from core.io.export_gltf import export_glb

            export_glb(tmp / name, frames, faces, fps=fps, **_uv_kw(uv))
        else:
            from core.io.export_video import export_video
            from core.io.render import face_colors, mouth_contour, mouth_teeth, render_frames

            colors, mouth = face_colors(frames[0], faces), mouth_contour(frames[0], faces)
            teeth = mouth_teeth(frames[0], faces)
            export_video(
                tmp / name,
                render_frames(frames, faces, colors=colors, mouth=mouth, teeth=teeth),
                fps=fps,
            )
        write_manifest(
            tmp / MANIFEST_NAME,
            {
                **manifest,
                **file_part(
                    fmt,
                    len(frames),
                    frames.shape[1],
                    len(faces),
                    [name],
                    units=manifest["face"]["units"],
                    up=up,
                    has_normals=fmt == "glb",
                ),
            },
        )


def _uv_kw(uv: tuple | None) -> dict:
    """(uv, face_uv, material_groups() or None) -> export_glb's keywords."""
    if uv is None:
        return {}
    out = {} if uv[2] is None else {"materials": uv[2][0], "groups": uv[2][1]}
    return out if uv[0] is None else {**out, "uv": uv[0], "face_uv": uv[1]}


def _user_uv(face, uv, fuv) -> tuple | None:
    """A user's face: its UVs and its materials (None for our own face)."""
    if face.user is None:
        return None
    from core.io.obj_layout import material_groups

    return uv, fuv, material_groups(face.layout, len(face.faces))


def _request(args, gen, face, **fields) -> dict:
    """What defines the sequences of a call (besides their names), for ``--resume``."""
    from core.files import file_sha256

    return {
        **fields,
        "format": args.format,
        "up": getattr(args, "up", "z"),
        "neutral": face.source,
        "models": [gen.meta.get("motion3dgan_sha256"), file_sha256(gen.decoder_weights)],
    }


def _load_generator(args):
    from core.generate import MotionGenerator

    gen = MotionGenerator.load(args.weights, args.device, args.decoder_weights)
    gen.pipeline  # noqa: B018 - load S2D-Dec now: a missing decoder fails before any work
    return gen


def _export_stream(args, gen, face, names: list[str], request: dict, make, replay=None) -> int:
    """Generate, write and release one sequence at a time: ``make(name) -> (Motion, info)``
    on ``face.vertices``; frames are written in ``face``'s topology and pose (``face.carry``).

    ``replay(name, motion) -> source dict``: also write the manifest's ``replay`` section
    (``python main.py replay``), for OBJ/PLY/NPZ frames of our topology in its own pose.

    Sequences already complete for the same request are skipped with ``--resume``; temporaries
    of an interrupted run are removed first (:class:`core.io.batch.ExportBatch`).
    """
    from core.io.batch import ExportBatch
    from core.io.export import export_sequence

    faces, uv, fuv = face.faces, face.uv, face.face_uv
    with ExportBatch(
        args.out,
        request,
        names,
        overwrite=args.overwrite,
        resume=args.resume,
        log=lambda line: print(line, flush=True),
    ) as batch:
        total = len(batch.todo)
        for k, name in enumerate(batch.todo, 1):
            motion, info = make(name)
            frames = motion.vertices if face.carry is None else face.carry(motion).vertices
            manifest = _manifest(args, gen, motion, frames, face, info)
            if args.format in SINGLE_FILE:
                _export_single(
                    batch.out / name,
                    args.format,
                    frames,
                    faces,
                    motion.fps,
                    manifest,
                    args.overwrite or args.resume,
                    "y" if args.format == "glb" else getattr(args, "up", "z"),
                    _user_uv(face, uv, fuv),
                )
                batch.complete(name)
                print(
                    f"[{k}/{total}] wrote {batch.out / name}/{name}.{args.format} "
                    f"({len(frames)} frames)",
                    flush=True,
                )
                continue
            if args.format == "ply" and uv is not None:
                uv, fuv = _ply_uv(uv, fuv, faces, frames.shape[1])
            extra = {}
            if replay is not None:
                extra = _add_replay(manifest, args, gen, face, replay(name, motion), uv, fuv)
            export_sequence(
                batch.out / name,
                frames,
                faces,
                args.format,
                uv=uv,
                face_uv=fuv,
                manifest=manifest,
                overwrite=args.overwrite or args.resume,
                units=manifest["face"]["units"],
                up=getattr(args, "up", "z"),
                layout=face.layout,
                extra_files=extra,
            )
            batch.complete(name)
            print(
                f"[{k}/{total}] wrote {batch.out / name} ({len(frames)} frames, {args.format})",
                flush=True,
            )
            del motion, frames, manifest
    return 0


def _add_replay(manifest: dict, args, gen, face, source: dict, uv, fuv) -> dict[str, bytes]:
    """The ``replay`` section of a CLI export (:func:`core.edit.replay.replay_section`): the
    decoder ran eagerly with this process's torch threads. A face of another topology adds its
    fit and neutral (:mod:`core.fit.replay_face`); the files to write beside the frames are
    returned. Left out where a replay could not re-create the files: a face of our topology in
    another pose, or with UVs of its own."""
    import torch

    from core.assets import load_face
    from core.edit.replay import replay_section

    t = load_face()
    own_uv = uv is not None and not (np.array_equal(uv, t.uv) and np.array_equal(fuv, t.face_uv))
    if face.user is None and (face.carry is not None or face.frame or own_uv):
        return {}
    manifest["replay"] = replay_section(
        face.vertices,
        manifest["face"]["path"],
        source,
        [],
        {role: manifest["models"][role]["sha256"] for role in ("s2d_decoder", "motion3dgan")},
        str(gen.pipeline.device),
        uv=uv is not None,
        decoder_batches=(),
        torch_threads=torch.get_num_threads(),
    )
    if face.user is None:
        return {}
    from core.fit.replay_face import user_face_files

    face_extra, files = user_face_files(face.user, face.vertices)
    manifest["replay"]["face"].update(face_extra)
    return files


def _ply_uv(uv, fuv, faces, n_vertices: int):
    """PLY keeps one UV per vertex: (uv, face_uv) when that holds, else (None, None) (said)."""
    from core.io.export_obj import per_vertex_uv

    try:
        per_vertex_uv(uv, fuv, faces, n_vertices)
    except InvalidInputError:
        print(
            "note: PLY keeps one UV per vertex and this face's UVs have seams; the PLY "
            "frames are written without UVs (use --format obj to keep them)"
        )
        return None, None
    return uv, fuv


def cmd_generate(args) -> int:
    from core.generate import check_seed

    _check_count(args.frames, "--frames", 2, args.max_frames, "--max-frames")
    gen = _load_generator(args)
    gen.label_index(args.label)
    gen.side_of(args.label, 0, args.side)  # a side for a label that has none: clear error
    seeds = [check_seed(s) for s in args.seeds]
    if len(set(seeds)) != len(seeds):
        raise InvalidInputError(f"--seeds: expected distinct seeds, found {seeds}")
    face = _load_neutral(args)
    names = [f"{args.label}_seed{s}" for s in seeds]
    seed_of = dict(zip(names, seeds, strict=True))
    request = _request(
        args, gen, face, command="generate", label=args.label, frames=args.frames, side=args.side
    )

    def make(name):
        s = seed_of[name]
        m = gen.generate(args.label, s, n_frames=args.frames, neutral=face.vertices, side=args.side)
        info = {"kind": "generate", "label": args.label, "seed": s}
        if "side" in m.meta:
            info["side"] = m.meta["side"]
        return m, info

    def replay(name, m):  # the studio's Source.manifest() of this motion
        out = {"kind": "generate", "label": args.label, "seed": seed_of[name]}
        out["n_frames"] = args.frames
        return out if args.side is None else {**out, "side": args.side}

    return _export_stream(args, gen, face, names, request, make, replay)


def _parse_spec(text: str, flag: str) -> tuple[str, int]:
    from core.generate import check_seed

    label, sep, seed = text.rpartition(":")
    if not sep or not label:
        raise InvalidInputError(f"{flag}: expected LABEL:SEED such as happy:0, found {text!r}")
    try:
        value = int(seed)
    except ValueError as exc:
        raise InvalidInputError(
            f"{flag}: expected an integer seed after ':', found {seed!r} in {text!r}"
        ) from exc
    return label, check_seed(value)


def step_names(taus: np.ndarray) -> list[str]:
    """Folder names of interpolation steps: ``step_<index>_tau_<tau>``, unique by their index
    (zero-padded to the width of the last index, at least 3 digits)."""
    width = max(3, len(str(len(taus) - 1)))
    return [f"step_{i:0{width}d}_tau_{t:.3f}" for i, t in enumerate(taus)]


def cmd_interpolate(args) -> int:
    (la, sa), (lb, sb) = _parse_spec(args.src, "--from"), _parse_spec(args.dst, "--to")
    _check_count(args.steps, "--steps", 2, args.max_steps, "--max-steps")
    gen = _load_generator(args)
    gen.label_index(la)
    gen.label_index(lb)
    face = _load_neutral(args)
    taus = np.linspace(0.0, 1.0, args.steps)
    names = step_names(taus)
    tau_of = dict(zip(names, taus.tolist(), strict=True))
    request = _request(
        args, gen, face, command="interpolate", src=[la, sa], dst=[lb, sb], steps=args.steps
    )
    ends: list = []

    def make(name):
        if not ends:  # the two end motions, once, only when a step is still to be written
            ends.extend(
                (
                    gen.generate(la, sa, neutral=face.vertices),
                    gen.generate(lb, sb, neutral=face.vertices),
                )
            )
        t = tau_of[name]
        m = gen.interpolate(ends[0], ends[1], t)
        return m, {
            "kind": "interpolate",
            "from": {"label": la, "seed": sa},
            "to": {"label": lb, "seed": sb},
            "tau": t,
        }

    def replay(name, m):
        ends = {"a": {"label": la, "seed": sa}, "b": {"label": lb, "seed": sb}}
        return {"kind": "interpolate", **ends, "tau": tau_of[name], "n_frames": 30}

    return _export_stream(args, gen, face, names, request, make, replay)
