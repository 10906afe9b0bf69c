"""core.io.mesh_io: exact vertex order, per-corner UVs, validation of broken files, topology checks."""

from __future__ import annotations

import numpy as np
import pytest

from core.arrays import as_faces, as_vertices
from core.errors import ExportError, InvalidInputError, MeshFormatError, TopologyMismatchError
from core.io.mesh_io import (
    MeshData,
    check_topology,
    load_mesh,
    mesh_warnings,
    save_mesh,
)

# A square split into two triangles plus a third triangle; vertex 1 sits on a UV seam
# (corner UV 1 in the first face, UV 4 in the third).
SQUARE_OBJ = b"""# test mesh
v 0 0 0
v 1 0 0
v 1 1 0
v 0 1 0
v 2 0 0
vt 0 0
vt 1 0
vt 1 1
vt 0 1
vt 0.5 0.5
f 1/1 2/2 3/3
f 1/1 3/3 4/4
f 2/5 5/2 3/3
"""


def _write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _ply_ascii(vertices, faces_lists, extra_header=b""):
    head = (
        b"ply\nformat ascii 1.0\n"
        + f"element vertex {len(vertices)}\n".encode()
        + b"property float x\nproperty float y\nproperty float z\n"
        + f"element face {len(faces_lists)}\n".encode()
        + b"property list uchar int vertex_indices\n"
        + extra_header
        + b"end_header\n"
    )
    body = "".join(" ".join(str(x) for x in v) + "\n" for v in vertices)
    body += "".join(f"{len(f)} " + " ".join(str(i) for i in f) + "\n" for f in faces_lists)
    return head + body.encode()


@pytest.fixture
def random_mesh():
    rng = np.random.default_rng(7)
    vertices = rng.normal(scale=0.1, size=(40, 3))
    faces = np.array([rng.permutation(40)[:3] for _ in range(60)], dtype=np.int64)
    return vertices, faces


# ------------------------------------------------------------------------------- OBJ reading
def test_obj_keeps_every_vertex_in_file_order(tmp_path):
    # duplicate position (v1 == v4) and an unreferenced vertex (v6): trimesh's default drops/merges
    data = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 0 0\nv 0 0 1\nv 9 9 9\nf 1 2 3\nf 4 5 3\n"
    mesh = load_mesh(_write(tmp_path, "dup.obj", data))
    assert mesh.vertices.shape == (6, 3) and mesh.vertices.dtype == np.float64
    np.testing.assert_array_equal(mesh.vertices[5], [9, 9, 9])
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 2], [3, 4, 2]])
    assert mesh.faces.dtype == np.int64
    assert mesh.uv is None and mesh.face_uv is None
    assert any("not used by any face" in n for n in mesh.notes)
    assert load_mesh(tmp_path / "dup.obj", inspect=False).notes == ()


def test_obj_seam_uvs_come_back_per_corner(tmp_path):
    mesh = load_mesh(_write(tmp_path, "seam.obj", SQUARE_OBJ))
    assert mesh.vertices.shape == (5, 3)  # no vertex split on the seam
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 2], [0, 2, 3], [1, 4, 2]])
    np.testing.assert_array_equal(mesh.face_uv, [[0, 1, 2], [0, 2, 3], [4, 1, 2]])
    # vertex 1 has UV (1, 0) in face 0 and (0.5, 0.5) in face 2
    np.testing.assert_array_equal(mesh.uv[mesh.face_uv[0, 1]], [1, 0])
    np.testing.assert_array_equal(mesh.uv[mesh.face_uv[2, 0]], [0.5, 0.5])


def test_obj_variants_negative_indices_normals_colours_crlf_latin1(tmp_path):
    data = (
        b"\xe9t\xe9 garbage comment\r\n# caf\xe9\r\n"
        b"v 0 0 0 1 0 0\r\nv 1 0 0 0 1 0\r\nv 0 1 0 0 0 1\r\n"
        b"vn 0 0 1\r\nvt 0 0\r\nvt 1 0\r\nvt 0 1\r\n"
        b"o a\r\ng b\r\nusemtl m\r\ns off\r\n"
        b"f -3/-3/1 -2/-2/1 -1/-1/1\r\nf 1//1 2//1 3//1\r\n"
    )
    mesh = load_mesh(_write(tmp_path, "variants.obj", data))
    np.testing.assert_array_equal(
        mesh.vertices, [[0, 0, 0], [1, 0, 0], [0, 1, 0]]
    )  # colours dropped
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 2], [0, 1, 2]])
    # only the first face has UVs -> UVs are dropped with a note, not guessed
    assert mesh.uv is None
    assert any("only some faces" in n for n in mesh.notes)


