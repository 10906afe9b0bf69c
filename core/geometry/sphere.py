"""Riemannian geometry of the unit sphere on which SRVFs live (paper eq. 8 and Sec. 4.4).

Points and tangent vectors have shape ``(*batch, M, D)``; every inner product and norm reduces over
the LAST TWO dims (``SPHERE_DIMS``) with the plain Euclidean inner product ``sum_{m,d} a b``.
Leading dims are batch dims and broadcast. For SRVFs (:mod:`core.geometry.srvf`) ``M = T - 1``,
``D = 204``; they are pre-scaled so the official ``1/T``-weighted inner product is not needed.
Pure torch, differentiable, float32/float64, any device; only :func:`karcher_mean` syncs.

Singular cases (values and gradients finite; no clipping at +-0.98 as in the official TF code):

- ``log_map(p, q)``, ``q ~ p``: ``theta / sin(theta)`` by a Taylor series; exactly 0 at ``q = p``.
- ``log_map(p, q)``, ``q = -p`` (tangent residual below ``eps``): the log is not unique; we return
  ``pi * e``, ``e`` the unit projection onto ``T_p`` of the standard basis vector of the coordinate
  where ``|p|`` is smallest (first on ties). Deterministic, depends on ``p`` only.
- ``exp_map(p, w)``, ``w ~ 0``: ``cos`` and ``sin(x)/x`` by Taylor series.
- ``distance``: Kahan's ``2 atan2(|a - b|, |a + b|)``, accurate at 0 and pi (``acos`` of an inner
  product loses half the digits there); gradient 0 (a subgradient) at ``q = +-p``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from core.errors import InvalidInputError
from core.geometry.safe_math import safe_sqrt
from core.tolerances import ACOS_CLAMP, KARCHER_TOL, SPHERE_NORM_EPS, SPHERE_SERIES_EPS

__all__ = [
    "SPHERE_DIMS", "KarcherResult", "inner", "norm", "normalize", "project_to_tangent",
    "acos_linear_extrapolation", "log_map", "exp_map", "distance", "geodesic", "karcher_mean",
    "parallel_transport",
]  # fmt: skip

#: Dims reduced by every inner product / norm of this module: the (M, D) = (T-1, 204) SRVF block.
SPHERE_DIMS = (-2, -1)


def _check(x: torch.Tensor, name: str, min_ndim: int = 2) -> None:
    """Raise InvalidInputError unless ``x`` is a floating tensor with at least ``min_ndim`` dims."""
    is_t = isinstance(x, torch.Tensor)
    if not is_t or x.ndim < min_ndim or not x.is_floating_point():
        found = f"shape {tuple(x.shape)}, {x.dtype}" if is_t else type(x).__name__
        raise InvalidInputError(
            f"{name}: expected a floating torch.Tensor with >= {min_ndim} dims (*batch, M, D); "
            f"found {found}. Use torch.as_tensor(...).double(), reshape a flat vector to (1, D)."
        )


def _sinc_cos(t2: torch.Tensor, eps: float = SPHERE_SERIES_EPS) -> tuple[torch.Tensor, ...]:
    """``(sin(t) / t, cos(t))`` from ``t2 = t**2 >= 0``; 4-term Taylor series where ``t < eps``."""
    small = t2 < eps * eps
    t = torch.sqrt(torch.where(small, torch.ones_like(t2), t2))  # masked: no 0/0 in the gradient
    sinc = torch.where(small, 1 - t2 / 6 * (1 - t2 / 20 * (1 - t2 / 42)), torch.sin(t) / t)
    cos = torch.where(small, 1 - t2 / 2 * (1 - t2 / 12 * (1 - t2 / 30)), torch.cos(t))
    return sinc, cos


def inner(a: torch.Tensor, b: torch.Tensor, keepdim: bool = False) -> torch.Tensor:
    """Euclidean inner product over the last two dims.

    Parameters
    ----------
    a, b : (*batch, M, D) float
        Broadcastable tensors.
    keepdim : bool
        Keep the reduced dims as size 1.

    Returns
    -------
    (*batch,) or (*batch, 1, 1) float
    """
    return (a * b).sum(dim=SPHERE_DIMS, keepdim=keepdim)


def norm(x: torch.Tensor, keepdim: bool = False) -> torch.Tensor:
    """Euclidean norm over the last two dims; value and gradient 0 at ``x = 0``.

    Parameters
    ----------
    x : (*batch, M, D) float
    keepdim : bool
        Keep the reduced dims as size 1.

    Returns
    -------
    (*batch,) or (*batch, 1, 1) float
    """
    return safe_sqrt(inner(x, x, keepdim=keepdim))


def normalize(x: torch.Tensor, eps: float = SPHERE_NORM_EPS) -> torch.Tensor:
    """Project onto the unit sphere: ``x / max(||x||, eps)``.

    Parameters
    ----------
    x : (*batch, M, D) float
    eps : float
        Norm floor: an ``x`` with norm below it is NOT put on the sphere (zero stays zero).

    Returns
    -------
    (*batch, M, D) float
    """
    _check(x, "x")
    return x / norm(x, keepdim=True).clamp_min(eps)


def project_to_tangent(p: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Orthogonal projection of ``w`` onto the tangent space ``T_p``: ``w - <p, w> p``.

    Parameters
    ----------
    p : (*batch, M, D) float
        Unit-norm base point.
    w : (*batch, M, D) float
        Any vector (broadcastable with ``p``).

    Returns
    -------
    (*batch, M, D) float, orthogonal to ``p``.
    """
    _check(p, "p")
    _check(w, "w")
    return w - inner(p, w, keepdim=True) * p


