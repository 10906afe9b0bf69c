"""Re-create a studio export from its manifest, bit for bit (``python main.py replay``).

The studio writes a ``replay`` section into every export manifest (:func:`replay_section`):
the neutral face (shipped, the file, or the vertices themselves for a face with neither, e.g. a
neutralized one; always a hash of its vertices), where the base motion came
from, the exact edit list (:mod:`core.edit.model`), the model hashes, device and decoder
batches. :func:`replay` loads the models the way the studio does (:func:`studio_pipeline`,
:func:`studio_generator`), regenerates the base motion, replays the edits, decodes with
:func:`core.edit.residual.decode_edited_motion` and exports with the manifest's options. On the
same machine (same device, torch build, one thread) the frames are byte-identical.

Motions and faces made above this layer (timelines, transfers, face-creator faces:
:mod:`core.apps`) are replayed through hooks the caller passes (``kinds``, ``make_face``);
:func:`core.apps.replay.replay` passes them, and ``python main.py replay`` calls that one.
CLI exports carry the same section (``decoder_batches`` empty: the CLI decodes eagerly, with
its own torch thread count).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from core.edit.model import apply_edits, edit_from_json, neutral_motion
from core.edit.residual import (
    DEFAULT_EDIT_GATE,
    STUDIO_TRACED_BATCHES,
    check_edit_gate,
    decode_edited_motion,
    pipeline_edit,
)
from core.errors import InvalidInputError, MissingWeightsError
from core.geometry.fold_repair import FOLD_REPAIR_ITERATIONS, check_fold_repair

__all__ = [
    "REPLAY_VERSION",
    "replay_section",
    "vertices_sha256",
    "embedded_face",
    "studio_pipeline",
    "studio_generator",
    "base_motion",
    "replay",
]

#: Version of the ``replay`` section; bumped for incompatible changes.
REPLAY_VERSION = 1
_FOLDER_FORMATS = ("obj", "ply", "npz")


def vertices_sha256(vertices: np.ndarray) -> str:
    """SHA-256 of a face's vertices as little-endian float32 bytes."""
    return hashlib.sha256(np.ascontiguousarray(vertices, "<f4").tobytes()).hexdigest()


def embedded_face(vertices: np.ndarray) -> dict:
    """A face section's ``vertices_f32le_b64`` (the face's float32 little-endian bytes, base64)
    for a face that has neither a file nor a recipe (e.g. a neutralized face)."""
    import base64

    raw = np.ascontiguousarray(vertices, "<f4").tobytes()
    return {"vertices_f32le_b64": base64.b64encode(raw).decode("ascii")}


def _embedded(face: dict, n_vertices: int) -> np.ndarray:
    import base64
    import binascii

    try:
        raw = base64.b64decode(face["vertices_f32le_b64"], validate=True)
    except (TypeError, binascii.Error) as exc:
        raise InvalidInputError(f"manifest: the embedded face is not base64 ({exc})") from exc
    if len(raw) != 12 * n_vertices:
        raise InvalidInputError(
            f"manifest: the embedded face has {len(raw)} bytes, expected {12 * n_vertices}"
        )
    return np.frombuffer(raw, "<f4").reshape(n_vertices, 3).astype(np.float32)


def replay_section(
    face_vertices: np.ndarray,
    face_path: str | None,
    source: dict,
    edits,
    models: dict,
    device: str,
    uv: bool,
    face_extra: Mapping | None = None,
    decoder_batches=STUDIO_TRACED_BATCHES,
    torch_threads: int = 1,
    edit_gate: str = DEFAULT_EDIT_GATE,
    fold_repair: int = FOLD_REPAIR_ITERATIONS,
) -> dict:
    """The manifest section :func:`replay` reads.

    source : ``Source.manifest()`` of the base motion; edits : DragEdit/ResetEdit in order;
    models : ``{"s2d_decoder": sha256 or None, "motion3dgan": sha256 or None}``; uv : the
    export wrote texture coordinates; face_extra : how a face with no file was made (e.g.
    ``{"sliders": {...}}``, read by the ``make_face`` hook); decoder_batches, torch_threads :
    how the decoder ran (the studio: traced, one thread; the CLI: eager, ``[]``); edit_gate :
    how edits were decoded (:data:`core.edit.residual.EDIT_GATES`; a manifest without it was
    written before the per-edit gate and replays with ``"whole"``); fold_repair : the
    iterations of the fold repair of edited frames (:mod:`core.geometry.fold_repair`; 0: none,
    what a manifest without it replays with).
    """
    return {
        "version": REPLAY_VERSION,
        "face": {
            "path": face_path,
            "vertices_sha256": vertices_sha256(face_vertices),
            **dict(face_extra or {}),
        },
        "source": dict(source),
        "edits": [e.to_json() for e in edits],
        "models": dict(models),
        "device": str(device),
        "decoder_batches": [int(b) for b in decoder_batches],
        "torch_threads": int(torch_threads),
        "edit_gate": check_edit_gate(edit_gate),
        "fold_repair": check_fold_repair(fold_repair),
        "uv": bool(uv),
    }


