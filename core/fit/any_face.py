"""A user's face of any topology, ready to animate: the mesh, its fit, and the carry-over.

:func:`open_face` is what the CLI and the studio call: it reads the mesh, reuses a ``FIT.npz`` or
fits (from the user's landmarks or detected ones), and returns an :class:`AnyFace` whose
:meth:`~AnyFace.carry_motion` turns a template :class:`~core.motion.Motion` into the same motion
on the user's mesh (its vertex order, its coordinates and units).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from core.fit.face_fit import FaceFit, fit_face, load_fit
from core.fit.landmark_file import read_face_landmarks
from core.fit.load import load_any_mesh
from core.io.mesh_io import MeshData
from core.motion import Motion

__all__ = ["AnyFace", "open_face"]


@dataclass(frozen=True, eq=False)
class AnyFace:
    """``mesh`` (the user's), ``fit`` (its FaceFit), ``source`` (path as text).

    ``rebased`` is True when ``mesh.vertices`` are no longer the file's (the studio's
    Neutralize binds the neutralized mesh again, :func:`core.apps.neutralize_any.
    neutralize_rebind`); replay then reads them from the export's fit file."""

    mesh: MeshData
    fit: FaceFit
    source: str
    rebased: bool = False

    @property
    def neutral(self) -> np.ndarray:
        """(V_t, 3) float32: the fitted template, the neutral the models animate."""
        return self.fit.template_vertices.astype(np.float32)

    @property
    def units(self) -> str:
        """The mesh's units as found by the fit ("mm", "cm", "m", ... or "unknown")."""
        return str(self.fit.meta.get("units", "unknown"))

    def carry_motion(self, motion: Motion) -> Motion:
        """A template-topology motion -> the same motion on the user's mesh.

        ``vertices`` (T, V, 3) in the mesh's vertex order and coordinates; ``landmarks``
        (T, 68, 3) the face's landmarks moved by the template landmarks' motion.
        """
        verts = self.fit.carry(motion.vertices, self.mesh.vertices)
        d = np.asarray(motion.landmarks, float) - np.asarray(motion.landmarks[:1], float)
        lms = self.fit.landmarks[None] + self.fit.to_template.inverse_vectors(d)
        return replace(
            motion,
            vertices=verts,
            landmarks=lms,
            meta={**motion.meta, "topology": "user", "face": self.source},
        )

    def decode_landmarks(self, pipeline, landmarks: np.ndarray) -> np.ndarray:
        """Target landmarks (B, 68, 3) on the face -> dense faces (B, V, 3) in its topology.

        The decoder's output for the fit's own landmarks is subtracted, so ``landmarks`` equal
        to ``fit.landmarks`` give back the mesh exactly.
        """
        from core.assets import load_landmarks

        idx = load_landmarks().indices
        neutral = self.neutral
        targets = self.fit.template_landmarks(landmarks, neutral[idx].astype(float))
        batch = np.concatenate([neutral[idx][None].astype(float), targets]).astype(np.float32)
        dense = pipeline.decode(neutral, batch)  # (B + 1, V_t, 3)
        frames = dense[1:] - (dense[:1] - neutral[None])
        return self.fit.carry(frames, self.mesh.vertices)


def open_face(
    path: str | os.PathLike[str],
    *,
    landmarks: str | os.PathLike[str] | None = None,
    fit: str | os.PathLike[str] | None = None,
    mesh_index: int | None = None,
    mesh: MeshData | None = None,
    detection=None,
    progress: Callable[[str, float], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> AnyFace:
    """Read a face mesh and fit it (or load its ``FIT.npz``).

    Parameters
    ----------
    path : the mesh (OBJ/PLY/GLB/glTF/STL)
    landmarks : optional file of 68 points or vertex indices (else detected automatically)
    fit : optional ``FIT.npz`` made by ``main.py fit`` for this mesh
    mesh_index : glTF only: which mesh of the file
    mesh : the mesh already read from ``path`` (skips reading it again)
    detection : a corrected detection (:func:`core.fit.face_fit.detect_for_fit`)
    """
    mesh = mesh if mesh is not None else load_any_mesh(path, mesh_index=mesh_index)
    if fit is not None:
        result = load_fit(fit)
        result.check_mesh(mesh)
    else:
        pts = read_face_landmarks(landmarks, mesh.vertices) if landmarks is not None else None
        result = fit_face(mesh, pts, detection=detection, progress=progress, cancelled=cancelled)
    return AnyFace(mesh, result, str(Path(path).resolve()))
