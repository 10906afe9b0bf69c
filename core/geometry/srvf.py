"""Square-Root Velocity Function of a landmark motion (paper eq. 1 and its inverse, eq. 5).

A motion is a curve ``X`` of shape ``(B, T, D)`` (``D = 3K = 204`` flattened, interleaved xyz per
frame; an unbatched ``(T, D)`` is accepted and gives unbatched results), sampled at
``t_i = i / (T - 1)`` on ``[0, 1]``.

Discretisation (a deliberate deviation from the official code): the curve is piecewise linear and
its velocity is the FORWARD difference ``v_i = (X_{i+1} - X_i) / h``, ``h = 1 / (T - 1)``,
``i = 0..T-2``, so the SRVF has ``T - 1`` samples and the inverse is exact. The official MATLAB
``curve_to_q`` uses central differences (``gradient``) with spacing ``1/T`` and ``cumtrapz`` to
invert, which rebuilds a curve with ~6.6 % error.

Scale and sphere: with speeds ``s_i = ||v_i||`` the length is ``L = h sum_i s_i`` and the stored
SRVF is ``q_i = sqrt(h / L) v_i / sqrt(s_i)``, shape ``(B, T-1, D)``, so that
``sum_{i,d} q[i, d]^2 = 1``: the unit sphere of the plain Euclidean inner product over the last two
dims used by :mod:`core.geometry.sphere`. The inverse is ``X_{k} = X_0 + L sum_{i<k} ||q_i|| q_i``.

Singular cases:

- A segment with speed ``s_i <= eps`` (e.g. a repeated frame) uses ``v_i / sqrt(eps)`` instead of
  ``v_i / sqrt(s_i)`` (continuous at ``s_i = eps``, finite value and gradient; exactly 0 for a
  repeated frame) and ``q`` is then renormalised onto the sphere. A curve whose zero-speed segments
  are exact repeats still round-trips exactly; segments with ``0 < s_i <= eps`` cost ``O(eps)``.
- A fully static curve (every ``s_i <= eps``) has no direction and no point on the sphere
  represents it (``q = 0`` is off the sphere): :func:`curve_to_srvf` raises
  :class:`~core.errors.InvalidInputError`. Filter such samples beforehand with :func:`is_static`.
"""

from __future__ import annotations

import torch

from core.errors import InvalidInputError
from core.geometry.safe_math import safe_sqrt
from core.tolerances import SRVF_SPEED_EPS

__all__ = ["is_static", "curve_to_srvf", "srvf_to_curve"]


def _check_tensor(x: torch.Tensor, name: str, shape_doc: str, ndims: tuple[int, ...]) -> None:
    """Raise InvalidInputError unless ``x`` is a finite floating tensor with ``x.ndim in ndims``."""
    if not isinstance(x, torch.Tensor):
        raise InvalidInputError(
            f"{name}: expected a torch.Tensor of shape {shape_doc}; found {type(x).__name__}. "
            "Wrap it with torch.as_tensor(...)."
        )
    if x.ndim not in ndims:
        raise InvalidInputError(
            f"{name}: expected shape {shape_doc}; found shape {tuple(x.shape)}. "
            "Flatten landmarks (B, T, K, 3) with .reshape(B, T, -1)."
        )
    if not x.is_floating_point():
        raise InvalidInputError(
            f"{name}: expected a floating dtype; found {x.dtype}. Convert it with .double()."
        )
    if not bool(torch.isfinite(x).all()):
        raise InvalidInputError(
            f"{name}: expected finite values; found NaN or inf. Repair or drop the sample."
        )


def _velocity(curves: torch.Tensor) -> torch.Tensor:
    """Forward-difference velocity ``(X_{i+1} - X_i) * (T - 1)``: (B, T, D) -> (B, T-1, D)."""
    return (curves[..., 1:, :] - curves[..., :-1, :]) * (curves.shape[-2] - 1)


def _validate_curves(curves: torch.Tensor) -> None:
    _check_tensor(curves, "curves", "(B, T, D) or (T, D)", (2, 3))
    if curves.shape[-2] < 2 or curves.shape[-1] < 1:
        raise InvalidInputError(
            f"curves: expected at least T = 2 frames and D >= 1 values per frame; found shape "
            f"{tuple(curves.shape)}. Pass the whole sequence, frames along dim -2."
        )


def is_static(curves: torch.Tensor, eps: float = SRVF_SPEED_EPS) -> torch.Tensor:
    """Whether a curve never moves faster than ``eps`` (then it has no SRVF on the sphere).

    Parameters
    ----------
    curves : (B, T, D) or (T, D) float
        Landmark motions, frames at ``t_i = i / (T - 1)``.
    eps : float
        Speed threshold, in curve units per unit time (a frame step of ``delta`` is a speed of
        ``delta * (T - 1)``).

    Returns
    -------
    (B,) or () bool
        True where every segment speed is ``<= eps``.
    """
    _validate_curves(curves)
    sq = _velocity(curves).square().sum(dim=-1)  # (B, T-1) or (T-1,)
    return (sq <= eps * eps).all(dim=-1)