def test_polygons_are_fan_triangulated_identically_in_obj_and_ply(tmp_path):
    vertices = [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [2, 0, 0], [2, 1, 0.5], [1.5, 2, 0]]
    polys = [[1, 4, 5, 2], [0, 1, 2], [2, 5, 6, 3, 0]]  # quad, triangle, pentagon (mixed order)
    expected = [[1, 4, 5], [1, 5, 2], [0, 1, 2], [2, 5, 6], [2, 6, 3], [2, 3, 0]]
    obj = "".join(f"v {x} {y} {z}\n" for x, y, z in vertices)
    obj += "".join("f " + " ".join(str(i + 1) for i in p) + "\n" for p in polys)
    from_obj = load_mesh(_write(tmp_path, "poly.obj", obj.encode()))
    from_ply = load_mesh(_write(tmp_path, "poly.ply", _ply_ascii(vertices, polys)))
    np.testing.assert_array_equal(from_obj.faces, expected)
    np.testing.assert_array_equal(from_ply.faces, expected)  # trimesh alone reorders these
    assert any("2 polygon(s)" in n for n in from_obj.notes)
    assert any("2 polygon(s)" in n for n in from_ply.notes)


# --------------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ply_round_trip_is_exact(tmp_path, random_mesh, dtype):
    vertices, faces = random_mesh
    vertices = vertices.astype(dtype)
    save_mesh(tmp_path / "m.ply", vertices, faces)
    mesh = load_mesh(tmp_path / "m.ply")
    np.testing.assert_array_equal(mesh.vertices.astype(dtype), vertices)
    np.testing.assert_array_equal(mesh.faces, faces)


def test_obj_round_trip_keeps_order_faces_and_corner_uvs(tmp_path):
    src = load_mesh(_write(tmp_path, "seam.obj", SQUARE_OBJ))
    rng = np.random.default_rng(1)
    vertices = src.vertices + rng.normal(scale=0.01, size=src.vertices.shape)
    save_mesh(tmp_path / "out.obj", vertices, src.faces, src.uv, src.face_uv)
    back = load_mesh(tmp_path / "out.obj")
    np.testing.assert_allclose(back.vertices, vertices, atol=5.1e-7, rtol=0)  # 6 decimals
    np.testing.assert_array_equal(back.faces, src.faces)
    np.testing.assert_array_equal(back.face_uv, src.face_uv)
    np.testing.assert_allclose(back.uv[back.face_uv], src.uv[src.face_uv], atol=5.1e-7, rtol=0)


def test_obj_written_by_us_reads_identically_in_trimesh(tmp_path, random_mesh):
    trimesh = pytest.importorskip("trimesh")
    vertices, faces = random_mesh
    save_mesh(tmp_path / "m.obj", vertices, faces, decimals=8)
    tm = trimesh.load(tmp_path / "m.obj", force="mesh", process=False, maintain_order=True)
    np.testing.assert_allclose(tm.vertices, vertices, atol=1e-8)
    np.testing.assert_array_equal(tm.faces, faces)


def test_ply_written_by_us_reads_identically_in_vtk(tmp_path, random_mesh):
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkIOPLY import vtkPLYReader

    vertices, faces = random_mesh
    save_mesh(tmp_path / "m.ply", vertices.astype(np.float32), faces)
    reader = vtkPLYReader()
    reader.SetFileName(str(tmp_path / "m.ply"))
    reader.Update()
    poly = reader.GetOutput()
    np.testing.assert_array_equal(
        vtk_to_numpy(poly.GetPoints().GetData()), vertices.astype(np.float32)
    )
    cells = vtk_to_numpy(poly.GetPolys().GetConnectivityArray()).reshape(-1, 3)
    np.testing.assert_array_equal(cells, faces)


