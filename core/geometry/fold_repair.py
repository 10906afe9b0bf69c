"""Repair of folded skin: an as-rigid-as-possible relaxation around triangles that turned over.

The decoder's landmark residual is a *linear* (least-bending) interpolation of what its learned
part leaves at the landmarks. A large single-landmark drag — a lip corner pulled 10 mm past
its neighbour — asks that interpolation for a tent it cannot make without turning triangles
over. :func:`repair_folds` finds the triangles of a deformed mesh whose normal turned over
relative to a rest shape and, only there, relaxes the skin within ``radius`` of them with
libigl's as-rigid-as-possible deformation (Sorkine & Alexa 2007, a few local/global
iterations started from the deformed mesh), kept only if it leaves fewer triangles turned
over than it found. Everything else stays where it was: the fixed
vertices (the landmarks, which keep landing exactly, and the anchored skin) and the skin
farther than ``radius`` from a fold. A mesh without folds is returned unchanged.

Measured on issue 10's drag protocol (``docs/generalization.md``,
``python docs/scripts/study_arap_drags.py``).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "FOLD_REPAIR_ITERATIONS",
    "FOLD_REPAIR_RADIUS",
    "MAX_FOLD_REPAIR_ITERATIONS",
    "FoldRepair",
    "check_fold_repair",
    "face_normals",
    "flipped_faces",
    "repair_folds",
]

#: Local/global ARAP iterations and the radius (metres, on the rest shape) of skin relaxed
#: around a folded triangle. Chosen on drags in the diagonal directions at 10 mm (validation),
#: not on the protocol's axis-aligned ones: ``docs/generalization.md``.
FOLD_REPAIR_ITERATIONS = 2
FOLD_REPAIR_RADIUS = 0.02
MAX_FOLD_REPAIR_ITERATIONS = 50


def face_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Unnormalised triangle normals: vertices (..., V, 3), faces (F, 3) → (..., F, 3)."""
    v = np.asarray(vertices, np.float64)
    a, b, c = v[..., faces[:, 0], :], v[..., faces[:, 1], :], v[..., faces[:, 2], :]
    return np.cross(b - a, c - a)


def flipped_faces(rest: np.ndarray, deformed: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Triangles whose normal turned over: rest (..., V, 3), deformed (..., V, 3) → (..., F)
    bool (the normals' dot product is negative)."""
    f = np.asarray(faces, np.int64)
    return (face_normals(rest, f) * face_normals(deformed, f)).sum(-1) < 0


def repair_folds(
    rest: np.ndarray,
    deformed: np.ndarray,
    faces: np.ndarray,
    fixed: np.ndarray,
    radius: float = FOLD_REPAIR_RADIUS,
    iterations: int = FOLD_REPAIR_ITERATIONS,
    flipped: np.ndarray | None = None,
) -> tuple[np.ndarray, int]:
    """``(repaired (V, 3) float32, number of folded triangles found)`` of one deformed mesh.

    rest, deformed : (V, 3); faces : (F, 3); fixed : (V,) bool, vertices that must not move
    (they keep their deformed positions). Only the free vertices within ``radius`` (on the rest
    shape) of a folded triangle move. ``flipped`` : (F,) bool, :func:`flipped_faces` of
    ``rest`` and ``deformed`` when the caller has it already.
    """
    import igl

    rest = np.asarray(rest, np.float64)
    out = np.asarray(deformed, np.float32)
    f = np.asarray(faces, np.int64)
    if flipped is None:
        flipped = flipped_faces(rest, out, f)
    n = int(flipped.sum())
    if n == 0 or iterations <= 0:
        return out, n
    from scipy.spatial import cKDTree

    seeds = np.unique(f[flipped])
    d, _ = cKDTree(rest[seeds]).query(rest, distance_upper_bound=radius)  # inf beyond radius
    free = (d <= radius) & ~np.asarray(fixed, bool)
    if not free.any():
        return out, n
    sub_faces = f[free[f].any(1)]  # every triangle touching a free vertex
    verts = np.unique(sub_faces)
    local = np.full(len(rest), -1, np.int64)
    local[verts] = np.arange(len(verts))
    b = np.flatnonzero(~free[verts]).astype(np.int32)  # the ring around the free patch
    data = igl.ARAPData()
    data.max_iter = int(iterations)
    igl.arap_precomputation(rest[verts], local[sub_faces], 3, b, data)
    start = out[verts].astype(np.float64)
    solved = igl.arap_solve(start[b], data, start)
    moved = np.ones(len(verts), bool)
    moved[b] = False
    repaired = out.copy()
    repaired[verts[moved]] = solved[moved]
    if flipped_faces(rest, repaired, f).sum() >= n:  # never worse than the input
        return out, n
    return repaired, n


def check_fold_repair(iterations) -> int:
    """A manifest's ``fold_repair`` (iterations, 0: off) as an int, else a one-line error."""
    from core.errors import InvalidInputError

    if (
        isinstance(iterations, bool)
        or not isinstance(iterations, int)
        or not 0 <= iterations <= MAX_FOLD_REPAIR_ITERATIONS
    ):
        raise InvalidInputError(
            f"fold repair: expected a whole number of iterations in [0, "
            f"{MAX_FOLD_REPAIR_ITERATIONS}], found {iterations!r}"
        )
    return iterations


class FoldRepair:
    """:func:`repair_folds` of a topology, frame by frame: ``faces`` (F, 3), ``fixed`` (V,)
    bool (the landmarks and anchored skin); ``iterations`` 0 turns it off."""

    def __init__(
        self,
        faces: np.ndarray,
        fixed: np.ndarray,
        iterations: int = FOLD_REPAIR_ITERATIONS,
        radius: float = FOLD_REPAIR_RADIUS,
    ) -> None:
        self.faces = np.asarray(faces, np.int64)
        self.fixed = np.asarray(fixed, bool)
        self.iterations = check_fold_repair(iterations)
        self.radius = float(radius)

    def __call__(self, rest: np.ndarray, deformed: np.ndarray) -> np.ndarray:
        """rest (V, 3) or (n, V, 3), deformed (n, V, 3) → (n, V, 3) float32; frames without a
        folded triangle are returned as they are."""
        out = np.array(deformed, np.float32)
        if self.iterations == 0:
            return out
        rest = np.broadcast_to(np.asarray(rest, np.float64), out.shape)
        flipped = flipped_faces(rest, out, self.faces)  # (n, F)
        for i in np.flatnonzero(flipped.any(-1)):
            out[i] = repair_folds(
                rest[i], out[i], self.faces, self.fixed, self.radius, self.iterations, flipped[i]
            )[0]
        return out