def curve_to_srvf(
    curves: torch.Tensor, eps: float = SRVF_SPEED_EPS
) -> tuple[torch.Tensor, torch.Tensor]:
    """SRVF on the unit sphere and length of landmark motions (eq. 1 with scale removed).

    Parameters
    ----------
    curves : (B, T, D) or (T, D) float
        Landmark motions, frames at ``t_i = i / (T - 1)``, ``T >= 2``.
    eps : float
        Speed below which the smooth guard ``v_i / sqrt(eps)`` is used (module docstring).

    Returns
    -------
    q : (B, T-1, D) or (T-1, D) float
        ``sqrt(h / L) v_i / sqrt(||v_i||)``; ``sum_{i,d} q^2 = 1`` per curve.
    length : (B,) or () float
        ``L = h sum_i ||v_i||``, the polyline length of the curve (the official "intensity" before
        any re-scaling). Translation invariant, scales linearly with the curve.

    Raises
    ------
    InvalidInputError
        Wrong type, shape or dtype; NaN/inf; fewer than 2 frames; an all-static curve.
    """
    _validate_curves(curves)
    unbatched = curves.ndim == 2
    x = curves.unsqueeze(0) if unbatched else curves  # (B, T, D)
    h = 1.0 / (x.shape[1] - 1)
    v = _velocity(x)  # (B, T-1, D)
    sq = v.square().sum(dim=-1, keepdim=True)  # (B, T-1, 1) squared speeds
    static = (sq.squeeze(-1) <= eps * eps).all(dim=-1)  # (B,)
    if bool(static.any()):
        idx = torch.nonzero(static).flatten().tolist()
        raise InvalidInputError(
            f"curves: expected every motion to move (some frame-to-frame speed > eps = {eps:g}); "
            f"found all-static curve(s) at batch index {idx[:10]}. A motionless sequence has no "
            "SRVF on the unit sphere: drop it (see is_static) or add the motion first."
        )
    q_raw = v * sq.clamp_min(eps * eps).pow(-0.25)  # v / sqrt(max(||v||, eps)), (B, T-1, D)
    q = q_raw * q_raw.square().sum(dim=(-2, -1), keepdim=True).rsqrt()  # onto the unit sphere
    length = h * safe_sqrt(sq).sum(dim=(-2, -1))  # (B,)
    if unbatched:
        return q[0], length[0]
    return q, length


def srvf_to_curve(
    q: torch.Tensor, start: torch.Tensor, length: float | torch.Tensor
) -> torch.Tensor:
    """Rebuild a curve from its SRVF, start frame and length (eq. 5, exact for forward differences).

    ``X_0 = start`` and ``X_{k+1} = X_k + L ||q_k|| q_k``, i.e. ``h v_k`` with
    ``v_k = (L / h) ||q_k|| q_k``. ``q`` is used as given (not renormalised): a ``q`` off the unit
    sphere yields a curve of length ``L ||q||^2``. Works with any start (expression transfer: the
    motion of one face applied to another's neutral landmarks).

    Parameters
    ----------
    q : (B, T-1, D) or (T-1, D) float
        SRVFs (e.g. from :func:`curve_to_srvf` or a generator); ``T`` is ``q.shape[-2] + 1``.
    start : (B, D) or (D,) float
        First frame of each curve (unbatched ``q`` needs ``(D,)``).
    length : float, () or (B,) float tensor
        Curve length(s) ``L``.

    Returns
    -------
    (B, T, D) or (T, D) float
        Curves, in the dtype of ``q``.

    Raises
    ------
    InvalidInputError
        Wrong type/shape/dtype or non-finite values in ``q``, ``start`` or ``length``.
    """
    _check_tensor(q, "q", "(B, T-1, D) or (T-1, D)", (2, 3))
    unbatched = q.ndim == 2
    qb = q.unsqueeze(0) if unbatched else q  # (B, T-1, D)
    b, _, d = qb.shape
    _check_tensor(start, "start", "(D,)" if unbatched else "(B, D)", (1,) if unbatched else (2,))
    sb = start.unsqueeze(0) if unbatched else start  # (B, D)
    if sb.shape != (b, d):
        raise InvalidInputError(
            f"start: expected shape {(d,) if unbatched else (b, d)} to match q {tuple(q.shape)}; "
            f"found {tuple(start.shape)}. Pass the first frame of each curve."
        )
    if not isinstance(length, torch.Tensor):
        length = torch.tensor(float(length))
    _check_tensor(length, "length", "() or (B,)", (0, 1))
    length = length.to(dtype=qb.dtype, device=qb.device)
    if length.ndim == 1 and length.shape[0] != b:
        raise InvalidInputError(
            f"length: expected shape () or ({b},) to match q {tuple(q.shape)}; found "
            f"{tuple(length.shape)}. Pass one length per curve."
        )
    speed = safe_sqrt(qb.square().sum(dim=-1, keepdim=True))  # (B, T-1, 1) = ||q_k||
    steps = length.reshape(-1, 1, 1) * speed * qb  # (B, T-1, D) = X_{k+1} - X_k
    first = sb.to(qb.dtype).unsqueeze(1)  # (B, 1, D)
    curves = torch.cat([first, first + torch.cumsum(steps, dim=1)], dim=1)  # (B, T, D)
    return curves[0] if unbatched else curves
