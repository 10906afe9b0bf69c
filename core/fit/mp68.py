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
"""

from __future__ import annotations

import numpy as np

__all__ = ["MP_TO_IBUG", "MP_MIRROR_PAIRS", "ibug68_from_mediapipe"]

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


def ibug68_from_mediapipe(points: np.ndarray) -> np.ndarray:
    """Map MediaPipe points (..., 468 or 478, D) to iBUG-68 points (..., 68, D)."""
    p = np.asarray(points, dtype=np.float64)
    if p.shape[-2] < 468:
        raise ValueError(f"expected 468 or 478 MediaPipe points, found {p.shape[-2]}")
    return np.stack([p[..., list(ids), :].mean(axis=-2) for ids in MP_TO_IBUG], axis=-2)
