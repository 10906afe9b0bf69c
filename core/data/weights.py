"""Per-vertex loss weights (paper eq. 7) and the face region used by the evaluation."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["landmark_distance_weights", "face_region_mask"]

#: Added to the distance before inverting (metres) so the weight is not a spike on the 68
#: landmark vertices alone: a vertex 5 mm away keeps half the weight of a landmark vertex.
WEIGHT_DISTANCE_OFFSET = 5e-3


def landmark_distance_weights(
    vertices: np.ndarray, landmark_idx: np.ndarray, offset: float = WEIGHT_DISTANCE_OFFSET
) -> np.ndarray:
    """w_i = 1 / (min_j ||p_i - Z_j|| + offset), min-max rescaled to [0, 1] (eq. 7).

    vertices : (V, 3); landmark_idx : (68,) → (V,) float32; landmark vertices get 1.
    """
    v = np.asarray(vertices, dtype=np.float64)
    d, _ = cKDTree(v[landmark_idx]).query(v)
    w = 1.0 / (d + offset)
    w = (w - w.min()) / (w.max() - w.min())
    return w.astype(np.float32)


def face_region_mask(
    vertices: np.ndarray, landmark_idx: np.ndarray, margin: float = 0.01
) -> np.ndarray:
    """Vertices of the face region: inside the frontal outline made of the jaw landmarks
    and the brows raised by ``margin``, and in front of the jaw's end points (not ears/back).

    vertices : (V, 3) (facing -y, z up) → (V,) bool.
    """
    from matplotlib.path import Path as MplPath

    v = np.asarray(vertices, dtype=np.float64)
    lm = v[landmark_idx]
    jaw = lm[0:17][:, [0, 2]]
    brows = lm[17:27][::-1][:, [0, 2]] + np.array([0.0, margin])
    poly = np.concatenate([jaw, brows])
    inside = MplPath(poly).contains_points(v[:, [0, 2]])
    front = v[:, 1] < max(lm[0, 1], lm[16, 1]) + margin
    return inside & front
