"""Is a loaded neutral face plausible for the model? Checked against the template face.

A face of the model's topology (same vertex count, same triangles) can still be wrong in ways
that no topology check sees, and each animates wrongly without any error:

* **collapsed** — all (or most) vertices at one point: the face scale is 0 and frames are NaN;
* **reordered** — the vertex positions were shuffled while the triangle list was kept: the
  triangles now join far-apart points, so edges are many times longer than the template's
  (edge-length statistics after scale normalisation);
* **mirrored** — left and right swapped: the 68 landmarks fit the template much better with a
  reflection than with any rotation, and the surface normals point inwards;
* **rotated** — the landmarks fit the template after a rotation by a clear angle: this one is
  fixed, not refused. The face is animated in the template's orientation and the result is
  turned back (:meth:`FaceCheck.to_file`), so outputs still overlay the input file.

The face's units (``m``, ``cm``, ``mm``) come from its size (:func:`core.io.manifest.guess_units`);
the result keeps them (:attr:`FaceCheck.units`).

Shapes: V vertices, F faces, K landmarks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.arrays import MAX_COORDINATE, check_coordinates
from core.errors import InvalidInputError
from core.io.manifest import guess_units
from core.mesh.topology import edges_from_faces

__all__ = ["FaceCheck", "check_face"]

#: Median |log| ratio of edge lengths to the template's (after scale normalisation) above which
#: the vertex order is called scrambled: log 4 (edges 4x too long or short, on median); faces of
#: the identity basis at 1 sd stay below 0.25, 2 mm of noise gives 0.4, a random shuffle 2.7.
MAX_EDGE_LOG_RATIO = float(np.log(4.0))

#: More than this fraction of zero-length edges means the face is (partly) collapsed.
MAX_ZERO_EDGES = 0.05

#: A reflection must fit the landmarks this many times better than the best rotation (RMS
#: residual, scale-normalised) for the face to be called mirrored.
MIRROR_RATIO = 2.0

#: Scale-normalised RMS landmark residual (after the best rotation) above which the landmarks do
#: not describe a face like the template (identity-basis faces at 1 sd stay below 0.25).
MAX_LANDMARK_RESIDUAL = 0.5

#: Rotations by more than this many degrees are undone before animating (smaller ones are a
#: natural head pose and are kept).
ROTATION_FIX_DEG = 30.0


@dataclass(frozen=True, eq=False)
class FaceCheck:
    """The outcome of :func:`check_face`.

    Attributes
    ----------
    vertices : (V, 3) float32
        The face, turned into the template's orientation when it was rotated (else the input).
    rotation : (3, 3) float64 or None
        ``R`` with ``vertices = (input - center) @ R.T + center``; None when nothing was turned.
    center : (3,) float64
        Centre of the rotation (the landmarks' centroid).
    scale : float
        Size relative to the template face (RMS landmark radius ratio).
    units : str
        ``"m"``, ``"cm"`` or ``"mm"``.
    notes : tuple of str
        What was found and done, for the user.
    """

    vertices: np.ndarray
    rotation: np.ndarray | None
    center: np.ndarray
    scale: float
    units: str
    notes: tuple[str, ...]

    def to_file(self, points: np.ndarray) -> np.ndarray:
        """Positions (..., 3) in the template's orientation -> the input file's orientation."""
        if self.rotation is None:
            return points
        out = (np.asarray(points, np.float64) - self.center) @ self.rotation + self.center
        return out.astype(np.asarray(points).dtype, copy=False)


def _rms_radius(points: np.ndarray) -> float:
    c = points - points.mean(axis=0)
    return float(np.sqrt((c**2).sum(-1).mean()))


def _fit(x: np.ndarray, y: np.ndarray, proper: bool) -> tuple[np.ndarray, float]:
    """Orthogonal ``Q`` (3, 3) minimising ``||x Q^T - y||`` for centred, unit-size ``x, y``
    (K, 3), a rotation when ``proper`` else a reflection; (Q, RMS residual)."""
    u, _, vt = np.linalg.svd(y.T @ x)
    d = np.sign(np.linalg.det(u @ vt)) * (1.0 if proper else -1.0)
    q = u @ np.diag([1.0, 1.0, d]) @ vt
    return q, float(np.sqrt(((x @ q.T - y) ** 2).sum(-1).mean()))


def check_face(
    vertices: np.ndarray,
    template: np.ndarray,
    faces: np.ndarray,
    landmarks: np.ndarray,
    name: str = "the face",
) -> FaceCheck:
    """Check a neutral face (V, 3) of the template's topology against the template (V, 3).

    Parameters
    ----------
    vertices, template : (V, 3) float
    faces : (F, 3) int
        The shared triangles.
    landmarks : (K, 3) int
        Landmark vertex indices.
    name : str
        How messages name the face (e.g. its file).

    Raises
    ------
    InvalidInputError
        Non-finite or absurd coordinates, a collapsed face, a scrambled vertex order, a mirrored
        face, or landmarks unlike a face; the message says which and what to do.
    """
    v = check_coordinates(name, vertices, MAX_COORDINATE).astype(np.float64)
    t = np.asarray(template, np.float64)
    edges = edges_from_faces(np.asarray(faces))  # (E, 2)
    e_v = np.linalg.norm(v[edges[:, 0]] - v[edges[:, 1]], axis=1)
    e_t = np.linalg.norm(t[edges[:, 0]] - t[edges[:, 1]], axis=1)
    lm_v, lm_t = v[landmarks], t[landmarks]
    size_v, size_t = _rms_radius(lm_v), _rms_radius(lm_t)
    zero = float((e_v <= 1e-12 * max(1.0, float(np.abs(v).max()))).mean())
    if size_v <= 1e-9 * size_t or zero > MAX_ZERO_EDGES:
        raise InvalidInputError(
            f"{name} is collapsed: {zero:.0%} of its edges have zero length (landmark radius "
            f"{size_v:.3g}); the vertex positions were lost when it was saved — export it again"
        )
    scale = size_v / size_t
    ok = e_t > 0
    log_ratio = np.abs(np.log(np.maximum(e_v[ok], 1e-30) / (scale * e_t[ok])))
    med = float(np.median(log_ratio))
    if med > MAX_EDGE_LOG_RATIO:
        raise InvalidInputError(
            f"{name} has the template's triangles but not its vertex order: its edges are "
            f"{np.exp(med):.1f}x longer or shorter than the template's on median (vertices "
            "shuffled or reordered by the program that saved it); export it again with vertex "
            "reordering turned off"
        )
    c_v = lm_v.mean(axis=0)
    x = (lm_v - c_v) / size_v
    y = (lm_t - lm_t.mean(axis=0)) / size_t
    rot, res_rot = _fit(x, y, proper=True)
    _, res_ref = _fit(x, y, proper=False)
    if res_ref * MIRROR_RATIO < res_rot:
        raise InvalidInputError(
            f"{name} is mirrored (left and right swapped, its normals point inwards): its "
            f"landmarks fit the template with a reflection ({res_ref:.2f}) far better than with "
            f"any rotation ({res_rot:.2f}); mirror it back in the program that exported it"
        )
    if res_rot > MAX_LANDMARK_RESIDUAL:
        raise InvalidInputError(
            f"{name}'s landmarks do not match the template face (residual {res_rot:.2f} of the "
            f"face size after the best rotation, at most {MAX_LANDMARK_RESIDUAL} expected); "
            "it is not a face of this topology — choose another mesh"
        )
    units = guess_units(v)
    notes = []
    if units != "m":
        notes.append(
            f"{name} is in {'centimetres' if units == 'cm' else 'millimetres'} "
            f"({scale:.0f}x the template in metres); the result keeps its units"
        )
    angle = float(np.degrees(np.arccos(np.clip((np.trace(rot) - 1) / 2, -1.0, 1.0))))
    if angle <= ROTATION_FIX_DEG:
        return FaceCheck(v.astype(np.float32), None, c_v, scale, units, tuple(notes))
    w, vec = np.linalg.eig(rot)
    axis = np.real(vec[:, int(np.argmin(np.abs(w - 1)))])
    axis = axis * np.sign(axis[int(np.argmax(np.abs(axis)))])
    notes.append(
        f"{name} is rotated by {angle:.0f} degrees about the axis "
        f"({axis[0]:.2f}, {axis[1]:.2f}, {axis[2]:.2f}) relative to the template; it is "
        "animated upright"
    )
    upright = (v - c_v) @ rot.T + c_v
    return FaceCheck(upright.astype(np.float32), rot, c_v, scale, units, tuple(notes))
