"""The shape glossary's sizes, named once.

Symbols used in docstrings: B batch, T frames, K landmarks, V vertices, F faces, C channels,
S spiral length (``core.mesh.spirals``), L the length of a landmark curve (``core.geometry.srvf``;
Motion3DGAN's intensity), M = T - 1 SRVF samples, D = 3K.

Every use of the landmark count or of an iBUG-68 index range comes from here
(``tests/test_glossary.py`` refuses the literal 68 anywhere else in ``core``).
"""

from __future__ import annotations

__all__ = ["N_LANDMARKS", "MOUTH", "INNER_LIPS", "LANDMARK_DIMS"]

#: K: the iBUG-68 landmark convention of every model, file and export of the project.
N_LANDMARKS = 68
#: D = 3K: a flattened landmark set (Motion3DGAN, the classifier, the CSV columns).
LANDMARK_DIMS = 3 * N_LANDMARKS
#: iBUG indices of the mouth (outer lips 48-59, inner lips 60-67).
MOUTH = slice(48, N_LANDMARKS)
#: iBUG indices of the inner lips.
INNER_LIPS = slice(60, N_LANDMARKS)
