"""The edit model of sculpting: landmark offsets layered on a base motion (numpy only).

Sculpting never changes the base motion: the requested landmarks are ``X = X_base + O`` with
per-frame offsets ``O`` (T, K, 3) float32, and the faces are decoded from them with the residual
of :mod:`core.edit.residual`. The offsets are the result of an ordered list of edits, replayed
from zero: a :class:`DragEdit` adds ``w(t) * delta`` (the temporal falloff
:func:`core.sculpt.temporal_weights` of the frame it was made on), a :class:`ResetEdit` zeroes
landmarks on every frame. Replaying the same list on the same base gives the same offsets bit
for bit (the arithmetic and its order are fixed here), which is what makes a studio export
reproducible from its manifest (:mod:`core.edit.replay`).

Symmetry and pins shape a drag's ``delta`` before it becomes an edit
(:class:`core.sculpt.DragPlan`); the edit stores the resulting full (K, 3) delta.

Shapes: T frames, K = 68 landmarks, V vertices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.errors import InvalidInputError
from core.motion import Motion
from core.sculpt import temporal_weights

__all__ = [
    "EDIT_EPS",
    "DragEdit",
    "ResetEdit",
    "apply_edits",
    "edited_frames",
    "edit_from_json",
    "symmetric_landmarks",
    "neutral_motion",
    "frozen",
]

#: Landmark offsets below this (metres, 1 micrometre) count as "not edited"; such frames show the
#: base face unchanged instead of being decoded.
EDIT_EPS = 1e-6


def frozen(a: np.ndarray, dtype=np.float32) -> np.ndarray:
    """A read-only copy of ``a`` as ``dtype``."""
    a = np.array(a, dtype=dtype, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class DragEdit:
    """A drag released on ``frame``: landmark deltas spread over the motion.

    frame : int, 0-based; delta : (K, 3) float32 metres (every landmark, as applied);
    sigma : temporal window in frames (``math.inf``: the whole motion); landmark : the grabbed
    landmark; mode : ``"smooth"``, ``"direct"`` or ``"coherent"`` (:class:`core.sculpt.DragPlan`;
    a record only: the delta is already the result); symmetric : mirrored drag; radius : the
    smooth falloff radius used (metres, :func:`core.sculpt.smooth_radius`; None in the other
    modes and in records written before it was recorded; a record only, like ``mode``).
    """

    frame: int
    delta: np.ndarray
    sigma: float
    landmark: int
    mode: str = "direct"
    symmetric: bool = False
    radius: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "delta", frozen(self.delta))

    def apply(self, offsets: np.ndarray, base_landmarks: np.ndarray) -> np.ndarray:
        """New offsets (T, K, 3) float32: ``offsets + w[:, None, None] * delta``."""
        w = temporal_weights(base_landmarks, self.frame, self.sigma)  # (T,) float64
        return frozen(offsets + w[:, None, None] * self.delta[None])

    def moved(self) -> np.ndarray:
        """Landmarks (n,) whose delta exceeds :data:`EDIT_EPS`."""
        return np.flatnonzero(np.abs(self.delta).max(axis=1) > EDIT_EPS)

    def describe(self, names) -> dict:
        """The human-readable manifest record (moved landmarks' deltas in mm, 4 decimals)."""
        return {
            "frame": self.frame,
            "landmark": names[self.landmark],
            "mode": self.mode,
            "symmetric": self.symmetric,
            "radius_mm": None if self.radius is None else round(self.radius * 1000, 4),
            "sigma_frames": None if math.isinf(self.sigma) else self.sigma,
            "delta_mm": {
                names[i]: [round(float(x) * 1000, 4) for x in self.delta[i]] for i in self.moved()
            },
        }

    def to_json(self) -> dict:
        """Exact record for replay: float32 deltas as JSON numbers (exact round trip)."""
        return {
            "drag": {
                "frame": int(self.frame),
                "landmark": int(self.landmark),
                "mode": self.mode,
                "symmetric": bool(self.symmetric),
                "radius": None if self.radius is None else float(self.radius),
                "sigma": None if math.isinf(self.sigma) else float(self.sigma),
                "delta_m": [[float(x) for x in row] for row in self.delta],
            }
        }


@dataclass(frozen=True)
class ResetEdit:
    """Zero the offsets of ``landmarks`` (None: all) on every frame."""

    landmarks: tuple[int, ...] | None = None

    def apply(self, offsets: np.ndarray, base_landmarks: np.ndarray) -> np.ndarray:
        off = np.array(offsets)
        if self.landmarks is None:
            off[:] = 0.0
        else:
            off[:, list(self.landmarks)] = 0.0
        return frozen(off)

    def describe(self, names) -> dict:
        return {"reset": "all" if self.landmarks is None else [int(i) for i in self.landmarks]}

    def to_json(self) -> dict:
        return {"reset": None if self.landmarks is None else [int(i) for i in self.landmarks]}


def edit_from_json(record: dict) -> DragEdit | ResetEdit:
    """Inverse of ``to_json`` of :class:`DragEdit` / :class:`ResetEdit`."""
    if not isinstance(record, dict) or len(record) != 1 or not {"drag", "reset"} & set(record):
        raise InvalidInputError(
            f"expected an edit {{'drag': {{...}}}} or {{'reset': ...}}, found {record!r:.80}"
        )
    if "reset" in record:
        ks = record["reset"]
        return ResetEdit(None if ks is None else tuple(int(k) for k in ks))
    d = record["drag"]
    try:
        delta = np.asarray(d["delta_m"], dtype=np.float32)
        sigma = math.inf if d["sigma"] is None else float(d["sigma"])
        radius = d.get("radius")  # absent in records written before it was recorded
        edit = DragEdit(
            int(d["frame"]),
            delta,
            sigma,
            int(d["landmark"]),
            str(d["mode"]),
            bool(d["symmetric"]),
            None if radius is None else float(radius),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"a drag edit is incomplete or malformed ({exc}): {str(d)[:80]}"
        ) from exc
    if edit.delta.ndim != 2 or edit.delta.shape[1] != 3 or not np.isfinite(edit.delta).all():
        raise InvalidInputError(
            f"a drag edit's delta_m must be finite (K, 3), found shape {edit.delta.shape}"
        )
    return edit


def apply_edits(base_landmarks: np.ndarray, edits, offsets: np.ndarray | None = None) -> np.ndarray:
    """Offsets (T, K, 3) float32 of ``edits`` applied in order (from zero by default)."""
    base = np.asarray(base_landmarks)
    off = frozen(np.zeros_like(base)) if offsets is None else offsets
    for e in edits:
        if isinstance(e, DragEdit) and not 0 <= e.frame < len(base):
            raise InvalidInputError(
                f"an edit on frame {e.frame} does not fit a motion of {len(base)} frames"
            )
        if isinstance(e, DragEdit) and e.delta.shape != base.shape[1:]:
            raise InvalidInputError(
                f"an edit's delta has shape {e.delta.shape}, the motion's landmarks "
                f"{base.shape[1:]}"
            )
        off = e.apply(off, base)
    return off


def edited_frames(offsets: np.ndarray) -> np.ndarray:
    """Frames (n,) whose offsets (T, K, 3) are not all below :data:`EDIT_EPS`."""
    return np.flatnonzero(np.abs(offsets).max(axis=(1, 2)) > EDIT_EPS)


def symmetric_landmarks(k: int, mirror: np.ndarray, symmetric: bool) -> list[int]:
    """``[k]``, or ``k`` and its mirror landmark (sorted) in symmetric mode."""
    return sorted({int(k), int(mirror[k])} if symmetric else {int(k)})


def neutral_motion(vertices: np.ndarray, landmark_idx: np.ndarray) -> Motion:
    """The 1-frame "motion" of a neutral face (what sculpting edits before any generation)."""
    v = np.asarray(vertices, np.float32)[None]
    return Motion(landmarks=v[:, landmark_idx], vertices=v, fps=30.0)