def test_ply_keeps_per_vertex_uvs_and_refuses_seams(tmp_path, random_mesh):
    vertices, faces = random_mesh
    uv = np.random.default_rng(2).random((len(vertices), 2)).astype(np.float32).astype(np.float64)
    save_mesh(tmp_path / "uv.ply", vertices, faces, uv, faces)
    back = load_mesh(tmp_path / "uv.ply")
    np.testing.assert_array_equal(back.uv[back.face_uv], uv[faces])
    seam = load_mesh(_write(tmp_path, "seam.obj", SQUARE_OBJ))
    with pytest.raises(InvalidInputError, match="seams.*export as OBJ"):
        save_mesh(tmp_path / "seam.ply", seam.vertices, seam.faces, seam.uv, seam.face_uv)
    assert not (tmp_path / "seam.ply").exists()


def test_save_mesh_replaces_atomically_and_reports_unwritable_folder(tmp_path, random_mesh):
    vertices, faces = random_mesh
    target = tmp_path / "m.obj"
    target.write_text("old")
    save_mesh(target, vertices, faces)
    assert load_mesh(target).vertices.shape == (40, 3)
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    with pytest.raises(ExportError, match="is a file, not a folder; choose another folder"):
        save_mesh(blocker / "m.obj", vertices, faces)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.obj", "not_a_folder"]


def test_save_mesh_rejects_bad_input(tmp_path, random_mesh):
    vertices, faces = random_mesh
    bad = vertices.copy()
    bad[3, 1] = np.nan
    with pytest.raises(InvalidInputError, match="NaN/inf"):
        save_mesh(tmp_path / "a.obj", bad, faces)
    with pytest.raises(InvalidInputError, match=r"index vertices 0\.\.39, found indices 0\.\.40"):
        save_mesh(tmp_path / "a.obj", vertices, np.vstack([faces, [[0, 1, 40]]]))
    with pytest.raises(InvalidInputError, match=r"\.obj or \.ply"):
        save_mesh(tmp_path / "a.stl", vertices, faces)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------- broken input files
TRUNCATED = object()  # built in the test from a valid binary PLY
ERROR_CASES = [
    ("empty.obj", b"", "found none; the file is empty or not an OBJ"),
    ("comments.obj", b"# nothing\n# here\n", "found none"),
    ("nan.obj", b"v nan 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", "NaN or inf .*vertex 0"),
    ("inf.obj", b"v 0 0 0\nv inf 0 0\nv 0 1 0\nf 1 2 3\n", "NaN or inf .*vertex 1"),
    ("range.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 99\n", r"between 0 and 2 .*found 0\.\.98"),
    ("zero.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 1 2\n", "line 4: .*starting at 1"),
    (
        "missing_z.obj",
        b"v 0 0\nv 1 0\nv 0 1\nf 1 2 3\n",
        "line 1: expected a vertex 'v x y z', found 2",
    ),
    (
        "text.obj",
        b"v a b c\nv 1 0 0\nv 0 1 0\nf 1 2 3\n",
        "numeric vertex coordinates, found 'v a b c'",
    ),
    (
        "points.obj",
        b"v 0 0 0\nv 1 0 0\nv 0 1 0\nl 1 2\n",
        "at least 3 vertices and 1 face.*0 faces",
    ),
    ("badface.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 x 3\n", "line 4: expected face corners"),
    ("random.obj", np.random.default_rng(0).bytes(4096), "binary data"),
    ("random.ply", np.random.default_rng(1).bytes(4096), "starting with the line 'ply'"),
    ("garbage.ply", b"ply\n" + np.random.default_rng(2).bytes(512), "damaged or truncated"),
    ("empty.ply", b"", "starting with the line 'ply'"),
    ("header.ply", _ply_ascii([], []), "at least 3 vertices and 1 face"),
    (
        "short.ply",
        _ply_ascii([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]]).replace(
            b"vertex 3", b"vertex 10"
        ),
        "at least 3 vertices and 1 face",
    ),
    ("plyrange.ply", _ply_ascii([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 7]]), r"found 0\.\.7"),
    ("plynan.ply", _ply_ascii([["nan", 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]]), "NaN or inf"),
    ("truncated.ply", TRUNCATED, "damaged or truncated"),
    ("mesh.stl", b"solid x\nendsolid x\n", r"\.obj or \.ply mesh, found a '\.stl'"),
]


