"""Drag robustness of the shipped decoder on a few landmarks (issue 10's protocol, small).

The full benchmark is ``python tests/benchmarks/bench_drag.py`` (68 landmarks x 4 directions x
3 distances); here a chin, nose, brow, lip and jaw drag of 10 mm each must stay clean (<= 10
flipped triangles, no vertex moving more than 2.5x the drag) and reach its target within 0.5 mm.
"""

import numpy as np
import pytest

from core.assets import load_face, load_landmarks
from core.eval.drag import MAX_FLIPPED, MAX_VERTEX_RATIO, drag_targets, score_drags
from core.geometry.fold_repair import face_normals
from core.pipeline import DEFAULT_DECODER, S2DPipeline

pytestmark = pytest.mark.skipif(not DEFAULT_DECODER.is_file(), reason="no shipped decoder")

LANDMARKS = (8, 19, 30, 57, 3)  # chin, right brow, nose tip, lower lip, right jaw


@pytest.fixture(scope="module")
def result():
    face, lms = load_face(), load_landmarks()
    pipe = S2DPipeline.load(device="cpu")
    v0 = face.vertices.astype(np.float64)
    d = 0.01
    targets, lm, dirs = drag_targets(v0[lms.indices], d, LANDMARKS)
    decoded = pipe.decode(face.vertices, targets).astype(np.float64)
    return score_drags(v0, face.faces, lms.indices, decoded, targets, lm, dirs, d)


def test_few_drags_are_clean_and_reach_their_target(result):
    assert len(result.flipped) == 4 * len(LANDMARKS)
    bad = [
        f"{k}{s}: {f} flips, {r:.2f}x"
        for k, s, f, r in zip(
            result.landmark, result.direction, result.flipped, result.worst_ratio, strict=True
        )
        if f > MAX_FLIPPED or r > MAX_VERTEX_RATIO
    ]
    assert not bad
    assert result.reached.max() < 5e-4


def test_flip_count_sees_a_turned_triangle():
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], float)
    f = np.array([[0, 1, 2]])
    flipped = v.copy()
    flipped[2, 1] = -1.0  # the triangle folds over its edge 0-1
    n0, n1 = face_normals(v, f), face_normals(flipped[None], f)
    assert (n1 * n0).sum(-1)[0, 0] < 0
    targets, lm, dirs = drag_targets(np.zeros((68, 3)), 0.005, [3])
    assert targets.shape == (4, 68, 3) and list(lm) == [3] * 4
    np.testing.assert_allclose(np.abs(targets).sum((1, 2)), 0.005)
