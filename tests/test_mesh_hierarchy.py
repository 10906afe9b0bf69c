"""Mesh hierarchy: QSlim subset decimation, barycentric up-sampling, spirals, .npz round trip."""

import math

import numpy as np
import pytest
import trimesh
from scipy.sparse.csgraph import shortest_path

from core.assets import load_face
from core.errors import ExportError, InvalidInputError, MeshFormatError, MissingWeightsError
from core.mesh import (
    MeshHierarchy,
    boundary_vertices,
    build_hierarchy,
    check_mesh,
    closest_points_on_triangles,
    compute_spirals,
    connected_components,
    downsample,
    ordered_one_rings,
    upsample,
    vertex_adjacency,
)

L = 9


def _three_components():
    """A 642-vertex unit sphere plus two small 'eyes' (42 and 12 vertices), all CCW outward."""
    head = trimesh.creation.icosphere(subdivisions=3)
    eye1 = trimesh.creation.icosphere(subdivisions=1, radius=0.15)
    eye1.vertices += [0.4, 0.3, 1.1]
    eye2 = trimesh.creation.icosphere(subdivisions=0, radius=0.1)
    eye2.vertices += [-0.4, 0.3, 1.1]
    m = trimesh.util.concatenate([head, eye1, eye2])
    return np.asarray(m.vertices), np.asarray(m.faces)


@pytest.fixture(scope="module")
def mesh():
    return _three_components()


@pytest.fixture(scope="module")
def hier(mesh):
    return build_hierarchy(*mesh, factors=(4, 4, 4), spiral_length=L)


def test_coarse_vertices_are_an_exact_subset(hier):
    for lvl, d in enumerate(hier.down_idx):
        assert np.all(np.diff(d) > 0)
        np.testing.assert_array_equal(hier.vertices[lvl][d], hier.vertices[lvl + 1])
        np.testing.assert_array_equal(hier.labels[lvl][d], hier.labels[lvl + 1])


def test_level_sizes_follow_the_factor_and_every_component_survives(mesh, hier):
    assert hier.sizes[:3] == (696, 174, 44)
    # 44 / 4 = 11 < 3 components x 4 vertices: the per-component floor wins.
    assert hier.sizes[3] == 12
    for lvl in range(hier.n_levels):
        counts = np.bincount(hier.labels[lvl], minlength=3)
        assert counts.min() >= 4, (lvl, counts)
        face_comp = hier.labels[lvl][hier.faces[lvl][:, 0]]
        assert set(face_comp.tolist()) == {0, 1, 2}
    for lvl in range(hier.n_levels - 1):
        n = hier.sizes[lvl]
        assert math.ceil(n / 4) <= hier.sizes[lvl + 1] <= math.ceil(n / 4) + 12


def test_coarse_faces_are_valid_and_non_degenerate(hier):
    for lvl in range(hier.n_levels):
        f = hier.faces[lvl]
        assert f.min() >= 0 and f.max() < hier.sizes[lvl]
        assert np.all((f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 2] != f[:, 0]))
        assert len(np.unique(np.sort(f, axis=1), axis=0)) == len(f)
        assert np.unique(f).size == hier.sizes[lvl]  # every kept vertex is used by a face


def test_upsampling_weights_are_convex_and_kept_vertices_map_to_themselves(hier):
    for lvl in range(hier.n_levels - 1):
        w, idx, d = hier.up_w[lvl], hier.up_idx[lvl], hier.down_idx[lvl]
        assert w.min() >= 0
        np.testing.assert_allclose(w.sum(1), 1.0, atol=1e-6)
        np.testing.assert_array_equal(idx[d, 0], np.arange(len(d)))
        np.testing.assert_array_equal(w[d, 0], 1.0)
        # parents are in the same connected component
        lab_f, lab_c = hier.labels[lvl], hier.labels[lvl + 1]
        assert np.all(lab_c[idx] == lab_f[:, None])


