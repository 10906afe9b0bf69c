"""Application commands: ``sequence``, ``transfer``, ``face``, ``neutralize``,
``build-face-basis``, ``build-transfer-model``, ``evaluate-apps`` (:mod:`core.apps`).

Every command checks its inputs and its destination before it computes or writes anything;
sequences are exported atomically like ``generate``'s (:mod:`core.cli.motion`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.cli.fit import add_face_args
from core.cli.motion import (
    _export_args,
    _export_stream,
    _load_generator,
    _load_neutral,
    _request,
)
from core.errors import ExportError, InvalidInputError
from core.io.atomic import check_destination
from core.paths import ROOT

__all__ = ["register"]


def register(sub) -> None:
    """Add the application sub-commands."""
    p = sub.add_parser("sequence", help="several expressions chained into one animation")
    p.add_argument(
        "--spec",
        required=True,
        help="clips LABEL[:SEED][@SECONDS[s]][/TRANSITION[s]], comma-separated, "
        "e.g. 'happy:3@1.5s,surprised:1@2s,neutral@1s'",
    )
    p.add_argument("--fps", type=float, default=30.0)
    _export_args(p)
    p.set_defaults(func=cmd_sequence)

    p = sub.add_parser("transfer", help="replay a performance (meshes or landmarks) on a face")
    p.add_argument(
        "--source",
        required=True,
        help="folder of .obj/.ply frames (our topology) or .pts files, a .npy "
        "(T, 68, 3) or a .csv with 204 columns",
    )
    p.add_argument("--source-fps", type=float, default=30.0, help="frame rate of the source")
    p.add_argument("--fps", type=float, default=30.0, help="frame rate of the result")
    p.add_argument(
        "--mode",
        choices=("srvf", "absolute", "multilinear"),
        default="srvf",
        help="srvf: scaled to the target face (paper); absolute: keep the source's "
        "displacements (same units); multilinear: absolute, corrected for the identity "
        "difference by a model learned from anny (resources/transfer_model.npz)",
    )
    p.add_argument(
        "--stabilize",
        action="store_true",
        help="remove the performer's head motion (rigid fit on nose bridge and eyes)",
    )
    p.add_argument(
        "--no-align", action="store_true", help="do not rotate the source's axes onto the target's"
    )
    _export_args(p)
    p.set_defaults(func=cmd_transfer)

    p = sub.add_parser("face", help="create a face from named sliders (anny-derived basis)")
    p.add_argument("--out", help="output mesh (.obj or .ply)")
    p.add_argument("--random", type=int, default=None, metavar="SEED", help="random face")
    p.add_argument(
        "--set",
        default="",
        metavar="NAME=VALUE,…",
        help="slider values, e.g. age=0.8,nose-width=0.3 (after --random)",
    )
    p.add_argument("--list", action="store_true", help="list the sliders and exit")
    p.set_defaults(func=cmd_face)

    p = sub.add_parser("neutralize", help="the neutral face of an expressive face")
    p.add_argument(
        "--mesh",
        required=True,
        help="expressive face (.obj .ply .glb .gltf .stl); another topology is "
        "fitted (like generate --neutral) and the result keeps its topology",
    )
    add_face_args(p)
    p.add_argument("--out", required=True, help="output mesh (.obj or .ply)")
    p.add_argument("--method", choices=("joint", "basis", "paper"), default="joint")
    p.add_argument("--decoder-weights", default=str(ROOT / "models" / "s2d_decoder.safetensors"))
    p.add_argument("--device", default="auto")
    p.set_defaults(func=cmd_neutralize)

    p = sub.add_parser(
        "build-face-basis",
        help="derive resources/face_sliders.npz + expression_basis.npz from anny",
    )
    p.add_argument("--out", default=str(ROOT / "resources"))
    p.add_argument("--held-out", type=int, default=100, help="identities for the error check")
    p.set_defaults(func=cmd_build_face_basis)

    p = sub.add_parser(
        "build-transfer-model",
        help="learn resources/transfer_model.npz (landmark motion vs identity) from anny",
    )
    p.add_argument("--out", default=str(ROOT / "resources"))
    p.set_defaults(func=cmd_build_transfer_model)

    p = sub.add_parser("evaluate-apps", help="transfer + neutralization on anny -> docs/")
    p.add_argument("--docs", default=str(ROOT / "docs"), help="folder of applications.md")
    p.add_argument("--identities", type=int, default=8)
    p.add_argument("--random-mixtures", type=int, default=8)
    p.set_defaults(func=cmd_evaluate_apps)


def _check_fps(value: float, flag: str) -> float:
    import math

    if not math.isfinite(value) or not 1.0 <= value <= 240.0:
        raise InvalidInputError(f"{flag}: expected a frame rate in [1, 240], found {value}")
    return float(value)


def cmd_sequence(args) -> int:
    from core.apps.replay import sequence_params
    from core.apps.timeline import build_timeline, parse_spec

    fps = _check_fps(args.fps, "--fps")
    clips = parse_spec(args.spec)
    gen = _load_generator(args)
    for c in clips:
        if not c.is_neutral:
            gen.label_index(c.label)
    face = _load_neutral(args)
    request = _request(args, gen, face, command="sequence", spec=args.spec, fps=fps)

    def make(name):
        m = build_timeline(gen, clips, face.vertices, fps)
        return m, {"kind": "sequence", "timeline": m.meta["timeline"]}

    def replay(name, m):
        return {"kind": "sequence", "label": args.spec, "n_frames": m.n_frames, **params}

    params = sequence_params(clips)
    return _export_stream(args, gen, face, ["sequence"], request, make, replay)


def cmd_transfer(args) -> int:
    from core.apps.replay import transfer_params
    from core.apps.sources import read_source, resample
    from core.apps.transfer import transfer_motion

    fps = _check_fps(args.fps, "--fps")
    src = read_source(args.source, _check_fps(args.source_fps, "--source-fps"))
    gen = _load_generator(args)
    face = _load_neutral(args)
    request = _request(
        args,
        gen,
        face,
        command="transfer",
        mode=args.mode,
        fps=fps,
        source=str(Path(src.path).resolve()),
        stabilize=args.stabilize,
        align=not args.no_align,
    )
    lm = resample(src.landmarks, src.fps, fps)
    print(
        f"source: {src.kind}, {src.n_frames} frames at {src.fps:g} fps; resampled to "
        f"{len(lm)} frames at {fps:g} fps"
    )

    def make(name):
        m = transfer_motion(
            gen, lm, face.vertices, args.mode, fps, args.stabilize, not args.no_align
        )
        info = {
            "kind": "transfer",
            "transfer": {
                **m.meta["transfer"],
                "source": str(Path(src.path).resolve()),
                "source_kind": src.kind,
                "source_frames": src.n_frames,
                "source_fps": src.fps,
            },
        }
        return m, info

    def replay(name, m):
        params = transfer_params(src, args.mode, args.stabilize, not args.no_align)
        return {"kind": "transfer", "label": Path(src.path).name, "n_frames": m.n_frames, **params}

    return _export_stream(args, gen, face, ["transfer"], request, make, replay)


def _check_mesh_destination(path: str) -> Path:
    out = Path(path)
    if out.suffix.lower() not in (".obj", ".ply"):
        raise ExportError(f"--out: expected a .obj or .ply file name, found {out.name!r}")
    return check_destination(out, overwrite=True)  # an existing file is replaced atomically


def _save_face(out: Path, vertices) -> None:
    from core.assets import load_face
    from core.io.mesh_io import save_mesh

    face = load_face()
    uv, fuv = (face.uv, face.face_uv) if out.suffix.lower() == ".obj" else (None, None)
    save_mesh(out, vertices, face.faces, uv, fuv)
    print(f"wrote {out}")


def cmd_face(args) -> int:
    from core.apps.face_basis import load_face_basis, parse_settings

    basis = load_face_basis()
    if args.list:
        for s in basis.sliders:
            print(f"{s.group:9s} {s.name:28s} [{s.lo:g}, {s.hi:g}] default {s.default:g}")
        return 0
    if not args.out:
        raise InvalidInputError("face: --out FILE.obj is required (or pass --list)")
    out = _check_mesh_destination(args.out)
    values = basis.random(args.random) if args.random is not None else {}
    values.update(basis.check_values(parse_settings(args.set)))
    _save_face(out, basis.vertices(values))
    changed = {k: round(v, 3) for k, v in values.items() if v != basis.slider(k).default}
    print(f"sliders: {changed or 'all at their defaults'}")
    return 0


def cmd_neutralize(args) -> int:
    from core.apps.neutralize import neutralize
    from core.cli.fit import neutral_face

    out = _check_mesh_destination(args.out)
    face = neutral_face(args.mesh, args.fit, args.landmarks)
    pipe = None
    if args.method == "paper":
        from core.pipeline import S2DPipeline

        pipe = S2DPipeline.load(args.decoder_weights, device=args.device)
    from core.io.mesh_io import save_mesh

    fuv = face.face_uv if out.suffix.lower() == ".obj" else None
    if face.user is not None and args.method == "joint":
        # another topology: the joint model fitted to the mesh's own surface (ICP), its
        # expression carried onto the mesh (core.apps.neutralize_any)
        from core.apps.neutralize_any import neutralize_fitted

        mesh = face.user.mesh
        result = neutralize_fitted(face.user.fit, mesh.vertices, mesh.faces)
        save_mesh(out, result, face.faces, face.uv if fuv is not None else None, fuv)
        print(f"wrote {out} (in {args.mesh}'s topology)")
        return 0
    # another topology is fitted in its own pose and scale: align it onto the basis first
    result = neutralize(face.vertices, args.method, pipe, align=face.carry is not None)
    if face.carry is None:
        _save_face(out, result)
        return 0
    # another topology or pose: carry the template's change onto the user's mesh
    from core.assets import load_landmarks
    from core.motion import Motion

    frames = np.stack([face.vertices, result])  # (2, V_template, 3)
    carried = face.carry(Motion(load_landmarks().gather(frames), frames))
    save_mesh(out, carried.vertices[1], face.faces, face.uv if fuv is not None else None, fuv)
    print(f"wrote {out} (in {args.mesh}'s topology)")
    return 0


def cmd_build_face_basis(args) -> int:
    from core.apps.basis_build import build_face_basis

    out = Path(args.out)
    if not out.is_dir():
        raise ExportError(f"--out: {out} is not a folder")
    build_face_basis(out, n_held_out=args.held_out)
    return 0


def cmd_build_transfer_model(args) -> int:
    from core.apps.motion_model import TRANSFER_MODEL_FILE, build_motion_model

    out = Path(args.out)
    if not out.is_dir():
        raise ExportError(f"--out: {out} is not a folder")
    build_motion_model(out / TRANSFER_MODEL_FILE)
    print(f"wrote {out / TRANSFER_MODEL_FILE}")
    return 0


def cmd_evaluate_apps(args) -> int:
    from core.apps.evaluate import evaluate_apps
    from core.apps.report import write_report

    docs = Path(args.docs)
    if not docs.is_dir():
        raise ExportError(f"--docs: {docs} is not a folder")
    if args.identities < 2:
        raise InvalidInputError(f"--identities: expected at least 2, found {args.identities}")
    from core.apps.figure import face_creator_figure

    res = evaluate_apps(args.identities, args.random_mixtures)
    (docs / "figures").mkdir(exist_ok=True)
    print(f"wrote {face_creator_figure(docs / 'figures' / 'face_creator.png')}")
    path = write_report(res, docs / "applications.md")
    print(f"wrote {path}")
    return 0
