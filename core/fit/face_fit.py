"""Fit our template to any face mesh and animate that mesh in its own topology; ``FIT.npz``.

``FIT.npz`` (written by ``python main.py fit``; all arrays, no pickles):

==========================  ===============  =================================================
key                         shape            meaning
==========================  ===============  =================================================
``landmarks``               (68, 3) float64  iBUG-68 points on the face, in the face's own
                                             coordinates and units (our template's landmark
                                             definitions, carried by the fit, on the surface)
``detected``                (P, 3) float64   points the detector found (P = 478 MediaPipe, 68
                                             for user landmarks, 0 for our own topology)
``to_template``             (4, 4) float64   similarity: face coordinates -> template frame
                                             (metres, z up, face towards -y)
``template_vertices``       (V_t, 3) float64 the fitted template (neutral for the models)
``bind_tri``/``bind_bary``  (V, 3)           binding of every face vertex (core.fit.binding)
``bind_distance``/``_gain`` (V,)             distance to the template (m) and motion gain
``bind_piece``              (V,) int64       rigid-piece id, -1 = follows the surface
``bind_seam_row/_col/_w``   (N,)             replacement rows of W at seams (COO)
``error_template_mm``       (V_t,) float64   template -> face distance (NaN = not matched)
``error_face_mm``           (V,) float64     face -> template distance (NaN = outside the face)
``n_vertices``, ``faces_sha256``             which mesh the fit belongs to
``meta``                    () str           JSON: units, up, facing, method, summary
==========================  ===============  =================================================

Errors are in millimetres at our template's scale (the face scaled to our template's size).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import scipy.sparse as sp

from core.errors import InvalidInputError, S2DError
from core.fit.align import Similarity, describe_frame, umeyama
from core.fit.binding import Binding, bind, identity_binding
from core.glossary import N_LANDMARKS
from core.io.mesh_io import MeshData

__all__ = [
    "FaceFit",
    "fit_face",
    "detect_for_fit",
    "load_fit",
    "save_fit",
    "fit_arrays",
    "faces_sha256",
    "FIT_VERSION",
]

FIT_VERSION = 1
#: Meshes with more vertices are decimated (vertex clustering) for detection and fitting; below
#: it the full mesh is used (the ICP subsamples its surface samples itself).
FIT_MAX_VERTICES = 300_000
#: Fewer vertices than this cannot be a face mesh.
_MIN_VERTICES = 100
#: User landmark weights: jaw points (0-16) are defined differently by different tools.
_JAW_WEIGHT = 0.3


@dataclass(eq=False)
class FaceFit:
    """A fitted face (see the module docstring for every field)."""

    landmarks: np.ndarray
    detected: np.ndarray
    to_template: Similarity
    template_vertices: np.ndarray
    binding: Binding
    error_template_mm: np.ndarray
    error_face_mm: np.ndarray
    n_vertices: int
    faces_sha256: str
    meta: dict
    _w: sp.csr_matrix | None = field(default=None, repr=False)

    def summary(self) -> str:
        """One line: fit error both ways and the frame."""
        return self.meta.get("summary", "")

    def check_mesh(self, mesh: MeshData) -> None:
        """Raise InvalidInputError unless this fit was made for ``mesh``."""
        if mesh.n_vertices != self.n_vertices or faces_sha256(mesh.faces) != self.faces_sha256:
            raise InvalidInputError(
                f"this fit belongs to a mesh of {self.n_vertices} vertices with other faces, "
                f"not to this one ({mesh.n_vertices} vertices); run `main.py fit` on this mesh"
            )

    def carry(self, frames: np.ndarray, face_vertices: np.ndarray) -> np.ndarray:
        """Template frames (T, V_t, 3) in the template frame -> face frames (T, V, 3) float32.

        The face moves by its binding's share of the template's displacement from
        ``template_vertices``, rotated and scaled back into the face's coordinates.
        """
        f = np.asarray(frames)
        if self._w is None:
            self._w = self.binding.matrix(len(self.template_vertices)).astype(np.float32)
        s = self.to_template
        # rotate/scale the template's displacements first (V_t < V): (T, V_t, 3) face axes
        disp = ((f - self.template_vertices[None]) @ (s.rotation / s.scale)).astype(np.float32)
        t, v_t = disp.shape[:2]
        moved = self._w @ disp.transpose(1, 0, 2).reshape(v_t, t * 3)  # (V, T*3)
        out = np.asarray(moved).reshape(-1, t, 3).transpose(1, 0, 2)  # (T, V, 3)
        return out + np.asarray(face_vertices, np.float32)[None]

    def template_landmarks(self, landmarks: np.ndarray, template_lm: np.ndarray) -> np.ndarray:
        """Target landmarks (B, 68, 3) on the face -> targets for the fitted template.

        ``template_lm`` (68, 3) are the fitted template's own landmarks; the face's motion of each
        landmark relative to :attr:`landmarks` is rotated and scaled into the template frame.
        """
        d = np.asarray(landmarks, float) - self.landmarks[None]
        s = self.to_template
        return template_lm[None] + s.scale * d @ s.rotation.T


def faces_sha256(faces: np.ndarray) -> str:
    """Digest of a face array (which mesh a fit belongs to)."""
    return hashlib.sha256(np.ascontiguousarray(faces, dtype=np.int64).tobytes()).hexdigest()


def _cluster_decimate(v: np.ndarray, f: np.ndarray, target: int):
    """Vertex-clustering decimation to about ``target`` vertices: (vertices, faces)."""
    lo, hi = v.min(axis=0), v.max(axis=0)
    cell = float(np.prod(hi - lo) / target) ** (1 / 3)
    for _ in range(8):
        key = np.floor((v - lo) / cell).astype(np.int64)
        _, inv = np.unique(key, axis=0, return_inverse=True)
        if inv.max() + 1 <= target * 1.3:
            break
        cell *= 1.25
    inv = inv.ravel()
    n = inv.max() + 1
    cnt = np.bincount(inv, minlength=n).astype(float)
    cv = np.stack([np.bincount(inv, v[:, k], n) / cnt for k in range(3)], axis=1)
    cf = inv[f]
    keep = (cf[:, 0] != cf[:, 1]) & (cf[:, 1] != cf[:, 2]) & (cf[:, 0] != cf[:, 2])
    cf = np.unique(cf[keep], axis=0)
    return cv, cf


def _fit_mesh(mesh: MeshData) -> tuple[np.ndarray, np.ndarray]:
    """The mesh detection and fitting work on (decimated above FIT_MAX_VERTICES)."""
    v, f = np.asarray(mesh.vertices, float), np.asarray(mesh.faces, np.int64)
    return (v, f) if len(v) <= FIT_MAX_VERTICES else _cluster_decimate(v, f, FIT_MAX_VERTICES)


def detect_for_fit(mesh: MeshData, *, progress=None, cancelled=None):
    """Detect the face (:func:`core.fit.detect.detect_face`) on the mesh :func:`fit_face` uses;
    returns ``(detection, vertices, faces)`` so points can be corrected
    (:func:`core.fit.detect.move_ibug_point`) and passed back as ``fit_face(detection=...)``."""
    from core.fit.detect import detect_face

    fv, ff = _fit_mesh(mesh)
    return detect_face(fv, ff, progress=progress, cancelled=cancelled), fv, ff


def fit_face(
    mesh: MeshData,
    landmarks: np.ndarray | None = None,
    *,
    detection=None,
    progress: Callable[[str, float], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> FaceFit:
    """Fit our template to a face mesh of any topology and bind every vertex to it.

    Parameters
    ----------
    mesh : MeshData (see :func:`core.fit.load.load_any_mesh`)
    landmarks : (68, 3) float or None
        iBUG-68 points on the mesh; None detects the face automatically (needs mediapipe).
    detection : core.fit.detect.Detection or None
        A (corrected) detection from :func:`detect_for_fit` to use instead of detecting.
    progress : callable(message, fraction) or None; cancelled : callable() -> bool or None

    Raises
    ------
    InvalidInputError, core.fit.detect.NoFaceFoundError, core.fit.detect.MediaPipeUnavailableError
    KeyboardInterrupt when ``cancelled()`` turned true.
    """
    from core.assets import load_face, load_landmarks

    say = progress or (lambda msg, frac: None)
    face, lm = load_face(), load_landmarks()
    v = np.asarray(mesh.vertices, float)
    f = np.asarray(mesh.faces, np.int64)
    if not np.isfinite(v).all():
        raise InvalidInputError("the mesh has NaN or inf coordinates; repair it first")
    if len(v) < _MIN_VERTICES:
        raise InvalidInputError(
            f"this mesh has {len(v)} vertices; a face mesh needs at least {_MIN_VERTICES} "
            "(a scan, a game head or a face mask) — choose another mesh"
        )
    if np.ptp(v, axis=0).max() <= 0:
        raise InvalidInputError("the mesh has no extent (all vertices coincide)")
    sha = faces_sha256(f)
    if len(v) == face.n_vertices and sha == faces_sha256(face.faces):
        return _own_topology(v, f, sha, face, lm)
    fv, ff = _fit_mesh(mesh)
    if landmarks is not None:
        user_pts = np.asarray(landmarks, float)
        if user_pts.shape != (N_LANDMARKS, 3) or not np.isfinite(user_pts).all():
            raise InvalidInputError(
                f"expected 68 finite landmarks (68, 3), found shape {user_pts.shape}"
            )
        n_t = face.n_vertices
        a = sp.csr_matrix(
            (np.ones(N_LANDMARKS), (np.arange(N_LANDMARKS), lm.indices)), shape=(N_LANDMARKS, n_t)
        )
        weights = np.where(np.arange(N_LANDMARKS) < 17, _JAW_WEIGHT, 1.0)
        method = "user landmarks"
        detected = user_pts
        rows = None
    else:
        from core.fit.detect import _template_embedding, detect_face

        det = detection or detect_face(fv, ff, progress=say, cancelled=cancelled)
        tri, bary = _template_embedding()
        p = len(tri)
        a = sp.csr_matrix(
            (bary.ravel(), (np.repeat(np.arange(p), 3), face.faces[tri].ravel())),
            shape=(p, face.n_vertices),
        )
        user_pts, weights = det.points, None
        rows = _response_rows(face.faces)
        if rows is not None:
            a = rows(None)
        method = f"MediaPipe FaceMesh ({det.views_tried} views, residual {det.residual:.3f})"
        detected = det.points
    from core.fit.register import register

    reg = register(
        fv,
        ff,
        user_pts,
        a,
        landmark_weights=weights,
        landmark_rows=rows,
        progress=say,
        cancelled=cancelled,
    )
    say("binding every vertex", 0.96)
    sim = reg.to_template
    u_t = sim.apply(v)  # (V, 3) the full mesh in the template frame
    binding = bind(u_t, f, reg.vertices, face.faces)
    fitted = reg.vertices
    from core.fit.closest import closest_on_mesh

    _, _, _, d_tpl = closest_on_mesh(fitted, sim.apply(fv), ff)
    err_t = np.where(reg.accepted & face.face_mask, d_tpl * 1000.0, np.nan)
    in_face = face.face_mask[binding.tri].all(axis=1) & (binding.distance <= 0.01)
    err_f = np.where(in_face, binding.distance * 1000.0, np.nan)
    lm_user = _on_surface(sim.inverse(fitted[lm.indices]), v, f)
    return _finish(lm_user, detected, sim, fitted, binding, err_t, err_f, len(v), sha, method)


def _response_rows(faces: np.ndarray):
    """alpha (k,) or None -> the detector's (P, V_t) rows for that identity, from the learned
    response (:mod:`core.fit.detector_response`); None when the model is not shipped."""
    from core.assets import load_identity_basis
    from core.fit import detector_response

    model = detector_response.load_response()
    if model is None:
        return None
    basis = load_identity_basis()
    mean, std = basis["mean"].astype(float), basis["std"].astype(float)

    def rows(alpha):
        alpha = np.zeros(len(std)) if alpha is None else alpha
        return model.rows(alpha, std, mean, faces)

    return rows


def _on_surface(points: np.ndarray, v: np.ndarray, f: np.ndarray) -> np.ndarray:
    from core.fit.closest import closest_on_mesh

    return closest_on_mesh(points, v, f)[0]


def _own_topology(v, f, sha, face, lm) -> FaceFit:
    """A mesh of our own topology: exact similarity, every vertex bound to itself."""
    sim = umeyama(v, face.vertices.astype(float))
    fitted = sim.apply(v)
    n = len(v)
    zeros_t = np.where(face.face_mask, 0.0, np.nan)
    return _finish(
        v[lm.indices].copy(),
        np.zeros((0, 3)),
        sim,
        fitted,
        identity_binding(n),
        zeros_t,
        np.where(face.face_mask, 0.0, np.nan),
        n,
        sha,
        "own topology",
    )


def _finish(lm_user, detected, sim, fitted, binding, err_t, err_f, n, sha, method) -> FaceFit:
    frame = describe_frame(sim)

    def stats(e):
        e = e[np.isfinite(e)]
        return (float(np.median(e)), float(np.percentile(e, 95))) if len(e) else (0.0, 0.0)

    (mt, pt), (mf, pf) = stats(err_t), stats(err_f)
    summary = (
        f"fit error (mm at our template's scale): template->face median {mt:.2f}, "
        f"95% {pt:.2f}; face->template median {mf:.2f}, 95% {pf:.2f}; {frame['text']}"
    )
    meta = {
        **frame,
        "method": method,
        "summary": summary,
        "version": FIT_VERSION,
        "error_template_mm": {"median": mt, "p95": pt},
        "error_face_mm": {"median": mf, "p95": pf},
    }
    return FaceFit(lm_user, detected, sim, fitted, binding, err_t, err_f, n, sha, meta)


def save_fit(path: str | os.PathLike[str], fit: FaceFit) -> None:
    """Write ``FIT.npz`` atomically (see the module docstring)."""
    from core.io.atomic import atomic_savez

    atomic_savez(path, fit_arrays(fit))


def fit_arrays(fit: FaceFit) -> dict[str, np.ndarray]:
    """The arrays of ``FIT.npz`` by name."""
    return {
        "landmarks": fit.landmarks,
        "detected": fit.detected,
        "to_template": fit.to_template.as_array(),
        "template_vertices": fit.template_vertices,
        "error_template_mm": fit.error_template_mm,
        "error_face_mm": fit.error_face_mm,
        "n_vertices": np.int64(fit.n_vertices),
        "faces_sha256": np.str_(fit.faces_sha256),
        "meta": np.str_(json.dumps(fit.meta)),
        **fit.binding.arrays(),
    }


def load_fit(path: str | os.PathLike[str] | BinaryIO) -> FaceFit:
    """Read ``FIT.npz`` (a path or an open binary file); a clear error when it is not one."""
    p = path if hasattr(path, "read") else Path(path)
    try:
        with np.load(p, allow_pickle=False) as d:
            meta = json.loads(str(d["meta"]))
            if meta.get("version") != FIT_VERSION:
                raise InvalidInputError(
                    f"{p}: fit version {meta.get('version')}, expected "
                    f"{FIT_VERSION}; run `main.py fit` again"
                )
            return FaceFit(
                d["landmarks"],
                d["detected"],
                Similarity.from_array(d["to_template"]),
                d["template_vertices"],
                Binding.from_arrays(d),
                d["error_template_mm"],
                d["error_face_mm"],
                int(d["n_vertices"]),
                str(d["faces_sha256"]),
                meta,
            )
    except S2DError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        raise InvalidInputError(
            f"{p} is not a FIT.npz written by `main.py fit` ({exc}); run `main.py fit` first"
        ) from exc