@pytest.mark.parametrize(("name", "data", "pattern"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_broken_files_raise_mesh_format_error_naming_the_file(
    tmp_path, random_mesh, name, data, pattern
):
    if data is TRUNCATED:
        save_mesh(tmp_path / "full.ply", *random_mesh)
        full = (tmp_path / "full.ply").read_bytes()
        data = full[: len(full) * 2 // 3]
    path = _write(tmp_path, name, data)
    with pytest.raises(MeshFormatError, match=pattern) as info:
        load_mesh(path)
    message = str(info.value)
    assert name in message
    assert ";" in message or "—" in message  # says what to do


def test_missing_folder_and_oversized_files(tmp_path):
    with pytest.raises(MeshFormatError, match="does not exist; check the path"):
        load_mesh(tmp_path / "nope.obj")
    (tmp_path / "dir.obj").mkdir()
    with pytest.raises(MeshFormatError, match="is a folder"):
        load_mesh(tmp_path / "dir.obj")
    path = _write(tmp_path, "big.obj", SQUARE_OBJ)
    with pytest.raises(MeshFormatError, match="at most 0 MB.*decimate"):
        load_mesh(path, max_bytes=16)


# ------------------------------------------------------------------------------------ topology
def test_check_topology_vertex_count_message():
    mesh = MeshData(np.zeros((5023, 3)), np.array([[0, 1, 2]]))
    with pytest.raises(TopologyMismatchError) as info:
        check_topology(mesh, None, 4312)
    assert str(info.value) == (
        "this face has 5023 vertices but the model's topology has 4312; load a mesh exported "
        "from the model's template (same vertices, same order)"
    )
    with pytest.raises(TopologyMismatchError, match="has 5 vertices .* has 4;.*from CoMA"):
        check_topology(np.zeros((5, 3)), None, 4, template_name="CoMA")
    check_topology(np.zeros((4, 3)), None, 4)


def test_check_topology_faces():
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    vertices = np.zeros((4, 3))
    check_topology(MeshData(vertices, faces.copy()), faces, 4)
    check_topology(MeshData(vertices, faces[:, [1, 2, 0]]), faces, 4)  # same triangles, rotated
    with pytest.raises(TopologyMismatchError, match="1 triangles but the model's topology has 2"):
        check_topology(MeshData(vertices, faces[:1]), faces, 4)
    flipped = faces[:, [0, 2, 1]]  # orientation changed = different topology
    with pytest.raises(TopologyMismatchError, match=r"different triangles \(first at triangle 0"):
        check_topology(MeshData(vertices, flipped), faces, 4)


# ------------------------------------------------------------------------------ small helpers
def test_mesh_warnings_report_quality_problems():
    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [2, 0, 0], [5, 5, 5]], float) * 100
    faces = np.array([[0, 1, 2], [0, 1, 2], [0, 1, 3], [0, 0, 2]])
    notes = " | ".join(mesh_warnings(vertices, faces))
    assert "2 degenerate" in notes  # collinear 0-1-3 and repeated index
    assert "1 duplicate" in notes
    assert "1 vertex/vertices not used" in notes
    assert "millimetres" in notes
    assert mesh_warnings(vertices[:3] / 1000, faces[:1]) == []


def test_array_validators():
    assert as_vertices(np.zeros((3, 3), np.float32)).dtype == np.float32
    assert as_vertices(np.zeros((3, 3), np.int32)).dtype == np.float64
    with pytest.raises(InvalidInputError, match=r"\(V, 3\).*shape \(3, 2\)"):
        as_vertices(np.zeros((3, 2)))
    with pytest.raises(InvalidInputError, match="integers"):
        as_faces(np.zeros((1, 3)), 3)
    with pytest.raises(InvalidInputError, match="non-empty"):
        as_faces(np.zeros((0, 3), int), 3)
