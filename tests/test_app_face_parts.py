"""app.widgets.face_parts: mouth interior, lips, the teeth's actors and their motion, eyes.

The teeth's geometry itself is core's (tests/test_face_parts.py)."""

from __future__ import annotations

import numpy as np
import pytest

from app.widgets.face_parts import (
    FaceParts,
    eye_sphere,
    mouth_interior,
    skin_albedo,
    teeth_polydata,
)
from core.assets import load_face, load_landmarks
from core.mesh.face_parts import TOOTH_RGB, TeethRig, teeth_meshes


class _Plotter:
    """Stands in for a pyvista plotter: records meshes, returns actor-like objects."""

    def __init__(self):
        self.meshes = []

    def add_mesh(self, mesh, **kwargs):
        import types

        self.meshes.append(mesh)
        return types.SimpleNamespace(prop=types.SimpleNamespace(), user_matrix=np.eye(4))

    def remove_actor(self, actor, render=False):
        pass


@pytest.fixture(scope="module")
def face():
    return load_face(), load_landmarks().indices


def _apply(m, p):
    return np.asarray(p, np.float64) @ m[:3, :3].T + m[:3, 3]


def test_mouth_interior_is_behind_the_lips_only(face):
    f, lm = face
    depth = mouth_interior(f.vertices, f.faces, lm)
    inner = depth > 0.003
    assert 100 < inner.sum() < 600  # the mouth bag, not the face
    assert not inner[lm].any()  # every landmark is on the visible surface
    v = f.vertices
    assert np.all(v[inner, 1] > v[lm[60:68], 1].min())  # all behind the lip contact line
    nose, chin = lm[30], lm[8]
    assert depth[nose] == 0 and depth[chin] == 0


def test_albedo_has_redder_lips_and_a_dark_mouth(face):
    f, lm = face
    rgb = skin_albedo(f.vertices, f.faces, lm).astype(float)
    assert rgb.shape == (len(f.vertices), 3)
    lips, cheek = rgb[lm[[61, 62, 63, 66]]], rgb[lm[[2, 14]]]  # inner lips: inside the outline
    redness = lambda c: c[:, 0] - c[:, 1]  # noqa: E731
    assert redness(lips).min() > redness(cheek).max() + 20
    inner = mouth_interior(f.vertices, f.faces, lm) > 0.006
    assert rgb[inner].max() < 100 and rgb[lm[[2, 14]]].min() > 140


def test_cheeks_and_nose_tip_blush_softly_and_symmetrically(face):
    f, lm = face
    v = f.vertices
    rgb = skin_albedo(v, f.faces, lm).astype(float)
    redness = rgb[:, 0] - rgb[:, 1]  # R - G
    skin = redness[lm[[19, 24, 27]]]  # brows and the nose bridge: plain skin
    lift = np.array([0.0, 0.0, 0.008])
    centres = [(v[lm[a]] + v[lm[b]]) / 2 + lift for a, b in ((1, 31), (15, 35))]
    cheeks = [int(np.argmin(((v - c) ** 2).sum(1))) for c in centres]
    assert abs(redness[cheeks[0]] - redness[cheeks[1]]) < 1.0  # mirror-symmetric
    assert skin.max() + 8 < redness[cheeks].min() < redness[lm[62]] - 20  # rosier, not lip-red
    assert skin.max() + 6 < redness[lm[30]]  # the nose tip
    back = (v[:, 1] > v[:, 1].mean() + 0.05) & (v[:, 2] > v[lm[27], 2])  # back of the skull
    assert back.sum() > 100 and np.abs(rgb[back] - [222, 179, 153]).max() <= 1  # plain skin


def test_studio_teeth_are_the_core_arches_with_their_normals(face):
    f, lm = face
    for arch in teeth_meshes(f.vertices, lm):
        poly = teeth_polydata(arch)
        np.testing.assert_allclose(poly.points, arch.points, atol=1e-7)  # float32
        np.testing.assert_array_equal(poly.regular_faces, arch.faces)
        np.testing.assert_allclose(poly.point_data["Normals"], arch.normals, atol=1e-6)


def test_parts_follow_the_skull_and_the_jaw(face):
    f, lm = face
    plotter = _Plotter()
    parts = FaceParts(plotter, f.faces, f.skin, lm, f.vertices)
    v = f.vertices.astype(np.float64).copy()
    parts.update(v)  # neutral: identity everywhere
    for actor in parts.actors:
        np.testing.assert_allclose(actor.user_matrix, np.eye(4), atol=1e-6)
    # open the mouth: the inner lower lip 12 mm down, the skull moved 5 mm to the side
    moved = v + [0.005, 0.0, 0.0]
    moved[lm[[65, 66, 67]], 2] -= 0.012
    parts.update(moved)
    np.testing.assert_allclose(parts.upper.user_matrix[:3, 3], [0.005, 0, 0], atol=1e-6)
    lip0 = v[lm[[65, 66, 67]]].mean(0)
    np.testing.assert_allclose(
        _apply(parts.lower.user_matrix, lip0), moved[lm[[65, 66, 67]]].mean(0), atol=1e-6
    )
    rot = parts.lower.user_matrix[:3, :3]
    assert np.degrees(np.arccos((np.trace(rot) - 1) / 2)) > 3  # the jaw turned
    skull, jaw = TeethRig(f.vertices, lm).poses(moved)  # the same poses as the CLI's renderer
    np.testing.assert_allclose(parts.upper.user_matrix, skull, atol=1e-12)
    np.testing.assert_allclose(parts.lower.user_matrix, jaw, atol=1e-12)
    for actor in parts.eyes:  # eyes ride with their eyeballs
        np.testing.assert_allclose(actor.user_matrix[:3, 3], [0.005, 0, 0], atol=1e-6)
    # the neutral's lip slit leaves the teeth in shadow; the opened mouth lets the light in
    assert np.allclose(np.asarray(parts.upper.prop.color) * 255, TOOTH_RGB)
    parts.update(v)
    dark = np.asarray(parts.lower.prop.color) * 255
    assert dark.max() < 0.4 * TOOTH_RGB.min() and parts.lower.prop.specular == 0


def test_eye_has_a_dark_pupil_facing_forward_and_white_sclera():
    ball = eye_sphere(np.zeros(3), 0.016)
    p, rgb = np.asarray(ball.points), np.asarray(ball.point_data["rgb"], float)
    front, side = np.argmin(p[:, 1]), np.argmax(p[:, 0])
    assert rgb[front].max() < 30 and rgb[side].min() > 200
