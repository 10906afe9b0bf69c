"""Encode already-rendered RGB frames as MP4 (H.264) or GIF, atomically.

Rendering is the GUI's job; this module only encodes ``(T, H, W, 3) uint8`` frames.

* **MP4**: libx264, ``yuv420p`` (plays everywhere), ``+faststart``. H.264 works on 16-pixel
  macro blocks and imageio would silently *resize* other sizes, so frames are padded on the right
  and bottom to multiples of 16 by repeating the edge pixels (no stretching, no black bars).
  imageio-ffmpeg ships its own ffmpeg binary, so this works offline. With ``audio`` the sound
  of that file is muxed in (AAC), cut at ``duration`` seconds (``-t``; ``-shortest`` overruns).
* **GIF**: Pillow via imageio, looping forever. GIF delays are whole centiseconds, so the real
  frame rate is ``100 / round(100 / fps)`` (30 fps plays at 33.3 fps; 25 or 20 fps are exact).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from core.errors import InvalidInputError
from core.io.atomic import ProgressCallback, atomic_file, report_progress

__all__ = ["VIDEO_SUFFIXES", "MACRO_BLOCK", "export_video", "pad_to_multiple"]

VIDEO_SUFFIXES = (".mp4", ".gif")

#: H.264 macro-block size; MP4 frame sizes are padded up to multiples of it.
MACRO_BLOCK = 16


def pad_to_multiple(frames: np.ndarray, multiple: int = MACRO_BLOCK) -> np.ndarray:
    """Pad ``(T, H, W, C)`` frames on the bottom/right, repeating edge pixels, to multiples."""
    height, width = frames.shape[1:3]
    pad_h, pad_w = (-height) % multiple, (-width) % multiple
    if pad_h == 0 and pad_w == 0:
        return frames
    return np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")


def export_video(
    path: str | os.PathLike[str],
    frames_rgb: np.ndarray,
    fps: float = 30.0,
    *,
    progress: ProgressCallback | None = None,
    quality: int = 8,
    audio: str | os.PathLike[str] | None = None,
    duration: float | None = None,
) -> Path:
    """Encode frames to ``path`` (``.mp4`` or ``.gif``, chosen by extension), atomically.

    Parameters
    ----------
    path : str or PathLike
        Destination; replaced atomically if it exists.
    frames_rgb : (T, H, W, 3) uint8
        Rendered frames, T >= 1.
    fps : float
        Frames per second.
    progress : callable ``(done, total) -> bool | None`` or None
        MP4: called after every frame; GIF: once at the end. ``False`` cancels.
    quality : int
        MP4 quality 0..10 (imageio's scale; 8 is visually lossless for renders).
    audio : str or PathLike or None
        MP4 only: a sound file (any format ffmpeg reads) muxed in as AAC.
    duration : float or None
        With ``audio``: the length of the result in seconds (the audio's duration).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    core.errors.InvalidInputError
        Wrong extension, shape, dtype or fps.
    core.errors.ExportError
        Cannot be written or encoding failed (nothing is left behind); ``ExportCancelled`` on cancel.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise InvalidInputError(
            f"cannot encode {path}: expected a .mp4 or .gif file name, found "
            f"'{suffix or 'no extension'}'; use one of these extensions"
        )
    frames = np.asarray(frames_rgb)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        hint = (
            " (drop alpha with frames[..., :3])"
            if frames.ndim == 4 and frames.shape[-1] == 4
            else ""
        )
        raise InvalidInputError(
            f"frames_rgb must be a (T, H, W, 3) uint8 array with T >= 1, got shape "
            f"{frames.shape} and dtype {frames.dtype}{hint}; convert the rendered images"
        )
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
        raise InvalidInputError(f"fps must be a positive number, got {fps!r}")
    if audio is not None and suffix != ".mp4":
        raise InvalidInputError(f"cannot put sound into {path}: only .mp4 carries audio")
    sound = None if audio is None else (str(audio), duration)
    what = f"encoding {len(frames)} frames to {path}"
    with atomic_file(path) as tmp:
        if suffix == ".mp4":
            _write_mp4(tmp, pad_to_multiple(frames), float(fps), quality, progress, what, sound)
        else:
            _write_gif(tmp, frames, float(fps))
            report_progress(progress, len(frames), len(frames), what)
    return path


def _write_mp4(
    tmp: Path,
    frames: np.ndarray,
    fps: float,
    quality: int,
    progress: ProgressCallback | None,
    what: str,
    sound: tuple[str, float | None] | None = None,
) -> None:
    import imageio.v2 as iio  # lazy: starting ffmpeg support is only needed here

    extra = {}
    cut = []
    if sound is not None:
        extra = {"audio_path": sound[0], "audio_codec": "aac"}
        cut = [] if sound[1] is None else ["-t", f"{sound[1]:.3f}"]
    writer = iio.get_writer(
        tmp,
        format="FFMPEG",
        fps=fps,
        codec="libx264",
        quality=quality,
        pixelformat="yuv420p",
        macro_block_size=MACRO_BLOCK,
        ffmpeg_log_level="error",
        output_params=[*cut, "-movflags", "+faststart"],
        **extra,
    )
    try:
        for k, frame in enumerate(frames):
            writer.append_data(frame)
            report_progress(progress, k + 1, len(frames), what)
    finally:
        writer.close()


def _write_gif(tmp: Path, frames: np.ndarray, fps: float) -> None:
    import imageio.v3 as iio

    iio.imwrite(tmp, frames, extension=".gif", plugin="pillow", duration=1000.0 / fps, loop=0)
