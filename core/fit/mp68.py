"""The correspondence from MediaPipe FaceMesh's 468 (478 refined) points to the 68 iBUG points.

Each iBUG point is the mean of one or two MediaPipe points (indices into the canonical face
model, ``mediapipe/modules/face_geometry/data/canonical_face_model.obj``). The table was written
from the canonical model's topology, point by point, following the iBUG-300W definitions
(subject's right side first, i.e. the left of a frontal image); every left/right pair of the table
maps to a left/right pair of MediaPipe points (checked by ``tests/test_fit_core.py``).

========  =========================  ==============================================
iBUG      MediaPipe                  what
========  =========================  ==============================================
0-16      127 234 93 132|58 58|172   jaw line, ear level on the subject's right to
          136 150 176 152 400 379    the chin (8) and up to the left ear; the
          365 397|288 288|361 323    MediaPipe face oval is on the surface, like
          454 356                    our template's jaw points
17-21     70 63 105 66 107           right brow, outer to inner (upper brow edge)
22-26     336 296 334 293 300        left brow, inner to outer
27-30     168|6 197|195 5 4          nose bridge, nasion to tip
31-35     75 97 2 326 305            nostril base, right to left
36-41     33 160 158 133 153 144     right eye: outer corner, upper lid x2, inner
                                     corner, lower lid x2
42-47     362 385 387 263 373 380    left eye: inner corner, upper lid x2, outer
                                     corner, lower lid x2
48-59     61 40 37 0 267 270 291     outer lip: right corner, upper lip, left
          321 314 17 84 91           corner, lower lip
60-67     78 82 13 312 308 317 14 87 inner lip
========  =========================  ==============================================

``a|b`` means the midpoint of a and b.

The table follows the iBUG definitions, which differ from our template's 68 (the MediaPipe face
oval runs at ear level, above our jaw points): on anny identities its points lie 3-18 mm (mean by
region, the jaw most) from our own landmarks. :func:`ibug68_from_mediapipe` therefore uses a
learned mapping when ``resources/mediapipe_ibug68.json`` is there
(:func:`core.fit.detector_response.ibug68_weights`: each of our landmarks an affine mix of 8
detector points, weights summing to 1), and this table otherwise.
"""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np

__all__ = [
    "MP_TO_IBUG",
    "MP_MIRROR_PAIRS",
    "ibug68_from_mediapipe",
    "table_ibug68",
    "ibug_members",
    "learned_ibug68",
    "IBUG68_RESOURCE",
]

IBUG68_RESOURCE = "mediapipe_ibug68.json"

#: For iBUG point i, the MediaPipe indices whose mean is that point.
MP_TO_IBUG: tuple[tuple[int, ...], ...] = (
    (127,),
    (234,),
    (93,),
    (132, 58),
    (58, 172),
    (136,),
    (150,),
    (176,),
    (152,),
    (400,),
    (379,),
    (365,),
    (397, 288),
    (288, 361),
    (323,),
    (454,),
    (356,),
    (70,),
    (63,),
    (105,),
    (66,),
    (107,),
    (336,),
    (296,),
    (334,),
    (293,),
    (300,),
    (168, 6),
    (197, 195),
    (5,),
    (4,),
    (75,),
    (97,),
    (2,),
    (326,),
    (305,),
    (33,),
    (160,),
    (158,),
    (133,),
    (153,),
    (144,),
    (362,),
    (385,),
    (387,),
    (263,),
    (373,),
    (380,),
    (61,),
    (40,),
    (37,),
    (0,),
    (267,),
    (270,),
    (291,),
    (321,),
    (314,),
    (17,),
    (84,),
    (91,),
    (78,),
    (82,),
    (13,),
    (312,),
    (308,),
    (317,),
    (14,),
    (87,),
)

#: Left/right MediaPipe pairs used by the table (for the symmetry check in the tests).
MP_MIRROR_PAIRS: tuple[tuple[int, int], ...] = (
    (127, 356),
    (234, 454),
    (93, 323),
    (132, 361),
    (58, 288),
    (172, 397),
    (136, 365),
    (150, 379),
    (176, 400),
    (70, 300),
    (63, 293),
    (105, 334),
    (66, 296),
    (107, 336),
    (75, 305),
    (97, 326),
    (33, 263),
    (160, 387),
    (158, 385),
    (133, 362),
    (153, 380),
    (144, 373),
    (61, 291),
    (40, 270),
    (37, 267),
    (321, 91),
    (314, 84),
    (78, 308),
    (82, 312),
    (317, 87),
)


def table_ibug68(points: np.ndarray) -> np.ndarray:
    """The documented table: MediaPipe points (..., 468 or 478, D) -> (..., 68, D)."""
    p = _checked(points)
    return np.stack([p[..., list(ids), :].mean(axis=-2) for ids in MP_TO_IBUG], axis=-2)


@lru_cache(maxsize=1)
def learned_ibug68() -> tuple[np.ndarray, np.ndarray] | None:
    """The learned mapping: ids (68, n) and weights (68, n), or None without the resource.
    A file of other shapes or weights not summing to 1 is an error."""
    from core.assets import resource_path
    from core.errors import InvalidInputError
    from core.glossary import N_LANDMARKS

    path = resource_path(IBUG68_RESOURCE)
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    ids = np.asarray(data["ids"], np.int64)
    w = np.asarray(data["weights"], float)
    if (
        ids.ndim != 2
        or ids.shape[0] != N_LANDMARKS
        or w.shape != ids.shape
        or ids.min() < 0
        or ids.max() >= 468
        or not np.allclose(w.sum(axis=1), 1.0, atol=1e-4)
    ):
        raise InvalidInputError(
            f"{path}: expected ids and weights ({N_LANDMARKS}, n), ids in 0..467 and weights "
            "summing to 1; rebuild it with tests/benchmarks/train_mediapipe_response.py"
        )
    return ids, w


def ibug_members(k: int) -> tuple[np.ndarray, np.ndarray]:
    """The MediaPipe ids (n,) and weights (n,) whose mix is our landmark ``k``."""
    learned = learned_ibug68()
    if learned is None:
        ids = np.asarray(MP_TO_IBUG[k], np.int64)
        return ids, np.full(len(ids), 1.0 / len(ids))
    return learned[0][k], learned[1][k]


def _checked(points: np.ndarray) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    if p.shape[-2] < 468:
        raise ValueError(f"expected 468 or 478 MediaPipe points, found {p.shape[-2]}")
    return p


def ibug68_from_mediapipe(points: np.ndarray) -> np.ndarray:
    """Map MediaPipe points (..., 468 or 478, D) to our 68 landmarks (..., 68, D): the learned
    mapping when shipped (see the module docstring), else the table."""
    learned = learned_ibug68()
    if learned is None:
        return table_ibug68(points)
    p = _checked(points)
    ids, w = learned
    return np.einsum("kn,...knd->...kd", w, p[..., ids, :])
