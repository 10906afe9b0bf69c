"""Eye colours of the command line's videos (core.mesh.albedo.eye_albedo) on spheres."""

import numpy as np
import trimesh

from core.mesh.albedo import IRIS_RGB, PUPIL_RGB, SCLERA_RGB, SKIN_RGB, eye_albedo


def _eyes():
    """Two 12 mm eyeballs at x = +-3 cm, the right one only a front cap (as a partial mesh)."""
    s = np.asarray(trimesh.creation.icosphere(subdivisions=3, radius=0.012).vertices)
    left = s + [-0.03, -0.1, 0.14]
    right = s[s[:, 1] < 0.004] + [0.03, -0.1, 0.14]  # front cap only: its mean is off-centre
    skin = np.array([[0.0, -0.12, 0.1], [0.0, -0.05, 0.2]])
    v = np.concatenate([left, right, skin])
    eyes = np.r_[np.ones(len(left) + len(right), bool), np.zeros(len(skin), bool)]
    return v, eyes, len(left)


def _colour_at(v, rgb, point):
    return rgb[np.linalg.norm(v - point, axis=1).argmin()].astype(float)


def test_pupil_in_front_iris_around_it_sclera_on_the_side():
    v, eyes, _ = _eyes()
    rgb = eye_albedo(v, eyes)
    assert rgb.shape == (len(v), 3) and rgb.dtype == np.uint8
    for cx in (-0.03, 0.03):  # the cap's centre is found by the sphere fit, not its mean
        front = np.array([cx, -0.112, 0.14])  # looking towards -y
        np.testing.assert_allclose(_colour_at(v, rgb, front), PUPIL_RGB, atol=1)
        at_20_deg = np.array([cx + 0.012 * np.sin(0.35), -0.1 - 0.012 * np.cos(0.35), 0.14])
        np.testing.assert_allclose(_colour_at(v, rgb, at_20_deg), IRIS_RGB, atol=1)
    side = np.array([-0.03 - 0.012, -0.1, 0.14])
    np.testing.assert_allclose(_colour_at(v, rgb, side), SCLERA_RGB, atol=1)
    # vertices that are not eyes are left at the sclera colour for the caller to overwrite
    assert not np.allclose(rgb[~eyes].astype(float), SKIN_RGB, atol=1)


def test_no_eyes_gives_sclera_everywhere():
    v, _, _ = _eyes()
    rgb = eye_albedo(v, np.zeros(len(v), bool))
    np.testing.assert_array_equal(rgb, np.broadcast_to(SCLERA_RGB.astype(np.uint8), rgb.shape))
