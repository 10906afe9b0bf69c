"""Sphere geometry: invariants, numpy references, singular cases and finite gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core.errors import InvalidInputError
from core.geometry import (
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

F64 = torch.float64
SHAPE = (5, 6)  # (M, D): small stand-in for (T-1, 204)


def _points(n: int, seed: int = 0, dtype=F64, shape=SHAPE) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return normalize(torch.randn(n, *shape, generator=g, dtype=dtype))


def _tangent(p: torch.Tensor, scale: float, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    w = project_to_tangent(p, torch.randn(p.shape, generator=g, dtype=p.dtype))
    return scale * w / norm(w, keepdim=True)


def _np_log(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Textbook eq. 8 for well-separated unit points (flattened)."""
    c = float(np.dot(p.ravel(), q.ravel()))
    u = q - c * p
    return np.arccos(c) * u / np.linalg.norm(u)


def _np_exp(p: np.ndarray, w: np.ndarray) -> np.ndarray:
    t = np.linalg.norm(w)
    return np.cos(t) * p + np.sin(t) * w / t


def _finite_grads(fn, *inputs) -> bool:
    xs = [x.detach().clone().requires_grad_(True) for x in inputs]
    out = fn(*xs)
    weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(9), dtype=out.dtype)
    grads = torch.autograd.grad((out * weights).sum(), xs, allow_unused=True)
    return torch.isfinite(out).all() and all(g is None or torch.isfinite(g).all() for g in grads)


def test_inner_and_norm_reduce_last_two_dims():
    a = torch.arange(12, dtype=F64).reshape(2, 2, 3)
    assert inner(a, a).shape == (2,) and inner(a, a, keepdim=True).shape == (2, 1, 1)
    assert float(inner(a, a)[0]) == sum(i * i for i in range(6))
    torch.testing.assert_close(norm(a), a.flatten(1).norm(dim=1))
    torch.testing.assert_close(norm(normalize(a)), torch.ones(2, dtype=F64))


def test_log_exp_match_numpy_reference():
    p, q = _points(2, seed=2)
    ours = log_map(p, q).numpy()
    np.testing.assert_allclose(ours, _np_log(p.numpy(), q.numpy()), rtol=0, atol=1e-13)
    w = _tangent(p, 1.3)
    np.testing.assert_allclose(
        exp_map(p, w).numpy(), _np_exp(p.numpy(), w.numpy()), rtol=0, atol=1e-13
    )


@pytest.mark.parametrize("dtype, atol", [(torch.float64, 1e-10), (torch.float32, 2e-5)])
def test_exp_of_log_is_identity(dtype, atol):
    p = _points(1, seed=3, dtype=dtype)[0]
    # targets at angles from 1e-9 to pi - 1e-5, plus random ones
    angles = [1e-9, 1e-6, 1e-3, 0.3, 1.5, 2.9, math.pi - 1e-3, math.pi - 1e-5]
    qs = torch.stack([exp_map(p, _tangent(p, a, seed=i)) for i, a in enumerate(angles)])
    qs = torch.cat([qs, _points(6, seed=4, dtype=dtype)])
    v = log_map(p, qs)
    torch.testing.assert_close(exp_map(p, v), qs, rtol=0, atol=atol)
    torch.testing.assert_close(inner(p, v), torch.zeros(len(qs), dtype=dtype), rtol=0, atol=atol)
    torch.testing.assert_close(norm(v), distance(p, qs), rtol=0, atol=atol)


