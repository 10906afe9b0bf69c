"""Smooth drags (``DragPlan(mode="smooth")``): neighbours follow with a smooth falloff, and the
lip and eyelid drags that fold the face in direct mode stay clean with the shipped decoder."""

import numpy as np
import pytest

from core.assets import load_face, load_landmarks
from core.errors import InvalidInputError
from core.eval.drag import MAX_FLIPPED, MAX_VERTEX_RATIO, drag_targets, score_drags
from core.pipeline import DEFAULT_DECODER, S2DPipeline
from core.sculpt import SMOOTH_RADIUS, DragPlan, falloff_weights, smooth_radius


def test_falloff_weights_are_one_at_the_centre_and_zero_beyond_the_radius():
    p = np.array([[0.0, 0, 0], [0.005, 0, 0], [0.010, 0, 0], [0.020, 0, 0], [-0.005, 0, 0]])
    w = falloff_weights(p, [0], 0.010)
    np.testing.assert_allclose(w[0], [1.0, (1 - 0.25) ** 2, 0.0, 0.0, (1 - 0.25) ** 2])
    # two centres reaching one point: it moves at most by the larger weight
    w2 = falloff_weights(p, [1, 4], 0.010)
    assert w2.shape == (2, 5)
    np.testing.assert_allclose(w2[:, [1, 4]], np.eye(2))
    assert w2[:, 0].sum() == pytest.approx((1 - 0.25) ** 2)  # not twice that
    with pytest.raises(InvalidInputError, match="radius must be positive"):
        falloff_weights(p, [0], 0.0)


def test_smooth_plan_moves_neighbours_keeps_pins_and_far_landmarks():
    lms = load_landmarks()
    p0 = load_face().vertices[lms.indices].astype(np.float64)
    k = 57  # lower lip
    d = np.array([0.0, 0.0, -0.01])
    near = np.linalg.norm(p0 - p0[k], axis=1) < SMOOTH_RADIUS
    pin = int(np.flatnonzero(near & (np.arange(68) != k))[0])
    delta = DragPlan(k, lms.mirror, "smooth", positions=p0, pins=[pin]).delta(d)
    np.testing.assert_allclose(delta[k], d)
    assert np.all(delta[~near] == 0.0) and np.all(delta[pin] == 0.0)
    moved = near.copy()
    moved[[k, pin]] = False
    assert moved.any()
    w = delta[moved, 2] / d[2]  # same direction, a share of the drag
    assert np.all((w > 0) & (w < 1)) and np.all(delta[moved, :2] == 0.0)
    # symmetric: the mirror landmark gets the mirrored drag
    sym = DragPlan(48, lms.mirror, "smooth", positions=p0, symmetric=True).delta([0.01, 0, 0])
    np.testing.assert_allclose(sym[lms.mirror[48]], [-0.01, 0, 0])
    with pytest.raises(InvalidInputError, match=r"smooth sculpting needs the \(68, 3\)"):
        DragPlan(k, lms.mirror, "smooth")


def test_smooth_radius_scales_with_the_face_and_is_15_mm_on_the_default_face():
    lms = load_landmarks()
    p0 = load_face().vertices[lms.indices].astype(np.float64)
    assert smooth_radius(p0) == SMOOTH_RADIUS  # exactly: the benchmark's face is unchanged
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    child = 0.6 * p0 @ q.T + [0.1, -0.2, 0.3]  # smaller, turned and moved
    assert smooth_radius(child) == pytest.approx(0.6 * SMOOTH_RADIUS, rel=1e-12)
    # one misplaced landmark barely changes the size
    wrong = p0.copy()
    wrong[30] += [0.0, 0.0, 0.02]
    assert abs(smooth_radius(wrong) / SMOOTH_RADIUS - 1) < 0.05
    # the same drag, scaled, moves the same landmarks by the same shares on both faces
    for k in (57, 37, 19):
        d = np.array([0.0, 0.0, -0.01])
        adult = DragPlan(k, lms.mirror, "smooth", positions=p0)
        small = DragPlan(k, lms.mirror, "smooth", positions=child)
        assert adult.radius == SMOOTH_RADIUS and small.radius == pytest.approx(0.009)
        np.testing.assert_allclose(small.delta(0.6 * d), 0.6 * adult.delta(d), atol=1e-12)
        # a fixed 15 mm radius would move more of the small face (the old behaviour)
        fixed = DragPlan(k, lms.mirror, "smooth", positions=child, radius=SMOOTH_RADIUS)
        assert fixed.radius == SMOOTH_RADIUS
        assert (fixed.delta(d)[:, 2] != 0).sum() > (small.delta(d)[:, 2] != 0).sum()
    assert DragPlan(57, lms.mirror, "direct").radius is None
    with pytest.raises(InvalidInputError, match="not all at one point"):
        smooth_radius(np.zeros((68, 3)))
    with pytest.raises(InvalidInputError, match=r"\(K, 3\) landmarks"):
        smooth_radius(np.zeros((68, 2)))


@pytest.mark.skipif(not DEFAULT_DECODER.is_file(), reason="no shipped decoder")
def test_lip_and_eyelid_drags_that_fold_in_direct_mode_are_clean_in_smooth_mode():
    """Direct mode folds 48+x, 62+x/-x and 41+x (bench_drag.py); smooth mode must not."""
    face, lms = load_face(), load_landmarks()
    pipe = S2DPipeline.load(device="cpu")
    v0 = face.vertices.astype(np.float64)
    p0 = v0[lms.indices]

    def spread(k, drag):
        return DragPlan(k, lms.mirror, "smooth", positions=p0).delta(drag)

    d = 0.01
    targets, lm, dirs = drag_targets(p0, d, (48, 62, 41), spread)
    decoded = pipe.decode(face.vertices, targets).astype(np.float64)
    res = score_drags(v0, face.faces, lms.indices, decoded, targets, lm, dirs, d)
    assert len(res.flipped) == 12
    assert res.flipped.max() <= MAX_FLIPPED and res.worst_ratio.max() <= MAX_VERTEX_RATIO
    assert res.reached.max() < 5e-4
