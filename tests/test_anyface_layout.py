"""Exports in the user's own layout: an OBJ's quads and n-gons, UV indices, ``usemtl``/``g`` lines,
its ``.mtl`` and textures come back from an OBJ sequence export; PLY keeps a quad mesh; NPZ records
the polygon sizes; GLB keeps the UVs (seam vertices copied after the face's own vertices)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from core.io.export import export_sequence
from core.io.export_gltf import export_glb, split_seams
from core.io.mesh_io import load_mesh
from core.io.obj_layout import ObjLayout, polygon_corners

OBJ = """# a quad, a pentagon and a triangle with materials
mtllib face.mtl
mtllib missing.mtl
o head
v 0 0 0
v 1 0 0
v 1 1 0
v 0 1 0
v 2 0 0
v 2 1 0
v 1.5 2 0.5
vt 0 0
vt 1 0
vt 1 1
vt 0 1
vt 0.5 0.5
g front
usemtl skin
s 1
f 1/1 2/2 3/3 4/4
f 2/2 5/5 6/1 3/3 7/4
usemtl eye
f 4/1 3/2 7/5
"""
POLYGONS = [[1, 2, 3, 4], [2, 5, 6, 3, 7], [4, 3, 7]]
POLY_UV = [[1, 2, 3, 4], [2, 5, 1, 3, 4], [1, 2, 5]]
MTL = "newmtl skin\nKd 1 1 1\nmap_Kd -s 1 1 1 tex/skin.png\nbump ../outside.png\nnewmtl eye\n"


def _f_lines(text: str) -> list[tuple[list[int], list[int]]]:
    """(vertex ids, uv ids) of every ``f`` line, 1-based as written."""
    out = []
    for line in text.splitlines():
        if line.startswith("f "):
            corners = [c.split("/") for c in line.split()[1:]]
            out.append(([int(c[0]) for c in corners], [int(c[1]) for c in corners]))
    return out


@pytest.fixture
def user_obj(tmp_path):
    src = tmp_path / "src"
    (src / "tex").mkdir(parents=True)
    (src / "tex" / "skin.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "outside.png").write_bytes(b"secret")
    (src / "face.mtl").write_text(MTL)
    (src / "face.obj").write_text(OBJ)
    return src / "face.obj"


def test_polygon_corners_undo_the_fan_triangulation():
    rng = np.random.default_rng(0)
    sizes = rng.integers(3, 8, 50)
    polys = [rng.permutation(100)[:k] for k in sizes]
    tris = np.array([(p[0], p[i], p[i + 1]) for p in polys for i in range(1, len(p) - 1)])
    np.testing.assert_array_equal(polygon_corners(tris, sizes), np.concatenate(polys))


def test_obj_sequence_keeps_polygons_uvs_materials_and_textures(user_obj, tmp_path):
    mesh = load_mesh(user_obj)
    assert mesh.n_faces == 2 + 3 + 1 and mesh.layout.sizes.tolist() == [4, 5, 3]
    frames = np.stack([mesh.vertices, mesh.vertices + 0.25])  # (2, 7, 3)
    out = export_sequence(
        tmp_path / "seq", frames, mesh.faces, "obj", uv=mesh.uv, face_uv=mesh.face_uv,
        layout=mesh.layout,
    )  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == [
        "face.mtl", "frame_0001.obj", "frame_0002.obj", "manifest.json", "skin.png",
    ]  # fmt: skip
    text = (out / "frame_0002.obj").read_text()
    assert [f for f, _ in _f_lines(text)] == POLYGONS  # same polygons, same corner order
    assert [t for _, t in _f_lines(text)] == POLY_UV  # same face-vertex/uv indices
    lines = [ln for ln in text.splitlines() if not ln.startswith(("v", "f", "#"))]
    assert lines == ["mtllib face.mtl", "o head", "g front", "usemtl skin", "s 1", "usemtl eye"]
    assert text.index("usemtl eye") > text.index("f 2/2")  # before the third polygon only
    mtl = (out / "face.mtl").read_text()
    assert "map_Kd -s 1 1 1 skin.png" in mtl and "bump ../outside.png" in mtl  # outside: not copied
    assert (out / "skin.png").read_bytes() == b"\x89PNG not really"
    back = load_mesh(out / "frame_0002.obj")
    np.testing.assert_array_equal(back.faces, mesh.faces)
    np.testing.assert_array_equal(back.face_uv, mesh.face_uv)
    np.testing.assert_allclose(back.uv, mesh.uv)
    np.testing.assert_allclose(back.vertices, frames[1], atol=1e-6)
    import json

    assert json.loads((out / "manifest.json").read_text())["materials"] == ["face.mtl", "skin.png"]


def test_ply_keeps_a_quad_mesh_and_npz_records_polygon_sizes(tmp_path):
    v = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [2, 0, 0], [2, 1, 0]], float)
    quads = ObjLayout(np.array([4, 4]))
    tris = np.array([[0, 1, 2], [0, 2, 3], [1, 4, 5], [1, 5, 2]])
    out = export_sequence(tmp_path / "ply", v[None], tris, "ply", layout=quads)
    back = load_mesh(out / "frame_0001.ply")
    np.testing.assert_array_equal(back.faces, tris)
    assert (
        back.layout.sizes.tolist() == [4, 4]
        and b"element face 2" in (out / "frame_0001.ply").read_bytes()[:400]
    )
    out = export_sequence(tmp_path / "npz", v[None], tris, "npz", layout=quads)
    assert np.load(out / "sequence.npz")["polygon_sizes"].tolist() == [4, 4]
    wrong = ObjLayout(np.array([5]))  # a layout of other faces is ignored, not misapplied
    out = export_sequence(tmp_path / "obj", v[None], tris, "obj", layout=wrong)
    assert len(_f_lines((out / "frame_0001.obj").read_text().replace("//", "/0/"))) == 4


def test_glb_keeps_uvs_and_copies_seam_vertices_after_the_face(user_obj, tmp_path):
    trimesh = pytest.importorskip("trimesh")
    mesh = load_mesh(user_obj)
    source, faces, uv = split_seams(mesh.faces, mesh.uv, mesh.face_uv, mesh.n_vertices)
    np.testing.assert_array_equal(source[: mesh.n_vertices], np.arange(mesh.n_vertices))
    np.testing.assert_array_equal(source[faces], mesh.faces)  # same corners
    np.testing.assert_array_equal(uv[faces], mesh.uv[mesh.face_uv])  # same UV at every corner
    frames = np.stack([mesh.vertices, mesh.vertices * 1.1])
    path = export_glb(tmp_path / "a.glb", frames, mesh.faces, uv=mesh.uv, face_uv=mesh.face_uv)
    scene = trimesh.load(io.BytesIO(path.read_bytes()), file_type="glb", process=False)
    g = next(iter(scene.geometry.values()))
    assert len(g.vertices) == len(source) > mesh.n_vertices
    np.testing.assert_allclose(g.visual.uv, uv, atol=1e-6)  # trimesh flips v back


def test_ply_keeps_mixed_polygons_and_reads_them_back(user_obj, tmp_path):
    mesh = load_mesh(user_obj)  # a quad, a pentagon, a triangle: 51 face bytes, as if 3 quads
    out = export_sequence(
        tmp_path / "ply", mesh.vertices[None], mesh.faces, "ply", layout=mesh.layout
    )
    back = load_mesh(out / "frame_0001.ply")
    np.testing.assert_array_equal(back.faces, mesh.faces)
    assert back.layout.sizes.tolist() == [4, 5, 3]
    np.testing.assert_array_equal(back.vertices, mesh.vertices)


@pytest.mark.parametrize("order", ["<", ">"])
def test_a_binary_ply_of_quads_and_triangles_with_face_flags_is_read(tmp_path, order):
    from core.errors import MeshFormatError

    end = {"<": "little", ">": "big"}[order]
    head = (
        f"ply\nformat binary_{end}_endian 1.0\nelement vertex 5\nproperty float x\n"
        "property float y\nproperty float z\nproperty float s\nproperty float t\n"
        "element face 2\nproperty uchar flags\nproperty list uchar int vertex_indices\n"
        "end_header\n"
    ).encode()
    v = np.arange(25, dtype=order + "f4").reshape(5, 5)
    faces = b"\x07\x04" + np.array([0, 1, 2, 3], order + "i4").tobytes()
    faces += b"\x01\x03" + np.array([1, 4, 2], order + "i4").tobytes()
    path = tmp_path / "mixed.ply"
    path.write_bytes(head + v.tobytes() + faces)
    mesh = load_mesh(path)
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 2], [0, 2, 3], [1, 4, 2]])
    np.testing.assert_array_equal(mesh.vertices, v[:, :3])
    np.testing.assert_array_equal(mesh.uv, v[:, 3:])
    assert mesh.layout.sizes.tolist() == [4, 3] and "1 polygon(s)" in mesh.notes[0]
    path.write_bytes(head + v.tobytes() + faces[:-3])  # truncated: still a one-line error
    with pytest.raises(MeshFormatError, match="damaged or truncated"):
        load_mesh(path)
