"""core.mesh.face_parts: the teeth's geometry (arches of crowns behind the lips) and how the
arches follow the skull and the jaw."""

from __future__ import annotations

import numpy as np
import pytest

from core.assets import load_face, load_landmarks
from core.mesh.face_parts import TeethRig, rigid_fit, teeth_meshes


@pytest.fixture(scope="module")
def face():
    f = load_face()
    return f.vertices.astype(np.float64), np.asarray(load_landmarks().indices)


def _rot_x(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def test_rigid_fit_recovers_a_rotation_and_translation():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(8, 3))
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.linalg.det(q))  # proper rotation
    b = a @ q.T + [0.1, -0.2, 0.3]
    m = rigid_fit(a, b)
    np.testing.assert_allclose(a @ m[:3, :3].T + m[:3, 3], b, atol=1e-10)
    np.testing.assert_allclose(np.linalg.det(m[:3, :3]), 1.0, atol=1e-12)


def test_arches_are_closed_outward_crowns_mirrored_about_the_mouth(face):
    v, lm = face
    cx = v[lm[48:68], 0].mean()
    for arch in teeth_meshes(v, lm):
        p, f, n = arch
        assert p.shape == n.shape and f.shape[1] == 3 and f.max() == len(p) - 1
        np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-9)
        # closed: every edge is shared by exactly two triangles
        edges = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
        assert np.all(np.unique(edges, axis=0, return_counts=True)[1] == 2)
        # wound counter-clockwise seen from outside: face normals agree with vertex normals
        fn = np.cross(p[f[:, 1]] - p[f[:, 0]], p[f[:, 2]] - p[f[:, 0]])
        assert np.all(np.einsum("fd,fd->f", fn, n[f].sum(1)) > 0)
        # mirror-symmetric about the mouth's centre line
        mirrored = p * [-1, 1, 1] + [2 * cx, 0, 0]
        d = np.sqrt(((mirrored[:, None] - p[None]) ** 2).sum(-1)).min(1)
        assert d.max() < 1e-9
        assert 2 * 6 * 40 < len(f) < 2 * 6 * 200  # twelve crowns


def test_teeth_sit_behind_the_lips_inside_the_mouth(face):
    v, lm = face
    upper, lower = teeth_meshes(v, lm)
    lip_y = v[lm[[61, 62, 63, 65, 66, 67]], 1].max()  # the inner lips between the corners
    corners = v[lm[[48, 54]]]
    for p in (upper.points, lower.points):
        assert p[:, 1].min() > lip_y + 0.002  # behind the inner lips (the face looks to -y)
        assert p[:, 1].max() < lip_y + 0.05  # molars about 4 cm deep, not in the throat
        assert corners[0, 0] - 0.012 < p[:, 0].min() and p[:, 0].max() < corners[1, 0] + 0.012
        assert v[lm[8], 2] < p[:, 2].min() and p[:, 2].max() < v[lm[33], 2]  # chin, nose base
    # upper crowns above their biting edge, lower below it; the incisors overlap by 2 mm, the
    # upper in front of the lower (an overbite)
    lips_z = v[lm[60:68], 2].mean()
    assert upper.points[:, 2].max() > lips_z + 0.006 and lower.points[:, 2].min() < lips_z - 0.006
    cx = v[lm[48:68], 0].mean()
    up, lo = (p[np.abs(p[:, 0] - cx) < 0.006] for p in (upper.points, lower.points))
    np.testing.assert_allclose(lo[:, 2].max() - up[:, 2].min(), 0.002, atol=2e-4)
    assert up[:, 1].min() < lo[:, 1].min()


def test_neutral_frame_leaves_the_teeth_in_place(face):
    v, lm = face
    rig = TeethRig(v, lm)
    for m in rig.poses(v):
        np.testing.assert_allclose(m, np.eye(4), atol=1e-9)


def test_arches_follow_a_rigid_head_motion(face):
    v, lm = face
    rig = TeethRig(v, lm)
    r, t = _rot_x(0.2) @ np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]), [0.1, 0, 0]
    upper, lower = rig.placed(v @ r.T + t)
    np.testing.assert_allclose(upper.points, rig.upper.points @ r.T + t, atol=1e-9)
    np.testing.assert_allclose(lower.points, rig.lower.points @ r.T + t, atol=1e-9)
    np.testing.assert_allclose(upper.normals, rig.upper.normals @ r.T, atol=1e-9)


def test_lower_arch_turns_rigidly_with_the_jaw(face):
    v, lm = face
    rig = TeethRig(v, lm)
    hinge = v[lm[[0, 16]]].mean(0)
    jaw = np.r_[5:12, 55:60, 65:68]  # the chin line and the lower lips
    for angle in (0.05, 0.15, 0.3):  # the jaw opening by 3-17 degrees
        r = _rot_x(angle)  # the chin goes down (and back) about the hinge's x axis
        moved = v.copy()
        moved[lm[jaw]] = (v[lm[jaw]] - hinge) @ r.T + hinge
        skull, pose = rig.poses(moved)
        np.testing.assert_allclose(skull, np.eye(4), atol=1e-9)  # the upper arch stays
        upper, lower = rig.placed(moved)
        np.testing.assert_allclose(upper.points, rig.upper.points, atol=1e-9)
        np.testing.assert_allclose(
            lower.points, (rig.lower.points - hinge) @ r.T + hinge, atol=1e-9
        )
        # rigidly: the arch keeps its shape, and it went down
        d0 = np.linalg.norm(rig.lower.points[::7, None] - rig.lower.points[None, ::7], axis=-1)
        d1 = np.linalg.norm(lower.points[::7, None] - lower.points[None, ::7], axis=-1)
        np.testing.assert_allclose(d1, d0, atol=1e-9)
        lever = (hinge[1] - rig.lower.points[:, 1]).mean()  # the arch is in front of the hinge
        drop = rig.lower.points[:, 2].mean() - lower.points[:, 2].mean()
        assert lever > 0.01 and drop > 0.5 * angle * lever


def test_light_reaches_the_teeth_only_through_an_opening(face):
    v, lm = face
    rig = TeethRig(v, lm)
    assert rig.light(v) == 0.0  # the neutral's lips are parted by a 1.7 mm slit: in shadow
    lights = []
    for gap in (0.001, 0.002, 0.003, 0.004, 0.006):
        moved = v.copy()
        moved[lm[65:68], 2] -= gap  # the inner lower lip down
        lights.append(rig.light(moved))
    assert lights[0] < 0.1 and lights[-1] == 1.0 and np.all(np.diff(lights) >= 0)
    assert 0.1 < lights[2] < 0.9  # smoothly in between