def studio_pipeline(
    weights=None, device: str = "auto", batches=STUDIO_TRACED_BATCHES, threads: int = 1
):
    """S2D-Dec loaded and traced as the studio uses it (one torch thread); ``batches=()`` and
    the CLI's thread count load it as the CLI does (eager). Traces are kept between runs in
    :func:`core.trace_cache.default_trace_cache`."""
    import torch

    from core.pipeline import DEFAULT_DECODER, S2DPipeline
    from core.trace_cache import default_trace_cache

    torch.set_num_threads(max(1, int(threads)))
    pipe = S2DPipeline.load(weights or DEFAULT_DECODER, device=device)
    pipe.use_traced(tuple(batches), cache=default_trace_cache())
    return pipe


def studio_generator(pipe, weights=None):
    """Motion3DGAN sharing the studio's decoder ``pipe``."""
    from core.generate import DEFAULT_GAN, MotionGenerator
    from core.models.loaders import load_gan

    gan, meta = load_gan(weights or DEFAULT_GAN, pipe.device)
    return MotionGenerator(gan, pipe, {"motion3dgan_sha256": meta["sha256"]}, device=pipe.device)


#: ``kinds`` hook: ``(source, neutral (V, 3), generator, fps) -> Motion`` for one motion kind.
MotionHook = Callable[[dict, np.ndarray, object, float], object]


def base_motion(
    source: dict,
    neutral: np.ndarray,
    generator,
    landmark_idx: np.ndarray,
    kinds: Mapping[str, MotionHook] | None = None,
    fps: float = 30.0,
):
    """The studio's base motion for ``Source.manifest()`` ``source`` on ``neutral`` (V, 3);
    ``kinds`` replays the kinds made above this layer (sequence, transfer)."""
    kind = source.get("kind")
    if kind == "neutral":
        return neutral_motion(neutral, landmark_idx)
    if generator is None:
        raise MissingWeightsError(f"a {kind!r} motion needs the motion generator")
    if kinds and kind in kinds:
        return kinds[kind](source, neutral, generator, float(fps))
    n = int(source.get("n_frames", 30))
    if kind in ("generate", "compare"):
        return generator.generate(
            source["label"],
            int(source["seed"]),
            n_frames=n,
            neutral=neutral,
            side=source.get("side"),
        )
    if kind in ("interpolate", "mix_apex"):
        a, b = (
            generator.generate(e["label"], int(e["seed"]), n_frames=n, neutral=neutral, side=None)
            for e in (source["a"], source["b"])
        )
        fn = generator.interpolate if kind == "interpolate" else generator.mix_apex
        return fn(a, b, float(source["tau"]))
    raise InvalidInputError(f"cannot replay a motion of kind {kind!r}")


def _read(manifest_path: Path) -> dict:
    try:
        data = json.loads(Path(manifest_path).read_text())
    except FileNotFoundError as exc:
        raise InvalidInputError(f"manifest {manifest_path} not found") from exc
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"{manifest_path} is not a readable JSON manifest: {exc}") from exc
    rep = data.get("replay") if isinstance(data, dict) else None
    if not isinstance(rep, dict):
        raise InvalidInputError(
            f"{manifest_path} has no 'replay' section; only studio exports can be replayed"
        )
    if rep.get("version") != REPLAY_VERSION:
        raise InvalidInputError(
            f"{manifest_path}: replay version {rep.get('version')!r} is not "
            f"supported (expected {REPLAY_VERSION})"
        )
    batches, threads = rep.get("decoder_batches", []), rep.get("torch_threads", 1)
    if not (
        isinstance(batches, list)
        and all(type(b) is int and 1 <= b <= 4096 for b in batches)
        and type(threads) is int
        and 1 <= threads <= 1024
    ):
        raise InvalidInputError(
            f"{manifest_path}: malformed decoder_batches {batches!r} / torch_threads {threads!r}"
        )
    if data.get("format") not in _FOLDER_FORMATS:
        raise InvalidInputError(
            f"{manifest_path}: replay re-creates {'/'.join(_FOLDER_FORMATS)} "
            f"sequences, found format {data.get('format')!r}"
        )
    return data


def _face(rep: dict, template, make_face=None) -> np.ndarray:
    path = rep["face"]["path"]
    made = make_face(rep["face"]) if make_face is not None and path is None else None
    if made is not None:
        v = np.asarray(made, np.float32)
    elif path is None and "vertices_f32le_b64" in rep["face"]:
        v = _embedded(rep["face"], template.n_vertices)
    elif path is None:
        v = template.vertices
    else:
        from core.io.mesh_io import check_topology, load_mesh

        mesh = load_mesh(path)
        check_topology(
            mesh, template.faces, template.n_vertices, template_name="the studio's face topology"
        )
        v = np.asarray(mesh.vertices, np.float32)
    return _checked(v, rep, path)


