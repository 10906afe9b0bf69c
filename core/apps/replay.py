"""Replaying the applications' exports: timelines, transfers and face-creator faces.

:func:`core.edit.replay.replay` (inference layer) re-creates generated, interpolated and sculpted
motions; the kinds made in this layer reach it as hooks (``kinds``, ``make_face``) that
:func:`replay` passes, so ``python main.py replay`` (which calls :func:`replay`) handles studio
and CLI exports alike. What each hook reads from the manifest's ``replay`` section:

* ``source.kind == "sequence"``: ``clips`` (the exact clip list, :func:`sequence_params`; the
  spec in ``label`` rounds durations to 6 digits and is used only when ``clips`` is absent) and
  the manifest's ``fps``;
* ``source.kind == "transfer"``: the source file ``path``, ``source_fps``, ``mode``,
  ``stabilize``, ``align`` and ``landmarks_sha256``, a hash of the landmarks read from the file
  (:func:`transfer_params`): a source file changed since the export is refused;
* ``face.sliders`` (face path None): the face creator's slider values
  (:func:`core.apps.face_basis.FaceBasis.vertices`).

On the same machine (device, torch build, thread count) the replayed files are byte-identical.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from pathlib import Path

import numpy as np

from core.edit import replay as _edit_replay
from core.errors import InvalidInputError

__all__ = [
    "KINDS",
    "replay",
    "sequence_params",
    "transfer_params",
    "landmarks_sha256",
    "slider_face",
]


def landmarks_sha256(landmarks: np.ndarray) -> str:
    """SHA-256 of a landmark sequence (T, 68, 3) as little-endian float32 bytes."""
    return hashlib.sha256(np.ascontiguousarray(landmarks, "<f4").tobytes()).hexdigest()


def sequence_params(clips) -> dict:
    """The ``source`` fields that replay a timeline of ``clips`` (list of Clip)."""
    return {"clips": [asdict(c) for c in clips]}


def transfer_params(src, mode: str, stabilize: bool, align: bool) -> dict:
    """The ``source`` fields that replay a transfer of ``src`` (:class:`core.apps.sources.Source`)."""
    return {
        "path": str(Path(src.path).resolve()),
        "source_kind": src.kind,
        "source_frames": src.n_frames,
        "source_fps": float(src.fps),
        "mode": mode,
        "stabilize": bool(stabilize),
        "align": bool(align),
        "landmarks_sha256": landmarks_sha256(src.landmarks),
    }


def _field(source: dict, key: str, kinds):
    v = source.get(key)
    ok = isinstance(v, bool) if kinds is bool else isinstance(v, kinds) and not isinstance(v, bool)
    if not ok:
        raise InvalidInputError(
            f"manifest: the {source.get('kind')} source has no valid {key!r} (found {v!r})"
        )
    return v


def _sequence(source: dict, neutral: np.ndarray, gen, fps: float):
    from core.apps.timeline import Clip, build_timeline, parse_spec

    if "clips" in source:
        try:
            clips = [Clip(**c) for c in source["clips"]]
        except TypeError as exc:
            raise InvalidInputError(f"manifest: malformed timeline clips: {exc}") from exc
    else:
        clips = parse_spec(_field(source, "label", str))
    return build_timeline(gen, clips, neutral, fps)


def _transfer(source: dict, neutral: np.ndarray, gen, fps: float):
    from core.apps.sources import read_source, resample
    from core.apps.transfer import transfer_motion

    path = _field(source, "path", str)
    src = read_source(path, float(_field(source, "source_fps", (int, float))))
    if landmarks_sha256(src.landmarks) != _field(source, "landmarks_sha256", str):
        raise InvalidInputError(
            f"the transfer source {path} differs from the one the export was made from"
        )
    lm = resample(src.landmarks, src.fps, fps)
    return transfer_motion(
        gen,
        lm,
        neutral,
        _field(source, "mode", str),
        fps,
        _field(source, "stabilize", bool),
        _field(source, "align", bool),
    )


#: Motion kinds of this layer, as :data:`core.edit.replay.MotionHook`.
KINDS = {"sequence": _sequence, "transfer": _transfer}


def slider_face(face: dict) -> np.ndarray | None:
    """The neutral (V, 3) of a manifest ``face`` section made with the face creator (None if not)."""
    sliders = face.get("sliders")
    if sliders is None:
        return None
    if not isinstance(sliders, dict):
        raise InvalidInputError(f"manifest: face sliders should be a mapping, found {sliders!r}")
    from core.apps.face_basis import load_face_basis

    return load_face_basis().vertices(sliders)


def replay(
    manifest_path,
    out_dir,
    weights=None,
    decoder_weights=None,
    device=None,
    overwrite: bool = False,
) -> Path:
    """:func:`core.edit.replay.replay` with this layer's kinds and faces (same arguments)."""
    return _edit_replay.replay(
        manifest_path,
        out_dir,
        weights,
        decoder_weights,
        device,
        overwrite,
        kinds=KINDS,
        make_face=slider_face,
    )
