"""Any face mesh: open it, find its landmarks, fit our template, animate it in its own topology.

Modules: :mod:`~core.fit.load` (OBJ/PLY/GLB/glTF/STL), :mod:`~core.fit.raster` (numpy
rasteriser), :mod:`~core.fit.detect` (MediaPipe landmarks, optional extra ``anyface``),
:mod:`~core.fit.mp68` (468 -> 68 table), :mod:`~core.fit.align` (Umeyama, units/axes),
:mod:`~core.fit.register` (identity fit + non-rigid ICP), :mod:`~core.fit.binding` (carry motion
over), :mod:`~core.fit.face_fit` (the pipeline and ``FIT.npz``), :mod:`~core.fit.remesh`
(re-meshed templates with known correspondence, for tests and benchmarks).
"""

from core.fit.face_fit import FaceFit, fit_face, load_fit, save_fit
from core.fit.landmark_file import read_face_landmarks
from core.fit.load import load_any_mesh

__all__ = ["FaceFit", "fit_face", "load_fit", "save_fit", "load_any_mesh", "read_face_landmarks"]