def _checked(v: np.ndarray, rep: dict, path: str | None) -> np.ndarray:
    if vertices_sha256(v) != rep["face"]["vertices_sha256"]:
        raise InvalidInputError(
            f"the neutral face {path or '(shipped default)'} differs from "
            "the one the export was made on"
        )
    return v


def _check_models(rep: dict, pipe, generator) -> None:
    got = {
        "s2d_decoder": pipe.meta.get("sha256"),
        "motion3dgan": generator.meta.get("motion3dgan_sha256") if generator else None,
    }
    for role, want in rep.get("models", {}).items():
        if want and got.get(role) and got[role] != want:
            raise InvalidInputError(
                f"the {role} weights differ from the export's ({got[role][:12]} vs "
                f"{want[:12]}); pass the weights it was made with"
            )


def replay(
    manifest_path,
    out_dir,
    weights=None,
    decoder_weights=None,
    device=None,
    overwrite: bool = False,
    kinds: Mapping[str, MotionHook] | None = None,
    make_face: Callable[[dict], np.ndarray | None] | None = None,
) -> Path:
    """Re-create the export of ``manifest_path`` in ``out_dir``; returns ``out_dir``.

    weights, decoder_weights : Motion3DGAN / S2D-Dec files (default: the shipped ones; their
    hashes must match the manifest's when both are known); device : default the export's;
    kinds : motion hooks by kind (:data:`MotionHook`); make_face : the neutral (V, 3) of a
    manifest ``face`` section with no file (None when it does not apply).
    """
    from core.assets import load_face, load_landmarks
    from core.io.atomic import check_destination
    from core.io.export import export_sequence

    data = _read(Path(manifest_path))
    rep = data["replay"]
    edits = [edit_from_json(e) for e in rep["edits"]]  # malformed edits fail before any work
    gate = check_edit_gate(rep.get("edit_gate", "whole"))  # older manifests: the whole input
    repair_iterations = check_fold_repair(rep.get("fold_repair", 0))  # older: no repair
    check_destination(out_dir, overwrite=overwrite, folder=True)
    template, lms = load_face(), load_landmarks()
    user = None
    if isinstance(rep.get("face"), dict) and "user" in rep["face"]:  # another topology
        from core.fit.replay_face import open_user_face

        user = open_user_face(rep["face"], Path(manifest_path))
        neutral = _checked(user.neutral, rep, rep["face"]["path"])
    else:
        neutral = _face(rep, template, make_face)
    pipe = studio_pipeline(
        decoder_weights,
        device or rep.get("device", "auto"),
        rep.get("decoder_batches", STUDIO_TRACED_BATCHES),
        rep.get("torch_threads", 1),
    )
    generator = None if rep["source"].get("kind") == "neutral" else studio_generator(pipe, weights)
    _check_models(rep, pipe, generator)
    base = base_motion(
        rep["source"], neutral, generator, lms.indices, kinds, float(data.get("fps", 30.0))
    )
    offsets = apply_edits(base.landmarks, edits)

    def decode(nv, lm):
        return np.asarray(pipe.decode(nv, lm), dtype=np.float32)

    edit = pipeline_edit(pipe) if gate == "edit" else None
    repair = pipe.fold_repair(repair_iterations) if repair_iterations else None
    frames = decode_edited_motion(
        decode, neutral, base.vertices, base.landmarks, offsets, edit, repair
    )
    keep = {
        k: v
        for k, v in data.items()
        if k
        not in (
            "format",
            "n_frames",
            "n_vertices",
            "n_faces",
            "units",
            "up",
            "has_uv",
            "has_normals",
            "files",
            "frames",
            "read_back",
            "materials",  # written again by export_sequence (the copied .mtl and textures)
        )
    }
    uv = rep.get("uv", True)
    faces, tex, tex_idx, extra = template.faces, template.uv, template.face_uv, {}
    layout = None
    if user is not None:  # carried to the user's mesh, written in its topology and layout
        frames = user.fit.carry(frames, user.mesh.vertices)
        faces, tex, tex_idx, layout = (
            user.mesh.faces,
            user.mesh.uv,
            user.mesh.face_uv,
            user.mesh.layout,
        )
        extra = {rep["face"]["user"].get("fit", "face_fit.npz"): user.fit_bytes}
    return export_sequence(
        out_dir,
        frames,
        faces,
        data["format"],
        uv=tex if uv else None,
        face_uv=tex_idx if uv else None,
        layout=layout,
        extra_files=extra,
        manifest=keep,
        overwrite=overwrite,
        up=data.get("up", "z"),
        units=data.get("units", "m"),
        normals=bool(data.get("has_normals", True)) if data["format"] == "obj" else True,
    )
