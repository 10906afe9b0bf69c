"""Every named epsilon of the project, each with what it guards.

Functions near a singularity take ``eps=`` defaulting to one of these.
"""

from __future__ import annotations

__all__ = [
    "SRVF_SPEED_EPS",
    "SPHERE_NORM_EPS",
    "SPHERE_ANTIPODAL_EPS",
    "ACOS_CLAMP",
    "GEOM_ATOL",
]

#: Below this speed ||v_t|| the SRVF q_t = v_t / sqrt(||v_t||) switches to the smooth
#: form q_t = v_t / sqrt(||v_t|| + eps) so q and its gradient stay finite at zero velocity.
SRVF_SPEED_EPS = 1e-8

#: Tangent vectors (or chord lengths) with norm below this are treated as zero: exp_p(w) = p,
#: log_p(q) = q - p (first-order), distances use the chord instead of acos.
SPHERE_NORM_EPS = 1e-7

#: <p, q> below -1 + this is treated as antipodal: the log map is not unique there; we pick a
#: deterministic direction and document it.
SPHERE_ANTIPODAL_EPS = 1e-6

#: acos arguments are clamped to [-ACOS_CLAMP, ACOS_CLAMP] only for the value; the gradient uses
#: a linear extrapolation beyond it (PyTorch3D's acos_linear_extrapolation idea) so it stays finite.
ACOS_CLAMP = 1.0 - 1e-7

#: Default absolute tolerance of geometric equality checks in tests (metres or unit-sphere units).
GEOM_ATOL = 1e-6
