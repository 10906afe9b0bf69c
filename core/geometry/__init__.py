"""Pure-torch geometry of Motion3DGAN: SRVF of landmark motions and the unit sphere they live on.

See :mod:`core.geometry.srvf` (curve <-> SRVF, eq. 1 and 5) and :mod:`core.geometry.sphere`
(log/exp maps, distance, geodesics, Karcher mean, parallel transport; eq. 8 and Sec. 4.4).
"""

from core.geometry.sphere import (
    SPHERE_DIMS,
    KarcherResult,
    acos_linear_extrapolation,
    distance,
    exp_map,
    geodesic,
    inner,
    karcher_mean,
    log_map,
    norm,
    normalize,
    parallel_transport,
    project_to_tangent,
)
from core.geometry.srvf import curve_to_srvf, is_static, srvf_to_curve

__all__ = [
    "SPHERE_DIMS",
    "KarcherResult",
    "acos_linear_extrapolation",
    "curve_to_srvf",
    "distance",
    "exp_map",
    "geodesic",
    "inner",
    "is_static",
    "karcher_mean",
    "log_map",
    "norm",
    "normalize",
    "parallel_transport",
    "project_to_tangent",
    "srvf_to_curve",
]
