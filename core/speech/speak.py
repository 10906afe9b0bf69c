"""Speech + emotion → a talking face, and its files (OBJ frames, MP4 with audio, weights, manifest).

Three methods produce the rig parameters (T, P):

* ``rules``: phones from pocketsphinx (aligned with a transcript, recognised without) through
  the viseme/coarticulation rules and the emotion layer (:func:`core.speech.emotion.animate`);
* ``diffusion``: the trained latent diffusion model (:mod:`core.speech.ldm`) from log-mel
  features; the seed picks one of many lip-synced performances.
* ``guided``: the diffusion model steered at sampling time by the pocketsphinx phones (viseme
  targets, lip closure at p/b/m; :mod:`core.speech.guide`), no retraining.

The rig (:mod:`core.speech.rig`) turns parameters into vertices on any neutral face of the
project's topology. Shapes: T frames, P parameters (53), V vertices.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import InvalidInputError
from core.speech.audio import audio_info
from core.speech.emotion import animate, check_emotion
from core.speech.rig import SpeechRig, load_speech_rig
from core.speech.visemes import FPS

__all__ = ["SpeechAnimation", "animate_audio", "arkit_weights", "write_speech", "METHODS"]

METHODS = ("rules", "diffusion", "guided")
#: Jaw degrees that count as a fully open ``jawOpen`` in the ARKit-style weights.
JAW_FULL_DEG = 25.0


@dataclass(frozen=True)
class SpeechAnimation:
    """A generated performance: params (T, P) float32, vertices (T, V, 3) float32."""

    params: np.ndarray
    vertices: np.ndarray
    fps: float
    duration: float
    method: str
    emotion: str
    seed: int
    meta: dict = field(default_factory=dict)


def _check(intensity: float, seed: int, method: str) -> None:
    if not (isinstance(intensity, (int, float)) and 0.0 <= intensity <= 1.5):
        raise InvalidInputError(f"intensity must be between 0 and 1.5, got {intensity!r}")
    if not (isinstance(seed, int) and 0 <= seed < 2**32):
        raise InvalidInputError(f"seed must be an integer in [0, 2^32), got {seed!r}")
    if method not in METHODS:
        raise InvalidInputError(f"method must be one of {METHODS}, got {method!r}")


def animate_audio(
    audio: str | Path,
    emotion: str,
    *,
    method: str = "rules",
    transcript: str | None = None,
    seed: int = 0,
    intensity: float = 1.0,
    neutral: np.ndarray | None = None,
    max_seconds: float = 600.0,
    model=None,
    rig: SpeechRig | None = None,
) -> SpeechAnimation:
    """Animate a face from an audio file (see module docstring).

    neutral : (V, 3) or None (the default face). ``model`` is a loaded
    :class:`core.speech.ldm.SpeechLDM` (loaded from ``models/`` when None and needed).
    """
    check_emotion(emotion)
    _check(intensity, seed, method)
    rig = rig or load_speech_rig()
    info = audio_info(audio)
    if info.duration > max_seconds:
        raise InvalidInputError(
            f"audio {info.path} lasts {info.duration / 60:.1f} min, more than the limit of "
            f"{max_seconds / 60:.1f} min; cut it into parts or raise --max-seconds"
        )
    n_frames = max(1, math.ceil(info.duration * FPS))
    t0 = time.perf_counter()
    meta: dict = {"audio": str(info.path), "sample_rate": info.rate, "channels": info.channels}
    if method == "rules":
        from core.speech.align import phones_for_audio

        phones, how = phones_for_audio(audio, transcript, max_seconds)
        rng = np.random.default_rng(seed)
        params = animate(phones, n_frames, emotion, rig.action_names, rng, intensity)
        meta.update(phones=how, n_phones=len(phones))
    else:
        from core.speech.audio import stream_logmel
        from core.speech.ldm import SpeechLDM

        guide = None
        if method == "guided":
            from core.speech.align import phones_for_audio
            from core.speech.guide import phone_guide

            phones, how = phones_for_audio(audio, transcript, max_seconds)
            guide = phone_guide(phones, n_frames, emotion, rig.action_names, intensity)
            meta.update(phones=how, n_phones=len(phones))
        model = model or SpeechLDM.load()
        mel, _ = stream_logmel(audio, max_seconds)
        params = model.generate(mel, n_frames, emotion, seed=seed, intensity=intensity, guide=guide)
        meta.update(model=model.meta.get("file"))
    meta["seconds_to_animate"] = time.perf_counter() - t0
    vertices = rig.vertices(params, neutral)
    return SpeechAnimation(
        params.astype(np.float32), vertices, FPS, info.duration, method, emotion, seed, meta
    )


def arkit_weights(params: np.ndarray, rig: SpeechRig) -> tuple[list[str], np.ndarray]:
    """ARKit-style per-frame weights: anny's 52 names, ``jawOpen`` including the jaw bone
    (degrees / 25, clipped to [0, 1]), plus ``jawOpenDeg``. params (T, P) → (names, (T, 53))."""
    w = np.array(params, np.float64)
    j = rig.action_names.index("jawOpen")
    w[:, j] = np.clip(w[:, j] + w[:, -1] / JAW_FULL_DEG, 0.0, 1.0)
    return list(rig.param_names), w


def _csv_bytes(names: list[str], w: np.ndarray, fps: float) -> bytes:
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["frame", "time"] + names)
    for k, row in enumerate(w):
        out.writerow([k + 1, f"{k / fps:.4f}"] + [f"{x:.5f}" for x in row])
    return buf.getvalue().encode()


def write_speech(
    out_dir: str | Path,
    anim: SpeechAnimation,
    audio: str | Path,
    faces: np.ndarray,
    *,
    uv=None,
    face_uv=None,
    face_name: str = "default face",
    face_path: str | None = None,
    neutral: np.ndarray | None = None,
    video: bool = True,
    video_size: int = 320,
    overwrite: bool = False,
    models: dict | None = None,
    progress=None,
) -> Path:
    """Write ``out_dir`` atomically: ``frames/frame_NNNN.obj`` (+ their manifest),
    ``weights.csv``, ``weights.json``, ``speech.mp4`` (with the audio) and ``manifest.json``."""
    from core.assets import load_face
    from core.io.atomic import atomic_dir
    from core.io.export import export_sequence
    from core.io.export_video import export_video
    from core.io.manifest import build_manifest, validate_manifest
    from core.io.render import face_colors, mouth_contour, mouth_teeth, render_frames

    rig = load_speech_rig()
    face = load_face()
    neutral = face.vertices if neutral is None else neutral
    motion = {
        "kind": "speech",
        "label": anim.emotion,
        "seed": anim.seed,
        "method": anim.method,
        "length": int(len(anim.params)),
    }
    man = build_manifest(
        producer="cli",
        motion=motion,
        fps=anim.fps,
        face_name=face_name,
        face_path=face_path,
        face_vertices=neutral,
        models=models or {},
    )
    names, w = arkit_weights(anim.params, rig)
    with atomic_dir(out_dir, overwrite=overwrite) as tmp:
        export_sequence(
            tmp / "frames",
            anim.vertices,
            faces,
            "obj",
            uv=uv,
            face_uv=face_uv,
            manifest=man,
            progress=progress,
        )
        (tmp / "weights.csv").write_bytes(_csv_bytes(names, w, anim.fps))
        (tmp / "weights.json").write_text(
            json.dumps({"fps": anim.fps, "names": names, "weights": np.round(w, 5).tolist()})
        )
        outputs = {
            "frames": "frames/",
            "weights_csv": "weights.csv",
            "weights_json": "weights.json",
        }
        if video:
            colors = face_colors(neutral, faces)
            size = (video_size, video_size)
            mouth, teeth = mouth_contour(neutral, faces), mouth_teeth(neutral, faces)
            frames = render_frames(anim.vertices, faces, size, colors, mouth=mouth, teeth=teeth)
            export_video(tmp / "speech.mp4", frames, anim.fps, audio=audio, duration=anim.duration)
            outputs["video"] = "speech.mp4"
        top = json.loads((tmp / "frames" / "manifest.json").read_text())
        top["files"] = [f"frames/{n}" for n in top["files"]]
        top["speech"] = {
            **anim.meta,
            "duration": anim.duration,
            "outputs": outputs,
            "weights_names": "anny facial actions (ARKit-style) + jawOpenDeg",
        }
        validate_manifest(top)
        (tmp / "manifest.json").write_text(json.dumps(top, indent=1))
    return Path(out_dir)
