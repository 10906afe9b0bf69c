"""Drag robustness: drag one landmark in the frontal view plane and check the decoded surface.

Protocol (issue 10): every one of the 68 landmarks is moved by ``d`` in ±x and ±z (the frontal
view plane; the face looks along -y) while the other 67 stay at their neutral positions; the
benchmark decodes the targets as the studio decodes a drag (``python main.py decode
--as-edit``, :func:`core.edit.residual.decode_as_edit`). A drag is **clean** when at most
:data:`MAX_FLIPPED` of the triangles turned over (the face normal's dot product with its
neutral normal is negative) and no vertex moved more than :data:`MAX_VERTEX_RATIO` times the
drag. The dragged landmark's distance to its target says whether the drag was followed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.geometry.fold_repair import flipped_faces

__all__ = [
    "MAX_FLIPPED",
    "MAX_VERTEX_RATIO",
    "DIRECTIONS",
    "DragResult",
    "drag_targets",
    "score_drags",
    "summarize_drags",
]

#: A clean drag flips at most this many of the 8566 triangles.
MAX_FLIPPED = 10
#: ... and moves no vertex more than this multiple of the drag distance.
MAX_VERTEX_RATIO = 2.5
#: The four drag directions in the frontal view plane (x: the subject's left, z: up).
DIRECTIONS = {
    "+x": (1.0, 0.0, 0.0),
    "-x": (-1.0, 0.0, 0.0),
    "+z": (0.0, 0.0, 1.0),
    "-z": (0.0, 0.0, -1.0),
}


@dataclass(frozen=True)
class DragResult:
    """Per-drag measurements (N drags).

    landmark : (N,) int; direction : (N,) str; distance : (N,) float metres;
    flipped : (N,) int triangles; worst_ratio : (N,) float (largest vertex motion / drag);
    reached : (N,) float metres (dragged landmark to its target).
    """

    landmark: np.ndarray
    direction: np.ndarray
    distance: np.ndarray
    flipped: np.ndarray
    worst_ratio: np.ndarray
    reached: np.ndarray

    @property
    def clean(self) -> np.ndarray:
        """(N,) bool: few enough flipped triangles and no runaway vertex."""
        return (self.flipped <= MAX_FLIPPED) & (self.worst_ratio <= MAX_VERTEX_RATIO)


def drag_targets(
    neutral_landmarks: np.ndarray, distance: float, landmarks=None, spread=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Targets of every single-landmark drag.

    neutral_landmarks : (68, 3) → targets (N, 68, 3), landmark (N,) int, direction (N,) str
    with N = len(landmarks) * 4 (all 68 by default). ``spread(k, drag (3,)) -> (68, 3)``: how
    a drag of landmark k moves every landmark (e.g. ``DragPlan(k, ...).delta`` of a studio
    mode); default: landmark k alone.
    """
    ids = range(len(neutral_landmarks)) if landmarks is None else landmarks
    targets, lm, dirs = [], [], []
    for k in ids:
        for name, vec in DIRECTIONS.items():
            t = np.array(neutral_landmarks, np.float64)
            if spread is None:
                t[k] += distance * np.asarray(vec)
            else:
                t += spread(k, distance * np.asarray(vec))
            targets.append(t)
            lm.append(k)
            dirs.append(name)
    return np.asarray(targets, np.float32), np.asarray(lm), np.asarray(dirs)


def score_drags(
    neutral: np.ndarray,
    faces: np.ndarray,
    landmark_idx: np.ndarray,
    decoded: np.ndarray,
    targets: np.ndarray,
    landmark: np.ndarray,
    direction: np.ndarray,
    distance: float,
) -> DragResult:
    """Measure decoded drags: neutral (V, 3), decoded (N, V, 3), targets (N, 68, 3)."""
    flipped = flipped_faces(neutral, decoded, faces).sum(-1)  # (N,)
    motion = np.linalg.norm(decoded - neutral[None], axis=-1).max(-1)  # (N,)
    rows = np.arange(len(decoded))
    got = decoded[rows, np.asarray(landmark_idx)[landmark]]  # (N, 3)
    reached = np.linalg.norm(got - targets[rows, landmark], axis=-1)
    return DragResult(
        np.asarray(landmark),
        np.asarray(direction),
        np.full(len(decoded), distance),
        flipped,
        motion / distance,
        reached,
    )


def summarize_drags(result: DragResult) -> dict:
    """Share clean, flip statistics, worst vertex ratio and landmark error (mm) of a result."""
    return {
        "drags": int(len(result.flipped)),
        "clean_fraction": float(result.clean.mean()),
        "flipped_median": float(np.median(result.flipped)),
        "flipped_max": int(result.flipped.max()),
        "worst_vertex_ratio_max": float(result.worst_ratio.max()),
        "worst_vertex_ratio_median": float(np.median(result.worst_ratio)),
        "landmark_error_mm_mean": float(result.reached.mean() * 1000),
        "landmark_error_mm_max": float(result.reached.max() * 1000),
    }