def test_log_at_p_and_at_antipode():
    p = _points(3, seed=5)
    torch.testing.assert_close(log_map(p, p), torch.zeros_like(p), rtol=0, atol=1e-15)
    v = log_map(p, -p)
    assert torch.isfinite(v).all()
    torch.testing.assert_close(norm(v), torch.full((3,), math.pi, dtype=F64), rtol=0, atol=1e-12)
    torch.testing.assert_close(inner(p, v), torch.zeros(3, dtype=F64), rtol=0, atol=1e-12)
    torch.testing.assert_close(log_map(p, -p), v, rtol=0, atol=0)  # deterministic
    torch.testing.assert_close(exp_map(p, v), -p, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_finite_gradients_at_singular_points(dtype):
    p = _points(2, seed=6, dtype=dtype)
    noise = torch.randn(p.shape, generator=torch.Generator().manual_seed(7), dtype=dtype)
    near_p = normalize(p + 1e-9 * noise)
    anti = -p
    near_anti = normalize(-p + 1e-9 * noise)
    for q in (p.clone(), near_p, anti, near_anti):
        assert _finite_grads(log_map, p, q)
        assert _finite_grads(distance, p, q)
        assert _finite_grads(parallel_transport, p, q, _tangent(p, 0.5))
    assert _finite_grads(exp_map, p, torch.zeros_like(p))
    assert _finite_grads(exp_map, p, 1e-12 * noise)
    assert _finite_grads(geodesic, p, p.clone(), torch.tensor([0.0, 0.5, 1.0], dtype=dtype))


def test_gradients_at_w_zero_are_correct():
    """d exp_p(w)/dw at w = 0 is the identity on T_p (numerically, not just finite)."""
    p = _points(1, seed=8)[0]
    w = torch.zeros_like(p, requires_grad=True)
    t = _tangent(p, 1.0)
    (g,) = torch.autograd.grad((exp_map(p, w) * t).sum(), w)
    torch.testing.assert_close(g, t, rtol=0, atol=1e-12)


def test_gradcheck_generic_points():
    p, q = _points(2, seed=10, shape=(2, 3))
    w = _tangent(p, 0.7)
    args = [x.clone().requires_grad_(True) for x in (p, q, w)]
    assert torch.autograd.gradcheck(log_map, (args[0], args[1]))
    assert torch.autograd.gradcheck(exp_map, (args[0], args[2]))
    assert torch.autograd.gradcheck(distance, (args[0], args[1]))
    assert torch.autograd.gradcheck(parallel_transport, tuple(args))
    small = (1e-3 * w).requires_grad_(True)  # Taylor branch of exp
    assert torch.autograd.gradcheck(exp_map, (args[0], small))


def test_acos_linear_extrapolation():
    x = torch.linspace(-0.999, 0.999, 101, dtype=F64)
    torch.testing.assert_close(acos_linear_extrapolation(x), torch.acos(x), rtol=0, atol=1e-15)
    edge = torch.tensor([-1.5, -1.0, -1 + 1e-9, 1 - 1e-9, 1.0, 1.5], dtype=F64, requires_grad=True)
    y = acos_linear_extrapolation(edge)
    (g,) = torch.autograd.grad(y.sum(), edge)
    assert torch.isfinite(y).all() and torch.isfinite(g).all() and (g < 0).all()
    assert abs(float(acos_linear_extrapolation(torch.tensor(1.0))) - 0.0) < 3e-4
    # continuous at the bound
    b = 1 - 1e-7
    pair = acos_linear_extrapolation(torch.tensor([b - 1e-12, b + 1e-12], dtype=F64))
    assert abs(float(pair[0] - pair[1])) < 1e-8
    with pytest.raises(InvalidInputError, match="bound"):
        acos_linear_extrapolation(x, bound=1.0)


def test_distance_metric_properties():
    a, b, c = _points(3, seed=11, shape=(20, 5, 6)).unbind(0)  # 20 random triples each
    torch.testing.assert_close(distance(a, b), distance(b, a), rtol=0, atol=0)
    assert (distance(a, c) <= distance(a, b) + distance(b, c) + 1e-12).all()
    ref = np.arccos(np.clip((a * b).sum(dim=(-2, -1)).numpy(), -1, 1))
    np.testing.assert_allclose(distance(a, b).numpy(), ref, rtol=0, atol=1e-12)
    torch.testing.assert_close(distance(a, a), torch.zeros(20, dtype=F64), rtol=0, atol=1e-15)
    torch.testing.assert_close(distance(a, -a), torch.full((20,), math.pi, dtype=F64))
    # accurate at tiny angles, where acos(<p, q>) would return 0 or noise
    q = exp_map(a, _tangent(a, 1e-10))
    torch.testing.assert_close(
        distance(a, q), torch.full((20,), 1e-10, dtype=F64), rtol=1e-5, atol=0
    )


def test_geodesic_path():
    q1, q2 = _points(2, seed=12, shape=(3, 5, 6)).unbind(0)  # batch of 3 pairs
    tau = torch.linspace(0, 1, 11, dtype=F64)
    psi = geodesic(q1, q2, tau)
    assert psi.shape == (11, 3, 5, 6)
    torch.testing.assert_close(psi[0], q1, rtol=0, atol=1e-12)
    torch.testing.assert_close(psi[-1], q2, rtol=0, atol=1e-12)
    torch.testing.assert_close(norm(psi), torch.ones(11, 3, dtype=F64), rtol=0, atol=1e-12)
    d = distance(q1, q2)
    torch.testing.assert_close(distance(q1, psi), tau[:, None] * d, rtol=0, atol=1e-12)
    # the paper's slerp formula (Sec. 4.4)
    th = d[:, None, None]
    slerp = (torch.sin((1 - 0.3) * th) * q1 + torch.sin(0.3 * th) * q2) / torch.sin(th)
    torch.testing.assert_close(geodesic(q1, q2, 0.3), slerp, rtol=0, atol=1e-12)
    torch.testing.assert_close(geodesic(q1, q2, torch.tensor(0.3, dtype=F64)), slerp)
    # identical end points: constant path, no 0/0
    torch.testing.assert_close(geodesic(q1, q1, tau), q1.expand(11, 3, 5, 6), rtol=0, atol=1e-15)
    with pytest.raises(InvalidInputError, match="tau"):
        geodesic(q1, q2, torch.zeros(2, 2))


def test_karcher_mean_of_symmetric_points_is_the_centre():
    centre = _points(1, seed=13)[0]
    ws = torch.stack([_tangent(centre, 0.4 + 0.1 * i, seed=20 + i) for i in range(4)])
    pts = torch.cat([exp_map(centre, ws), exp_map(centre, -ws)])  # (8, M, D) symmetric about centre
    res = karcher_mean(pts)
    assert res.converged and res.grad_norm < 1e-7
    torch.testing.assert_close(res.mean, centre, rtol=0, atol=1e-10)
    # a non-symmetric start: weights (1, 3) on two points -> the point 3/4 along the geodesic
    a, b = _points(2, seed=14)
    res = karcher_mean(torch.stack([a, b]), weights=torch.tensor([1.0, 3.0]))
    torch.testing.assert_close(res.mean, geodesic(a, b, 0.75), rtol=0, atol=1e-8)
    assert res.n_iter > 0


def test_karcher_mean_batched_matches_unbatched_and_validates():
    pts = _points(6, seed=15, shape=(2, 5, 6))  # (N=6, B=2, M, D)
    pts = normalize(pts + 3 * pts[:1])  # clustered, mean unique
    res = karcher_mean(pts, tol=1e-12)
    assert res.converged
    for i in range(2):
        ref = karcher_mean(pts[:, i], tol=1e-12).mean
        torch.testing.assert_close(res.mean[i], ref, rtol=0, atol=1e-11)
    with pytest.raises(InvalidInputError, match="weights"):
        karcher_mean(pts, weights=torch.tensor([1.0, -1.0, 0, 0, 0, 0]))
    bad = pts.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(InvalidInputError, match="finite"):
        karcher_mean(bad)


def test_parallel_transport_preserves_norm_and_tangency():
    p, q = _points(2, seed=16, shape=(4, 5, 6)).unbind(0)
    w1, w2 = _tangent(p, 0.8, seed=17), _tangent(p, 1.1, seed=18)
    t1, t2 = parallel_transport(p, q, w1), parallel_transport(p, q, w2)
    torch.testing.assert_close(inner(q, t1), torch.zeros(4, dtype=F64), rtol=0, atol=1e-12)
    torch.testing.assert_close(norm(t1), norm(w1), rtol=0, atol=1e-12)
    torch.testing.assert_close(inner(t1, t2), inner(w1, w2), rtol=0, atol=1e-12)
    # the geodesic's own velocity: log_p(q) is carried to -log_q(p)
    torch.testing.assert_close(
        parallel_transport(p, q, log_map(p, q)), -log_map(q, p), atol=1e-10, rtol=0
    )
    torch.testing.assert_close(parallel_transport(p, p, w1), w1, rtol=0, atol=1e-15)
    anti = parallel_transport(p, -p, w1)  # deterministic geodesic; still an isometry
    torch.testing.assert_close(norm(anti), norm(w1), rtol=0, atol=1e-12)


def test_wrong_ndim_raises():
    with pytest.raises(InvalidInputError, match=r"expected a floating torch.Tensor with >= 2 dims"):
        log_map(torch.ones(4, dtype=F64), torch.ones(4, dtype=F64))
    with pytest.raises(InvalidInputError, match=r"found shape \(2, 3\), torch.int64"):
        exp_map(torch.ones(2, 3, dtype=torch.int64), torch.ones(2, 3, dtype=F64))
    with pytest.raises(InvalidInputError, match=r">= 3 dims"):
        karcher_mean(torch.ones(2, 3, dtype=F64))
