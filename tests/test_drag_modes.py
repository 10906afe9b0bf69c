"""Smooth drags (``DragPlan(mode="smooth")``): neighbours follow with a smooth falloff, and the
lip and eyelid drags that fold the face in direct mode stay clean with the shipped decoder."""

import numpy as np
import pytest

from core.assets import load_face, load_landmarks
from core.errors import InvalidInputError
from core.eval.drag import MAX_FLIPPED, MAX_VERTEX_RATIO, drag_targets, score_drags
from core.pipeline import DEFAULT_DECODER, S2DPipeline
from core.sculpt import SMOOTH_RADIUS, DragPlan, falloff_weights


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