def acos_linear_extrapolation(x: torch.Tensor, bound: float = ACOS_CLAMP) -> torch.Tensor:
    """``acos(x)`` inside ``[-bound, bound]``, its tangent line outside (PyTorch3D's idea).

    The derivative ``-1/sqrt(1 - x^2)`` is infinite at ``x = +-1``; beyond ``+-bound`` this function
    continues linearly with the slope at the bound, so value and gradient are finite and continuous
    for every real ``x`` (values beyond ``+-1`` do not raise or give NaN). Near ``x = 1`` the value
    is off by up to ``sqrt(2 (1 - bound)) / 2`` (2.2e-4 for the default bound): use it for losses on
    cosines; the maps of this module compute angles with ``atan2`` instead, which is accurate there.

    Parameters
    ----------
    x : (...) float
    bound : float
        In (0, 1).

    Returns
    -------
    (...) float, same shape and dtype as ``x``.
    """
    if not 0.0 < bound < 1.0:
        raise InvalidInputError(f"bound: expected one in (0, 1); found {bound}. Use ACOS_CLAMP.")
    slope = -1.0 / math.sqrt(1.0 - bound * bound)
    xc = x.clamp(-bound, bound)
    return torch.acos(xc) + (x - xc) * slope


def _antipodal_direction(p: torch.Tensor) -> torch.Tensor:
    """Deterministic unit tangent at ``p``: projected basis vector where ``|p|`` is smallest."""
    flat = p.reshape(*p.shape[:-2], -1)  # (*batch, M*D)
    k = flat.abs().argmin(dim=-1, keepdim=True)  # (*batch, 1)
    e = torch.zeros_like(flat).scatter(-1, k, 1.0).reshape(p.shape)  # (*batch, M, D)
    d = e - inner(p, e, keepdim=True) * p
    return d / norm(d, keepdim=True).clamp_min(SPHERE_NORM_EPS)


def log_map(p: torch.Tensor, q: torch.Tensor, eps: float = SPHERE_NORM_EPS) -> torch.Tensor:
    """Logarithm map (eq. 8): tangent vector at ``p`` pointing to ``q``, of length ``d(p, q)``.

    ``u = q - <p, q> p``, ``theta = atan2(||u||, <p, q>)`` (equal to ``acos<p, q>`` for unit
    vectors, but accurate near 0 and pi), ``log = theta * u / ||u||``.

    Parameters
    ----------
    p : (*batch, M, D) float
        Unit-norm base point.
    q : (*batch, M, D) float
        Unit-norm target point (broadcastable with ``p``).
    eps : float
        If ``||u|| < eps`` and ``q`` is not near ``p``, ``q`` counts as antipodal (``q = -p``):
        the result is ``pi * e`` with the deterministic direction ``e`` of the module docstring.

    Returns
    -------
    (*batch, M, D) float, tangent at ``p`` (``<p, log> = 0``), norm in ``[0, pi]``.
    """
    _check(p, "p")
    _check(q, "q")
    c = inner(p, q, keepdim=True)  # (*batch, 1, 1)
    u = q - c * p  # (*batch, M, D)
    u = u - inner(p, u, keepdim=True) * p  # second Gram-Schmidt pass: tangent to rounding level
    s2 = inner(u, u, keepdim=True)
    s = safe_sqrt(s2)
    series = (c > 0) & (s < SPHERE_SERIES_EPS * c)
    antipodal = ~series & (s < eps)
    regular = ~series & ~antipodal
    c_s = torch.where(series, c, torch.ones_like(c))  # q ~ p: theta/|u| = atan(y)/(y c), y = |u|/c
    y2 = torch.where(series, s2, torch.zeros_like(s2)) / (c_s * c_s)
    f_series = (1 - y2 / 3 + y2 * y2 / 5 - y2 * y2 * y2 / 7) / c_s
    s_r = torch.where(regular, s, torch.ones_like(s))  # masked inputs: no NaN in the gradient
    c_r = torch.where(regular, c, torch.zeros_like(c))
    f_reg = torch.atan2(s_r, c_r) / s_r
    out = torch.where(series, f_series, f_reg) * u
    return torch.where(antipodal, math.pi * _antipodal_direction(p), out)