def test_up_of_down_reproduces_a_linear_field_up_to_the_projection_distance(hier):
    a = np.array([0.3, -1.2, 0.7])
    for lvl in range(hier.n_levels - 1):
        fine = hier.vertices[lvl].astype(np.float64)
        f = fine @ a + 0.5  # (V,)
        rec = upsample(
            downsample(f[:, None], hier.down_idx[lvl]),
            hier.up_idx[lvl],
            hier.up_w[lvl].astype(np.float64),
        )[:, 0]
        # barycentric interpolation is exact at the projected point p: |f(v) - f(p)| <= |a| |v - p|
        coarse = hier.vertices[lvl + 1].astype(np.float64)
        p = (coarse[hier.up_idx[lvl]] * hier.up_w[lvl][..., None]).sum(1)
        bound = np.linalg.norm(a) * np.linalg.norm(fine - p, axis=1)
        assert np.all(np.abs(rec - f) <= bound + 1e-5)
    # on the finest level the projection is short: a few % of the field's range
    fine = hier.vertices[0].astype(np.float64)
    f = fine @ a
    rec = upsample(downsample(f[:, None], hier.down_idx[0]), hier.up_idx[0], hier.up_w[0])[:, 0]
    assert np.abs(rec - f).max() < 0.03 * np.ptp(f)


def test_up_of_down_of_a_smooth_field_has_small_relative_error(hier):
    v = hier.vertices[0].astype(np.float64)
    f = np.sin(2 * v[:, 0]) * np.cos(1.5 * v[:, 1]) + v[:, 2] ** 2
    rec = upsample(downsample(f[:, None], hier.down_idx[0]), hier.up_idx[0], hier.up_w[0])[:, 0]
    rel = np.linalg.norm(rec - f) / np.linalg.norm(f - f.mean())
    assert rel < 0.05


def test_closest_points_match_brute_force():
    m = trimesh.creation.icosphere(subdivisions=1)
    tri = m.vertices[m.faces]
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(200, 3)) * 1.5
    cp, tid, dist = closest_points_on_triangles(pts, tri)
    all_cp = trimesh.triangles.closest_point(
        np.repeat(tri, len(pts), axis=0), np.tile(pts, (len(tri), 1))
    ).reshape(len(tri), len(pts), 3)
    all_d = np.linalg.norm(all_cp - pts[None], axis=2)
    np.testing.assert_allclose(dist, all_d.min(0), atol=1e-12)
    np.testing.assert_allclose(cp, all_cp[tid, np.arange(len(pts))], atol=1e-12)


def test_spirals_start_at_the_vertex_and_stay_in_the_component(hier):
    for lvl in range(hier.n_levels):
        s, lab = hier.spirals[lvl], hier.labels[lvl]
        assert s.shape == (hier.sizes[lvl], L) and s.dtype == np.int64
        np.testing.assert_array_equal(s[:, 0], np.arange(hier.sizes[lvl]))
        assert s.min() >= 0 and s.max() < hier.sizes[lvl]
        assert np.all(lab[s] == lab[:, None])


def test_spirals_list_the_one_ring_counter_clockwise_before_the_two_ring(mesh):
    v, f = mesh
    lab = connected_components(f, len(v))
    ref = np.array([0, 642, 684])
    s = compute_spirals(v, f, lab, ref, length=L)
    hops = shortest_path(vertex_adjacency(f, len(v)), unweighted=True, indices=np.arange(642))
    rings = ordered_one_rings(f, len(v))
    for vi in range(642):  # the big sphere: valence 5 or 6, so L=9 reaches the 2-ring
        deg = len(rings[vi])
        d = hops[vi, s[vi]]
        np.testing.assert_array_equal(d, [0] + [1] * deg + [2] * (L - 1 - deg))
        ring = v[s[vi, 1 : 1 + deg]] - v[vi]
        turn = np.cross(ring, np.roll(ring, -1, axis=0)) @ v[vi]  # outward normal ~ v
        assert np.all(turn > 0)
    # every 1-ring starts at the neighbour on a shortest path toward the reference vertex
    dist_to_ref = hops[:, ref[0]]
    start = s[1:642, 1]
    assert np.all(dist_to_ref[start] == dist_to_ref[1:642] - 1)


def test_small_components_repeat_their_spiral_instead_of_padding(hier):
    lvl = hier.n_levels - 1  # 4 vertices per component here
    s, lab = hier.spirals[lvl], hier.labels[lvl]
    for vi in range(hier.sizes[lvl]):
        members = np.flatnonzero(lab == lab[vi])
        if len(members) < L:
            assert set(s[vi].tolist()) == set(members.tolist())
            np.testing.assert_array_equal(s[vi, len(members) :], s[vi, : L - len(members)])


def test_dilation_keeps_every_other_entry_of_a_longer_spiral(mesh):
    v, f = mesh
    lab = connected_components(f, len(v))
    ref = np.array([0, 642, 684])
    long = compute_spirals(v, f, lab, ref, length=2 * L)
    dil = compute_spirals(v, f, lab, ref, length=L, dilation=2)
    big = lab == 0
    np.testing.assert_array_equal(dil[big], long[big][:, ::2])


