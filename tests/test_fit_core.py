"""core.fit: rasteriser, alignment, 468->68 table, closest points, binding, registration, FIT.npz.

The faces are re-meshed copies of our template (subdivided, shuffled, in centimetres with y up
and the face towards +z) with an exact known correspondence; no real scan is used.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.assets import load_face, load_landmarks
from core.errors import InvalidInputError, MeshFormatError
from core.fit import fit_face, load_any_mesh, load_fit, read_face_landmarks, save_fit
from core.fit.align import Similarity, describe_frame, umeyama
from core.fit.binding import bind
from core.fit.closest import closest_on_mesh
from core.fit.mp68 import MP_MIRROR_PAIRS, MP_TO_IBUG
from core.fit.raster import View, lift, render
from core.fit.remesh import random_rotation, remesh_template
from core.io.mesh_io import MeshData, save_mesh

FACE = load_face()
LM = load_landmarks()


@pytest.fixture(scope="module")
def remeshed():
    return remesh_template(FACE.vertices, FACE.faces, FACE.skin, seed=3)


def _damaged_faces(faces: np.ndarray) -> np.ndarray:
    """The faces plus zero-area, duplicate and non-manifold (a third face on an edge) ones."""
    f = np.asarray(faces)
    a, b, c = f[0]
    extra = np.array([[a, a, b], [b, c, c], f[1], f[2][::-1], [a, b, f[5][2]]])
    return np.concatenate([f, extra])


@pytest.fixture(scope="module")
def fitted(remeshed):
    """A fit of the re-meshed face from its true 68 landmarks (no detector needed), with some
    zero-area, duplicate and non-manifold faces added (they must not disturb the fit)."""
    true_lm = remeshed.to_template.inverse(FACE.vertices[LM.indices].astype(float))
    return fit_face(MeshData(remeshed.vertices, _damaged_faces(remeshed.faces)), true_lm)


def test_render_and_lift_are_exact_on_a_plane():
    v = np.array([[-1.0, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]])
    f = np.array([[0, 1, 2], [0, 2, 3]])
    view = View(np.array([0.0, 0, -1]), np.array([0.0, 1, 0]), np.zeros(3), 4.0, 64)
    r = render(v, f, view)
    assert abs(r.coverage - 0.25) < 0.02  # a 2x2 square in a 4x4 view
    pts = np.array([[0.3, -0.7, 0.0], [-0.5, 0.25, 0.0]])
    px, _ = view.project(pts)
    xyz, tri = lift(r, v, f, px)
    np.testing.assert_allclose(xyz, pts, atol=1e-9)
    assert (tri >= 0).all()


def test_umeyama_recovers_a_similarity_and_the_frame_is_named():
    rng = np.random.default_rng(0)
    rot = random_rotation(rng)
    x = rng.normal(size=(30, 3))
    y = 0.01 * x @ rot.T + np.array([0.1, -0.2, 0.3])
    sim = umeyama(x, y)
    np.testing.assert_allclose(sim.apply(x), y, atol=1e-12)
    back = Similarity.from_array(sim.as_array())
    np.testing.assert_allclose(back.inverse(y), x, atol=1e-9)
    obj = Similarity(0.01, np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]]), np.zeros(3))
    frame = describe_frame(obj)  # user y -> template z (up), user +z -> template -y (facing)
    assert (frame["units"], frame["up"], frame["facing"]) == ("cm", "+y", "+z")


def test_mediapipe_table_is_complete_and_symmetric():
    assert len(MP_TO_IBUG) == 68
    pair = dict(MP_MIRROR_PAIRS) | {b: a for a, b in MP_MIRROR_PAIRS}
    for i, ids in enumerate(MP_TO_IBUG):
        mirrored = tuple(sorted(pair.get(k, k) for k in ids))
        assert mirrored == tuple(sorted(MP_TO_IBUG[LM.mirror[i]])), i


def test_closest_on_mesh_matches_the_exact_search():
    from core.mesh.sampling import closest_points_on_triangles

    v, f = FACE.vertices.astype(float), FACE.faces
    skin_f = f[FACE.skin[f].all(axis=1)]
    rng = np.random.default_rng(1)
    q = v[rng.choice(np.flatnonzero(FACE.face_mask), 300)] + rng.normal(size=(300, 3)) * 1e-3
    p, tri, bary, d = closest_on_mesh(q, v, skin_f, k=8)
    _, _, d_ref = closest_points_on_triangles(q, v[skin_f])
    assert np.median(np.abs(d - d_ref)) < 1e-12
    assert np.mean(np.abs(d - d_ref) < 1e-9) > 0.97
    np.testing.assert_allclose(np.einsum("nk,nkc->nc", bary, v[skin_f[tri]]), p, atol=1e-12)


def test_binding_round_trip_is_exact_for_the_template_itself():
    v = FACE.vertices.astype(float)
    b = bind(v, FACE.faces, v, FACE.faces)
    rng = np.random.default_rng(2)
    disp = rng.normal(size=(4, len(v), 3)) * 1e-3
    np.testing.assert_array_equal(b.transfer(disp), disp)
    # the same through fit_face: a mesh of our own topology in cm with other axes
    rot = np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]])
    user = 100.0 * v @ rot.T + 3.0
    fit = fit_face(MeshData(user, FACE.faces))
    assert fit.meta["method"] == "own topology"
    frames = fit.template_vertices[None] + disp
    out = fit.carry(frames, user)
    expect = user[None] + 100.0 * disp @ rot.T
    assert out.dtype == np.float32  # frames are float32 (Motion); exact to float32 rounding
    np.testing.assert_allclose(out, expect, rtol=0, atol=4 * np.finfo(np.float32).eps * 30)


def test_registration_recovers_the_correspondence(remeshed, fitted):
    """Stated error: median <= 0.3 mm, 95th percentile <= 1.5 mm over the face region."""
    true_user = remeshed.to_template.inverse(FACE.vertices.astype(float))
    got_user = fitted.to_template.inverse(fitted.template_vertices)
    err_mm = np.linalg.norm(got_user - true_user, axis=1) * 10.0  # cm -> mm
    m = FACE.face_mask
    assert np.median(err_mm[m]) <= 0.3
    assert np.percentile(err_mm[m], 95) <= 1.5
    assert fitted.meta["units"] == "cm" and fitted.meta["up"] == "+y"
    assert fitted.meta["facing"] == "+z"
    lm_err = np.linalg.norm(fitted.landmarks - true_user[LM.indices], axis=1) * 10.0
    assert np.median(lm_err) < 1.0
    # carrying a template motion: the re-meshed face moves like the template under it
    rng = np.random.default_rng(4)
    disp = np.zeros((2, FACE.n_vertices, 3))
    disp[1] = rng.normal(size=(FACE.n_vertices, 3)) * 1e-4 + np.array([0, 0, 0.002])
    out = fitted.carry(fitted.template_vertices[None] + disp, remeshed.vertices)
    np.testing.assert_allclose(out[0], remeshed.vertices, atol=1e-5)
    truth = remeshed.to_template.inverse_vectors(remeshed.on_template(disp[1]))
    moved_err = np.linalg.norm(out[1] - remeshed.vertices - truth, axis=1) * 10.0
    assert np.median(moved_err) < 0.15  # mm, for a 2 mm motion


def test_fit_file_round_trip_and_mesh_check(tmp_path, remeshed, fitted):
    path = tmp_path / "FIT.npz"
    save_fit(path, fitted)
    back = load_fit(path)
    np.testing.assert_array_equal(back.landmarks, fitted.landmarks)
    np.testing.assert_array_equal(back.binding.tri, fitted.binding.tri)
    assert back.landmarks.shape == (68, 3) and back.meta == fitted.meta
    back.check_mesh(MeshData(remeshed.vertices, _damaged_faces(remeshed.faces)))
    with pytest.raises(InvalidInputError, match="belongs to a mesh of"):
        back.check_mesh(MeshData(FACE.vertices, FACE.faces))
    (tmp_path / "bad.npz").write_bytes(b"nope")
    with pytest.raises(InvalidInputError, match="not a FIT.npz"):
        load_fit(tmp_path / "bad.npz")


def test_landmark_files_points_and_indices(tmp_path):
    v = FACE.vertices.astype(float)
    idx = LM.indices
    (tmp_path / "i.json").write_text(json.dumps(idx.tolist()))
    np.save(tmp_path / "i.npy", idx)
    np.save(tmp_path / "p.npy", v[idx])
    lines = ["version: 1", "n_points: 68", "{"] + [" ".join(map(str, p)) for p in v[idx]] + ["}"]
    (tmp_path / "p.pts").write_text("\n".join(lines))
    for name in ("i.json", "i.npy", "p.npy", "p.pts"):
        np.testing.assert_allclose(read_face_landmarks(tmp_path / name, v), v[idx], atol=1e-6)
    np.save(tmp_path / "bad.npy", np.arange(68) + len(v))
    with pytest.raises(InvalidInputError, match="another mesh"):
        read_face_landmarks(tmp_path / "bad.npy", v)
    np.save(tmp_path / "flat.npy", v[idx, :2])
    with pytest.raises(InvalidInputError):
        read_face_landmarks(tmp_path / "flat.npy", v)


def test_load_any_mesh_formats_pieces_and_limits(tmp_path, remeshed, monkeypatch):
    import trimesh

    import core.fit.load as load_mod

    v, f = remeshed.vertices, remeshed.faces
    eye = trimesh.creation.icosphere(1, radius=1.0)
    scene = trimesh.Scene([trimesh.Trimesh(v, f, process=False), eye])
    scene.export(tmp_path / "head.glb")
    mesh = load_any_mesh(tmp_path / "head.glb")
    assert mesh.n_vertices == len(v) + len(eye.vertices)
    assert any("combined" in n for n in mesh.notes)
    pieces = [load_any_mesh(tmp_path / "head.glb", mesh_index=i) for i in (0, 1)]
    head = next(p for p in pieces if p.n_vertices == len(v))
    np.testing.assert_allclose(head.vertices, v, atol=1e-4)  # file order kept (float32 in GLB)
    trimesh.Trimesh(v, f, process=False).export(tmp_path / "head.stl")
    assert load_any_mesh(tmp_path / "head.stl").n_faces == len(f)
    save_mesh(tmp_path / "head.obj", v, f)
    monkeypatch.setattr(load_mod, "MAX_VERTICES", 1000)
    with pytest.raises(MeshFormatError, match="decimate the scan"):
        load_any_mesh(tmp_path / "head.obj")
    (tmp_path / "nan.obj").write_text("v 0 0 0\nv 1 0 nan\nv 0 1 0\nf 1 2 3\n")
    with pytest.raises(MeshFormatError, match="NaN"):
        load_any_mesh(tmp_path / "nan.obj")
    with pytest.raises(MeshFormatError, match="expected a face mesh"):
        load_any_mesh(tmp_path / "head.fbx")


def test_uncovered_parts_follow_rigidly_or_stay_still():
    """A separate piece far from the template (teeth-like) moves as one; surface 3 cm away from
    the template (hair, shoulders) stays still; the skin itself follows exactly."""
    import trimesh

    v, f = FACE.vertices.astype(float), FACE.faces
    mouth = v[LM.indices[62]] + np.array([0.0, 0.012, 0.0])  # 12 mm behind the upper lip
    teeth = trimesh.creation.icosphere(1, radius=0.004)
    far = trimesh.creation.icosphere(1, radius=0.01)
    far_v = np.asarray(far.vertices) + v[:, 2].max() + np.array([0.0, 0.0, 0.03])  # above
    user_v = np.concatenate([v, np.asarray(teeth.vertices) + mouth, far_v])
    user_f = np.concatenate(
        [f, np.asarray(teeth.faces) + len(v), np.asarray(far.faces) + len(v) + len(teeth.vertices)]
    )
    b = bind(user_v, user_f, v, f)
    n_t = len(teeth.vertices)
    teeth_rows = slice(len(v), len(v) + n_t)
    assert (b.piece[teeth_rows] >= 0).all() and (b.piece[: len(v)] == -1).all()
    rng = np.random.default_rng(5)
    disp = rng.normal(size=(1, len(v), 3)) * 1e-3
    moved = b.transfer(disp)[0]
    np.testing.assert_allclose(moved[: len(v)], disp[0], atol=1e-12)  # the skin: exact
    teeth_moves = moved[teeth_rows]
    np.testing.assert_allclose(teeth_moves, teeth_moves[:1].repeat(n_t, 0), atol=1e-12)
    assert np.abs(moved[len(v) + n_t :]).max() < 1e-6  # 3 cm away: still