def exp_map(p: torch.Tensor, w: torch.Tensor, eps: float = SPHERE_SERIES_EPS) -> torch.Tensor:
    """Exponential map (eq. 8): ``cos(||w||) p + sin(||w||) w / ||w||``, renormalised to unit norm.

    Parameters
    ----------
    p : (*batch, M, D) float
        Unit-norm base point.
    w : (*batch, M, D) float
        Tangent vector at ``p`` (not projected onto ``T_p``).
    eps : float
        Below this ``||w||`` the cosine and ``sin(x)/x`` use Taylor series; ``exp_p(0) = p``
        with finite gradient.

    Returns
    -------
    (*batch, M, D) float, unit norm.
    """
    _check(p, "p")
    _check(w, "w")
    sinc, cos = _sinc_cos(inner(w, w, keepdim=True), eps)  # (*batch, 1, 1) each
    out = cos * p + sinc * w
    return out / norm(out, keepdim=True).clamp_min(SPHERE_NORM_EPS)


def distance(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Geodesic (great-circle) distance ``acos<p, q>``, computed stably.

    Uses Kahan's ``2 atan2(||a - b||, ||a + b||)`` with ``a = p ||q||``, ``b = q ||p||``: the angle
    between ``p`` and ``q`` for any non-zero vectors, exactly symmetric, accurate near 0 and pi,
    with a finite (zero) gradient at ``q = p`` and ``q = -p``.

    Parameters
    ----------
    p, q : (*batch, M, D) float
        Broadcastable, non-zero (unit for SRVFs).

    Returns
    -------
    (*batch,) float in ``[0, pi]``.
    """
    _check(p, "p")
    _check(q, "q")
    a = p * norm(q, keepdim=True)
    b = q * norm(p, keepdim=True)
    return 2 * torch.atan2(norm(a - b), norm(a + b))


def geodesic(q1: torch.Tensor, q2: torch.Tensor, tau: float | torch.Tensor) -> torch.Tensor:
    """Point(s) ``psi(tau) = exp_{q1}(tau log_{q1}(q2))`` of the geodesic from ``q1`` to ``q2``.

    Same path as the paper's ``(sin((1 - tau) theta) q1 + sin(tau theta) q2) / sin(theta)``
    (Sec. 4.4) without its 0/0 at ``theta = 0``. ``psi(0) = q1``, ``psi(1) = q2``; ``tau`` outside
    [0, 1] extrapolates along the great circle.

    Parameters
    ----------
    q1, q2 : (*batch, M, D) float
        Unit-norm end points (broadcastable).
    tau : float, 0-d tensor or (S,) tensor
        Curve parameter(s).

    Returns
    -------
    (*batch, M, D) float for a scalar ``tau``; (S, *batch, M, D) float for a 1-D ``tau``.
    """
    v = log_map(q1, q2)  # (*batch, M, D)
    if isinstance(tau, torch.Tensor):
        if tau.ndim > 1:
            raise InvalidInputError(
                f"tau: expected a float, a 0-d or (S,) tensor; found shape "
                f"{tuple(tau.shape)}. Flatten it with tau.reshape(-1)."
            )
        tau = tau.to(dtype=v.dtype, device=v.device)
        if tau.ndim == 1:
            tau = tau.reshape(-1, *([1] * v.ndim))  # (S, 1, ..., 1)
    return exp_map(q1, tau * v)


@dataclass(frozen=True)
class KarcherResult:
    """Outcome of :func:`karcher_mean`.

    Attributes
    ----------
    mean : (*batch, M, D) float
        Unit-norm mean, differentiable w.r.t. the inputs through the iterations.
    n_iter : int
        Gradient steps taken.
    converged : bool
        ``grad_norm < tol`` (for every batch element).
    grad_norm : float
        Largest norm over the batch of the weighted mean log map at ``mean``.
    """

    mean: torch.Tensor
    n_iter: int
    converged: bool
    grad_norm: float


def karcher_mean(
    qs: torch.Tensor,
    weights: torch.Tensor | None = None,
    max_iter: int = 100,
    step: float = 1.0,
    tol: float = KARCHER_TOL,
) -> KarcherResult:
    """Weighted Frechet (Karcher) mean on the sphere by Riemannian gradient descent.

    Starts from the normalised weighted Euclidean mean (or ``qs[0]`` if that is ~0), then iterates
    ``mu <- exp_mu(step * sum_i w_i log_mu(q_i))`` until the norm of the update direction is below
    ``tol``. The mean is unique when all points lie in an open hemisphere around it. Convergence is
    linear; in float32 rounding keeps the direction norm from going much below ~1e-7, so if
    ``converged`` is False with ``grad_norm`` near that level, pass a larger ``tol`` (e.g. 1e-6).

    Parameters
    ----------
    qs : (N, *batch, M, D) float
        N unit-norm points (per batch element); the mean is taken over dim 0.
    weights : (N,) float, optional
        Non-negative weights (normalised to sum 1); uniform by default.
    max_iter : int
        Maximum number of gradient steps.
    step : float
        Step size in (0, 2); 1 is the classical Karcher iteration.
    tol : float
        Stopping threshold on the update-direction norm (radians).

    Returns
    -------
    KarcherResult
        ``mean`` of shape (*batch, M, D) plus iteration diagnostics.
    """
    _check(qs, "qs", min_ndim=3)
    n = qs.shape[0]
    w = torch.ones(n) if weights is None else torch.as_tensor(weights)
    w = w.to(dtype=qs.dtype, device=qs.device)
    if w.shape != (n,) or not bool(torch.isfinite(w).all() & (w >= 0).all() & (w.sum() > 0)):
        raise InvalidInputError(
            f"weights: expected ({n},) finite, >= 0, positive sum; found "
            f"{tuple(w.shape)}: {w}. Pass one weight per point of qs."
        )
    if not bool(torch.isfinite(qs).all()):
        raise InvalidInputError("qs: expected finite values; found NaN or inf. Drop those points.")
    w = w / w.sum()
    wb = w.reshape(n, *([1] * (qs.ndim - 1)))  # (N, 1, ..., 1)
    euclid = (wb * qs).sum(dim=0)  # (*batch, M, D)
    tiny = norm(euclid, keepdim=True) < SPHERE_NORM_EPS
    mu = normalize(torch.where(tiny, qs[0], euclid))
    n_iter = 0
    while True:
        direction = (wb * log_map(mu, qs)).sum(dim=0)  # (*batch, M, D)
        grad_norm = float(norm(direction).max())
        if grad_norm < tol or n_iter >= max_iter:
            break
        mu = exp_map(mu, step * direction)
        n_iter += 1
    return KarcherResult(mean=mu, n_iter=n_iter, converged=grad_norm < tol, grad_norm=grad_norm)


def parallel_transport(p: torch.Tensor, q: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Parallel transport of ``w`` from ``T_p`` to ``T_q`` along the minimising geodesic.

    With ``v = log_p(q)``, ``theta = ||v||``:
    ``PT(w) = w + <w, v> ((cos(theta) - 1) / theta^2 * v - sin(theta) / theta * p)``, with both
    coefficients by Taylor series near ``theta = 0`` (``PT`` is the identity at ``q = p``). For
    ``q = -p`` the geodesic is the deterministic one chosen by :func:`log_map`. Preserves norms and
    inner products; used e.g. to move an expression offset from one SRVF to another.

    Parameters
    ----------
    p, q : (*batch, M, D) float
        Unit-norm end points (broadcastable).
    w : (*batch, M, D) float
        Tangent vector at ``p``; its normal component is removed first.

    Returns
    -------
    (*batch, M, D) float, tangent at ``q`` with ``||PT(w)|| = ||w||``.
    """
    w = project_to_tangent(p, w)
    v = log_map(p, q)  # (*batch, M, D)
    t2 = inner(v, v, keepdim=True)  # (*batch, 1, 1)
    a = -0.5 * _sinc_cos(t2 / 4)[0] ** 2  # (cos(t) - 1) / t^2 = -2 sin^2(t/2) / t^2
    b = _sinc_cos(t2)[0]
    return w + inner(w, v, keepdim=True) * (a * v - b * p)