def test_spirals_on_an_open_grid_have_no_padding_and_reach_all_neighbours():
    n = 8
    xs, ys = np.meshgrid(np.arange(n, dtype=float), np.arange(n, dtype=float))
    v = np.c_[xs.ravel(), ys.ravel(), np.zeros(n * n)]
    q = np.arange(n * n).reshape(n, n)[:-1, :-1].ravel()
    f = np.r_[np.c_[q, q + 1, q + n + 1], np.c_[q, q + n + 1, q + n]]
    h = build_hierarchy(v, f, factors=(4,), spiral_length=L)
    rings = ordered_one_rings(h.faces[0], h.sizes[0])
    for vi in range(h.sizes[0]):
        deg = min(len(rings[vi]), L - 1)
        assert set(h.spirals[0][vi, 1 : 1 + deg]) <= set(rings[vi])
    assert h.spirals[1].min() >= 0


def test_build_is_deterministic(mesh, hier):
    again = build_hierarchy(*mesh, factors=(4, 4, 4), spiral_length=L)
    assert again.fingerprint() == hier.fingerprint()
    for name in ("vertices", "faces", "spirals", "down_idx", "up_idx", "up_w", "reference"):
        for a, b in zip(getattr(hier, name), getattr(again, name), strict=True):
            np.testing.assert_array_equal(a, b)


def test_reference_vertices_are_validated(mesh):
    with pytest.raises(InvalidInputError, match="one reference vertex per connected component"):
        build_hierarchy(*mesh, factors=(4,), reference_vertices=[0, 1, 2])


def test_invalid_meshes_are_rejected():
    v = np.zeros((4, 3))
    with pytest.raises(InvalidInputError, match="unreferenced"):
        check_mesh(v, np.array([[0, 1, 2]]))
    with pytest.raises(InvalidInputError, match=r"\[0, 4\)"):
        check_mesh(v, np.array([[0, 1, 4]]))
    with pytest.raises(InvalidInputError, match="NaN"):
        check_mesh(np.full((3, 3), np.nan), np.array([[0, 1, 2]]))


def test_save_load_round_trip(hier, tmp_path):
    path = tmp_path / "h.npz"
    hier.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["h.npz"]  # no temporary file left
    back = MeshHierarchy.load(path)
    assert back.sizes == hier.sizes and back.factors == hier.factors
    assert back.fingerprint() == hier.fingerprint()
    for name in (
        "vertices",
        "faces",
        "spirals",
        "labels",
        "reference",
        "down_idx",
        "up_idx",
        "up_w",
    ):
        for a, b in zip(getattr(hier, name), getattr(back, name), strict=True):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
    assert not back.vertices[0].flags.writeable
    with pytest.raises(ExportError, match="cannot write"):
        hier.save(tmp_path / "missing-folder" / "h.npz")


def test_load_reports_missing_corrupt_and_inconsistent_files(hier, tmp_path):
    with pytest.raises(MissingWeightsError, match="found nothing"):
        MeshHierarchy.load(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(MeshFormatError, match="unreadable"):
        MeshHierarchy.load(bad)
    good = tmp_path / "good.npz"
    hier.save(good)
    with np.load(good) as d:
        arrays = dict(d)
    arrays["down_idx_0"] = arrays["down_idx_0"][::-1].copy()
    np.savez(tmp_path / "tampered.npz", **arrays)
    with pytest.raises(MeshFormatError, match="down_idx"):
        MeshHierarchy.load(tmp_path / "tampered.npz")
    arrays = {k: v for k, v in arrays.items() if k != "spirals_1"}
    np.savez(tmp_path / "incomplete.npz", **arrays)
    with pytest.raises(MeshFormatError, match="incomplete"):
        MeshHierarchy.load(tmp_path / "incomplete.npz")


def test_boundary_vertices():
    square = np.array([[0, 1, 2], [0, 2, 3]])
    assert boundary_vertices(square).tolist() == [0, 1, 2, 3]
    tetra = np.array([[0, 1, 2], [0, 3, 1], [1, 3, 2], [0, 2, 3]])
    assert boundary_vertices(tetra).size == 0
    face = load_face()
    rim = boundary_vertices(face.faces[face.skin[face.faces].all(1)])
    # the skin is open only at the neck: one loop of vertices at the bottom of the head
    assert 20 < len(rim) < 100
    assert face.vertices[rim, 2].max() < face.vertices[:, 2].min() + 0.05
