"""Every named epsilon of the project, each with what it guards.

Functions near a singularity take ``eps=`` defaulting to one of these.
"""

from __future__ import annotations

__all__ = [
    "SRVF_SPEED_EPS",
    "SPHERE_NORM_EPS",
    "ACOS_CLAMP",
    "GEOM_ATOL",
    "SPHERE_SERIES_EPS",
    "KARCHER_TOL",
]

#: Below this speed ||v_t|| the SRVF q_t = v_t / sqrt(||v_t||) uses q_t = v_t / sqrt(eps)
#: (continuous at eps, exactly 0 for a repeated frame) so q and its gradient stay finite.
SRVF_SPEED_EPS = 1e-8

#: Tangent vectors (or chord lengths) with norm below this are treated as zero: exp_p(w) = p,
#: log_p(q) = q - p (first-order), distances use the chord instead of acos.
SPHERE_NORM_EPS = 1e-7

#: acos arguments are clamped to [-ACOS_CLAMP, ACOS_CLAMP] only for the value; the gradient uses
#: a linear extrapolation beyond it (PyTorch3D's acos_linear_extrapolation idea) so it stays finite.
ACOS_CLAMP = 1.0 - 1e-7

#: Default absolute tolerance of geometric equality checks in tests (metres or unit-sphere units).
GEOM_ATOL = 1e-6

#: Below this angle (radians) sin(x)/x, cos(x) and atan(y)/y are evaluated by a 4-term Taylor series
#: instead of the closed form: truncation error < 2e-17, and values and gradients stay exact at 0
#: (no 0/0), e.g. exp_p(w) at w = 0 and log_p(q) at q = p.
SPHERE_SERIES_EPS = 1e-2

#: Default stopping tolerance of the Karcher mean: norm (radians) of the weighted mean of the log
#: maps at the current estimate, i.e. of the Riemannian gradient of the Frechet variance.
KARCHER_TOL = 1e-7
