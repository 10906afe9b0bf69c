"""The shipped 68 landmarks follow the iBUG-68 (300-W) semantics, the jaw above all.

The jaw 0-16 runs along the visible outline of the lower face from the subject's right ear level
through the chin (8, the lowest) to the left ear level, ordered and roughly evenly spaced, and
well away from the lips (an earlier rule stopped its rays at the lip seam and put 6 jaw points on
the lips).
"""

import numpy as np
import pytest

from core.assets import load_face, load_landmarks

#: Consecutive jaw points may differ in spacing by at most this factor (measured: 1.55).
JAW_SPACING_RATIO = 2.0
#: Every jaw point is at least this far from every lip landmark (measured: 32 mm).
JAW_TO_LIPS_MIN = 0.02
#: Distinct landmarks (apart from the touching inner lips) are at least this far apart.
MIN_SEPARATION = 0.002


@pytest.fixture(scope="module")
def points():
    return load_face().vertices[load_landmarks().indices].astype(np.float64)  # (68, 3)


def test_jaw_runs_right_to_left_through_the_lowest_chin(points):
    jaw = points[:17]
    assert np.all(np.diff(jaw[:, 0]) > 0)  # subject's right (-x) to left (+x), in order
    assert int(np.argmin(jaw[:, 2])) == 8 and abs(jaw[8, 0]) < 1e-3  # chin: lowest, midline
    assert np.all(np.diff(jaw[:9, 2]) < 0) and np.all(np.diff(jaw[8:, 2]) > 0)  # down, then up
    # the ends sit at ear level: between the eyes' and the nose tip's heights
    eyes_z, tip_z = points[36:48, 2].mean(), points[30, 2]
    assert tip_z < jaw[0, 2] < eyes_z and tip_z < jaw[16, 2] < eyes_z
    # on the outline: wider than the brows and the eyes at the top, beside and below the mouth
    assert jaw[0, 0] < points[36, 0] and jaw[16, 0] > points[45, 0]
    assert jaw[8, 2] < points[48:68, 2].min() - JAW_TO_LIPS_MIN


def test_jaw_is_roughly_evenly_spaced(points):
    gaps = np.linalg.norm(np.diff(points[:17], axis=0), axis=1)  # (16,)
    assert gaps.max() / gaps.min() < JAW_SPACING_RATIO
    assert 0.008 < gaps.min() and gaps.max() < 0.03


def test_jaw_keeps_clear_of_the_lips(points):
    d = np.linalg.norm(points[:17, None] - points[None, 48:68], axis=-1)  # (17, 20)
    assert d.min() > JAW_TO_LIPS_MIN


def test_landmarks_are_distinct_points(points):
    d = np.linalg.norm(points[:, None] - points[None], axis=-1) + np.eye(68)
    mouth = np.zeros((68, 68), bool)
    mouth[48:68, 48:68] = True  # the closed mouth's inner lips touch, its corners nearly
    assert d[~mouth].min() > MIN_SEPARATION
    assert d[mouth].min() > 1e-3


def test_mirror_pairs_are_symmetric(points):
    lm = load_landmarks()
    np.testing.assert_allclose(points[lm.mirror] * np.array([-1.0, 1.0, 1.0]), points, atol=1e-6)
    assert all(lm.mirror[lm.mirror[i]] == i for i in range(68))
    assert [int(lm.mirror[i]) for i in range(17)] == list(range(16, -1, -1))
