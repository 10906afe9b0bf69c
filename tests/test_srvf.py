"""SRVF of landmark motions: sphere membership, exact inverse, singular cases, input errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import InvalidInputError
from core.geometry import curve_to_srvf, inner, is_static, srvf_to_curve
from core.tolerances import GEOM_ATOL, SRVF_SPEED_EPS

F64 = torch.float64


def _curves(b: int = 3, t: int = 30, d: int = 204, seed: int = 0, dtype=F64) -> torch.Tensor:
    """Random-walk motions (B, T, D) with a non-trivial start frame."""
    g = torch.Generator().manual_seed(seed)
    steps = torch.randn(b, t, d, generator=g, dtype=dtype) * 0.01
    return steps.cumsum(dim=1) + torch.randn(b, 1, d, generator=g, dtype=dtype)


def _numpy_srvf(x: np.ndarray) -> tuple[np.ndarray, float]:
    """Plain-loop reference of the documented definition for one curve (T, D)."""
    t = x.shape[0]
    h = 1.0 / (t - 1)
    v = [(x[i + 1] - x[i]) / h for i in range(t - 1)]
    speeds = [np.sqrt(np.sum(vi**2)) for vi in v]
    length = h * sum(speeds)
    q = np.stack([np.sqrt(h / length) * vi / np.sqrt(si) for vi, si in zip(v, speeds, strict=True)])
    return q, length


def test_shapes_batched_and_unbatched():
    x = _curves(b=2, t=7, d=6)
    q, length = curve_to_srvf(x)
    assert q.shape == (2, 6, 6) and length.shape == (2,)
    q1, l1 = curve_to_srvf(x[1])
    assert q1.shape == (6, 6) and l1.shape == ()
    torch.testing.assert_close(q1, q[1], rtol=0, atol=1e-15)
    assert srvf_to_curve(q1, x[1, 0], l1).shape == (7, 6)


@pytest.mark.parametrize("dtype, atol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_srvf_has_unit_norm(dtype, atol):
    q, _ = curve_to_srvf(_curves(b=5, dtype=dtype))
    assert q.dtype == dtype
    torch.testing.assert_close(inner(q, q), torch.ones(5, dtype=dtype), rtol=0, atol=atol)


def test_matches_numpy_reference():
    x = _curves(b=2, t=9, d=12, seed=3)
    q, length = curve_to_srvf(x)
    for i in range(2):
        q_ref, l_ref = _numpy_srvf(x[i].numpy())
        np.testing.assert_allclose(q[i].numpy(), q_ref, rtol=0, atol=1e-13)
        assert abs(float(length[i]) - l_ref) < 1e-12
        # length is the polyline length of the frames
        poly = np.linalg.norm(np.diff(x[i].numpy(), axis=0), axis=1).sum()
        assert abs(float(length[i]) - poly) < 1e-12


def test_round_trip_is_exact_float64():
    x = _curves(b=4)
    q, length = curve_to_srvf(x)
    torch.testing.assert_close(srvf_to_curve(q, x[:, 0], length), x, rtol=0, atol=1e-10)


def test_round_trip_float32():
    x = _curves(b=2, dtype=torch.float32)
    q, length = curve_to_srvf(x)
    torch.testing.assert_close(srvf_to_curve(q, x[:, 0], length), x, rtol=0, atol=1e-5)


def test_invariances_and_transfer_to_other_start():
    x = _curves(b=2, t=10, d=9)
    q, length = curve_to_srvf(x)
    q2, length2 = curve_to_srvf(2.5 * x + 3.0)
    torch.testing.assert_close(q2, q, rtol=0, atol=1e-12)
    torch.testing.assert_close(length2, 2.5 * length, rtol=1e-12, atol=0)
    # applying the motion to another start frame translates the whole curve
    other = torch.zeros(2, 9, dtype=F64)
    moved = srvf_to_curve(q, other, length)
    torch.testing.assert_close(moved, x - x[:, :1], rtol=0, atol=1e-10)
    # scalar length broadcasts
    assert srvf_to_curve(q, other, 1.0).shape == x.shape


def test_repeated_frames_round_trip_and_finite_gradient():
    x = _curves(b=2, t=12, d=6)
    x[:, 5] = x[:, 4]  # zero-velocity segment
    x[1, 8:] = x[1, 7]  # a hold at the end
    x.requires_grad_(True)
    q, length = curve_to_srvf(x)
    assert torch.isfinite(q).all() and torch.isfinite(length).all()
    assert torch.count_nonzero(q[:, 4]) == 0  # exactly zero SRVF on the repeated frame
    torch.testing.assert_close(inner(q, q), torch.ones(2, dtype=F64), rtol=0, atol=1e-12)
    rebuilt = srvf_to_curve(q, x[:, 0], length)
    torch.testing.assert_close(rebuilt, x, rtol=0, atol=1e-10)
    loss = (q * torch.randn_like(q)).sum() + length.sum() + rebuilt.square().sum()
    (grad,) = torch.autograd.grad(loss, x)
    assert torch.isfinite(grad).all()


def test_tiny_but_nonzero_speed_is_guarded_within_tolerance():
    x = _curves(b=1, t=8, d=6)
    x[:, 3] = x[:, 2] + 1e-12  # speed ~ 1e-11 * 7 < SRVF_SPEED_EPS
    q, length = curve_to_srvf(x)
    torch.testing.assert_close(inner(q, q), torch.ones(1, dtype=F64), rtol=0, atol=1e-12)
    torch.testing.assert_close(srvf_to_curve(q, x[:, 0], length), x, rtol=0, atol=GEOM_ATOL)


def test_gradcheck_small_curve():
    x = _curves(b=1, t=4, d=3, seed=5).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda c: curve_to_srvf(c)[0], (x,))
    q, length = curve_to_srvf(x.detach())
    qq = q.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a: srvf_to_curve(a, x[:, 0].detach(), length), (qq,))


def test_static_curves():
    x = _curves(b=3, t=5, d=6)
    x[1] = x[1, :1]  # all frames equal
    x[2, 1:] = x[2, :1] + SRVF_SPEED_EPS * 1e-3  # moves, but slower than eps
    assert is_static(x).tolist() == [False, True, True]
    assert bool(is_static(x[1])) and not bool(is_static(x[0]))
    with pytest.raises(InvalidInputError, match=r"all-static curve\(s\) at batch index \[1, 2\]"):
        curve_to_srvf(x)
    q, _ = curve_to_srvf(x[:1])  # the moving one alone is fine
    assert torch.isfinite(q).all()


@pytest.mark.parametrize(
    "bad, pattern",
    [
        (
            torch.zeros(30, dtype=F64),
            r"expected shape \(B, T, D\) or \(T, D\); found shape \(30,\)",
        ),
        (torch.zeros(2, 3, 30, 6, dtype=F64), r"found shape \(2, 3, 30, 6\)"),
        (torch.zeros(1, 1, 6, dtype=F64), r"at least T = 2 frames"),
        (torch.zeros(2, 5, 6, dtype=torch.int64), r"expected a floating dtype; found torch.int64"),
        (np.zeros((5, 6)), r"expected a torch.Tensor .* found ndarray"),
    ],
)
def test_invalid_curves_raise(bad, pattern):
    with pytest.raises(InvalidInputError, match=pattern):
        curve_to_srvf(bad)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_curves_raise(value):
    x = _curves(b=1, t=5, d=6)
    x[0, 2, 3] = value
    with pytest.raises(InvalidInputError, match="expected finite values; found NaN or inf"):
        curve_to_srvf(x)
    with pytest.raises(InvalidInputError, match="expected finite values"):
        is_static(x)


def test_srvf_to_curve_validates_inputs():
    q, length = curve_to_srvf(_curves(b=2, t=5, d=6))
    start = torch.zeros(2, 6, dtype=F64)
    with pytest.raises(InvalidInputError, match=r"start: expected shape \(2, 6\)"):
        srvf_to_curve(q, torch.zeros(3, 6, dtype=F64), length)
    with pytest.raises(InvalidInputError, match=r"start: expected shape \(D,\)"):
        srvf_to_curve(q[0], start, length[0])
    with pytest.raises(InvalidInputError, match=r"length: expected shape \(\) or \(2,\)"):
        srvf_to_curve(q, start, torch.ones(3, dtype=F64))
    with pytest.raises(InvalidInputError, match="length: expected finite values"):
        srvf_to_curve(q, start, float("nan"))
    bad = q.clone()
    bad[0, 0, 0] = float("nan")
    with pytest.raises(InvalidInputError, match="q: expected finite values"):
        srvf_to_curve(bad, start, length)
