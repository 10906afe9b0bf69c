"""A small vectorised software renderer (numpy only) for speech previews, and MP4 with audio.

Orthographic front view (the head faces -y, z is up), z-buffered, smooth Lambert shading; the
inside of the mouth (back faces) is drawn dark. Each triangle is tested against a K×K pixel block
at its bounding box's corner (K covers the largest triangle), so one frame is a few array ops.
:func:`write_mp4_with_audio` encodes frames with imageio-ffmpeg's bundled ffmpeg and muxes the
audio, cut at the audio's duration (``-t``; ``-shortest`` overruns).

Shapes: T frames, V vertices, F faces, H×W pixels.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from core.errors import ExportError
from core.io.atomic import atomic_file
from core.mesh.normals import vertex_normals

__all__ = ["render_frames", "write_mp4_with_audio"]

SKIN = np.array([0.86, 0.70, 0.62], np.float32)
MOUTH = np.array([0.30, 0.08, 0.08], np.float32)
BACKGROUND = np.array([0.16, 0.17, 0.20], np.float32)
LIGHT = np.array([0.35, -0.85, 0.4], np.float32)


def _buckets(ext: np.ndarray):
    """Group triangles by bounding-box size: (K, indices) with K = pixels per block side."""
    lo = 0.0
    for K in (2, 4, 8, 16, 32, 64):
        g = np.flatnonzero((ext >= lo) & (ext < K - 1)) if K < 64 else np.flatnonzero(ext >= lo)
        lo = K - 1
        if len(g):
            yield K, g


def _cover(tx, tz, c0, r0, faces, v, W, H, K):
    """Pixels covered by triangles (given in pixel coordinates) → (pix, depth, bary, corners)."""
    dc, dr = np.meshgrid(np.arange(K), np.arange(K))
    cols = c0[:, None] + dc.ravel()[None]  # (F, K*K)
    rows = r0[:, None] + dr.ravel()[None]
    xa, xb, xc = tx[:, 0:1], tx[:, 1:2], tx[:, 2:3]
    za, zb, zc = tz[:, 0:1], tz[:, 1:2], tz[:, 2:3]
    det = (zb - zc) * (xa - xc) + (xc - xb) * (za - zc)  # (F, 1)
    det = np.where(np.abs(det) < 1e-12, np.nan, det)
    cx, cz = cols + 0.5 - xc, rows + 0.5 - zc
    l0 = ((zb - zc) * cx + (xc - xb) * cz) / det
    l1 = ((zc - za) * cx + (xa - xc) * cz) / det
    l2 = 1.0 - l0 - l1
    inside = (l0 >= 0) & (l1 >= 0) & (l2 >= 0) & (cols >= 0) & (cols < W) & (rows >= 0) & (rows < H)
    fi, ki = np.nonzero(inside)
    b = np.stack([l0[fi, ki], l1[fi, ki], l2[fi, ki]], axis=1)  # (n, 3)
    corner = faces[fi]  # (n, 3)
    depth = (b * v[corner, 1]).sum(1)
    return rows[fi, ki] * W + cols[fi, ki], depth, b, corner


def _frame(
    v: np.ndarray,
    faces: np.ndarray,
    colour: np.ndarray,
    x0: float,
    z1: float,
    res: float,
    H: int,
    W: int,
) -> np.ndarray:
    px = (v[:, 0] - x0) / res  # (V,) column
    pz = (z1 - v[:, 2]) / res  # (V,) row
    tx, tz = px[faces], pz[faces]  # (F, 3)
    c0 = np.floor(tx.min(1)).astype(np.int64)
    r0 = np.floor(tz.min(1)).astype(np.int64)
    ext = np.maximum(tx.max(1) - c0, tz.max(1) - r0)  # (F,) bounding-box size in pixels
    found = [_cover(tx[g], tz[g], c0[g], r0[g], faces[g], v, W, H, K) for K, g in _buckets(ext)]
    pix = np.concatenate([f[0] for f in found])
    depth = np.concatenate([f[1] for f in found])
    b = np.concatenate([f[2] for f in found])
    corner = np.concatenate([f[3] for f in found])
    order = np.lexsort((depth, pix))  # nearest (smallest y) first per pixel
    pix, first = np.unique(pix[order], return_index=True)
    sel = order[first]
    img = np.tile(BACKGROUND, (H * W, 1))
    img[pix] = (b[sel, :, None] * colour[corner[sel]]).sum(1)
    return img.reshape(H, W, 3)


def render_frames(
    vertices: np.ndarray,
    faces: np.ndarray,
    skin: np.ndarray | None = None,
    dark: np.ndarray | None = None,
    size: int = 320,
    progress=None,
) -> np.ndarray:
    """Render faces (T, V, 3) with triangles faces (F, 3) → (T, size, size, 3) uint8.

    ``skin`` (V,) bool colours skin vertices; ``dark`` (V,) bool marks the mouth's inside;
    the framing is fixed by the first frame.
    """
    vertices = np.asarray(vertices, np.float32)
    T, V = vertices.shape[:2]
    if skin is None:
        base = np.tile(SKIN, (V, 1))
    else:  # eyeballs: sclera, iris and pupil looking ahead (as the generate video)
        from core.mesh.albedo import eye_albedo

        eyes = eye_albedo(vertices[0], ~skin).astype(np.float32) / 255.0
        base = np.where(skin[:, None], SKIN, eyes)
    v0 = vertices[0]
    lo, hi = v0.min(0), v0.max(0)
    span = max(hi[0] - lo[0], hi[2] - lo[2]) * 1.08
    res = span / size
    x0 = (lo[0] + hi[0]) / 2 - span / 2
    z1 = (lo[2] + hi[2]) / 2 + span / 2
    if dark is not None:
        base = np.where(dark[:, None], MOUTH / 0.8, base)
    light = LIGHT / np.linalg.norm(LIGHT)
    out = np.empty((T, size, size, 3), np.uint8)
    for t in range(T):
        n = vertex_normals(vertices[t : t + 1], faces)[0]  # (V, 3)
        lam = np.clip(-(n @ -light), 0, 1)  # facing the light, which sits in front (-y)
        facing = n[:, 1] < 0.05
        col = np.where(facing[:, None], base * (0.35 + 0.65 * lam[:, None]), MOUTH)
        img = _frame(vertices[t], faces, col.astype(np.float32), x0, z1, res, size, size)
        out[t] = np.clip(img * 255, 0, 255).astype(np.uint8)
        if progress is not None:
            progress(t + 1, T)
    return out


def write_mp4_with_audio(
    path: str | Path, frames: np.ndarray, fps: float, audio: str | Path, duration: float
) -> Path:
    """Encode frames (T, H, W, 3) uint8 as H.264 and mux ``audio`` (AAC), cut at ``duration``
    seconds; written atomically. Raises :class:`ExportError` when ffmpeg fails."""
    import imageio_ffmpeg

    from core.io.export_video import pad_to_multiple

    frames = pad_to_multiple(np.ascontiguousarray(frames))
    T, H, W = frames.shape[:3]
    path = Path(path)
    with atomic_file(path) as tmp:
        cmd = [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-y",
            "-v",
            "error",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            f"{W}x{H}",
            "-r",
            f"{fps}",
            "-i",
            "-",
            "-i",
            str(audio),
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-crf",
            "20",
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            "-t",
            f"{duration:.3f}",
            "-movflags",
            "+faststart",
            str(tmp),
        ]
        proc = subprocess.run(cmd, input=frames.tobytes(), capture_output=True)
        if proc.returncode != 0:
            raise ExportError(
                f"ffmpeg could not write {path}: "
                f"{proc.stderr.decode(errors='replace').strip()[-200:]}"
            )
    return path
