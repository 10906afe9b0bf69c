"""Read a user's 68 landmarks for a face mesh: 68 points or 68 vertex indices.

Points are read by :func:`core.io.landmarks_io.read_landmarks` (``.pts``, ``.ljson``, ``.npy``,
``.csv``; 3-D only here). Indices come as ``.npy`` of 68 integers or ``.json`` holding a list of
68 integers (or ``{"indices": [...]}``); a ``.json`` list of 68 ``[x, y, z]`` is read as points.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from core.errors import InvalidInputError
from core.glossary import N_LANDMARKS
from core.io.landmarks_io import read_landmarks

__all__ = ["read_face_landmarks"]


def read_face_landmarks(path: str | os.PathLike[str], vertices: np.ndarray) -> np.ndarray:
    """68 landmark positions (68, 3) float64 on a mesh, from a file of points or indices.

    Parameters
    ----------
    path : the landmark file
    vertices : (V, 3) float, the mesh the indices refer to (and the points' coordinates)
    """
    p = Path(path)
    if not p.is_file():
        raise InvalidInputError(f"landmark file {p} does not exist; check the path")
    suffix = p.suffix.lower()
    data = None
    if suffix == ".json":
        try:
            obj = json.loads(p.read_text())
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"{p} is not a readable JSON file: {exc}") from exc
        if isinstance(obj, dict):
            obj = obj.get("indices", obj.get("landmarks", obj.get("points")))
        data = np.asarray(obj)
    elif suffix == ".npy":
        try:
            data = np.load(p, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise InvalidInputError(f"{p} is not a readable .npy file: {exc}") from exc
        if not np.issubdtype(data.dtype, np.integer):
            data = None  # points: validated by read_landmarks
    v = np.asarray(vertices, float)
    if data is not None and np.issubdtype(data.dtype, np.integer):
        if data.shape != (N_LANDMARKS,):
            raise InvalidInputError(
                f"{p}: expected 68 vertex indices, found integers of shape {data.shape}"
            )
        if data.min() < 0 or data.max() >= len(v):
            raise InvalidInputError(
                f"{p}: expected 68 vertex indices in 0..{len(v) - 1}, found {data.min()}.."
                f"{data.max()}; the indices belong to another mesh"
            )
        return v[data.astype(np.int64)].copy()
    if data is not None:  # JSON points
        pts = data
    else:
        pts = read_landmarks(p)
    pts = np.asarray(pts)
    if pts.ndim == 3 and pts.shape[0] == 1:
        pts = pts[0]
    if pts.shape == (N_LANDMARKS, 2):
        raise InvalidInputError(
            f"{p}: expected 68 3-D points or 68 vertex indices, found 2-D image points; give "
            "3-D points on the mesh (or let the face be detected automatically)"
        )
    if pts.shape != (N_LANDMARKS, 3) or not np.issubdtype(pts.dtype, np.number):
        raise InvalidInputError(
            f"{p}: expected 68 points (68, 3) or 68 vertex indices, found shape {pts.shape}"
        )
    pts = pts.astype(float)
    if not np.isfinite(pts).all():
        raise InvalidInputError(f"{p}: the landmarks contain NaN or inf; fix the file")
    return pts
