"""``generate --neutral FACE`` on an OBJ of quads, pentagons and triangles with materials: the OBJ
frames keep its polygons, corner order, UV indices, ``usemtl`` lines, ``.mtl`` and texture; the GLB
keeps its UVs."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from core.assets import load_face, load_landmarks
from core.cli import run_cli
from core.fit.remesh import remesh_template
from core.io.mesh_io import load_mesh
from tests._polygon_face import f_lines, write_polygon_face

FACE = load_face()


@pytest.fixture(scope="module")
def poly_face(tmp_path_factory):
    d = tmp_path_factory.mktemp("polyface")
    r = remesh_template(FACE.vertices, FACE.faces, FACE.skin, seed=13)
    polys = write_polygon_face(d, r.vertices, r.faces)
    np.save(d / "lm.npy", r.to_template.inverse(FACE.vertices[load_landmarks().indices]))
    args = ["fit", "--mesh", str(d / "face.obj"), "--landmarks", str(d / "lm.npy")]
    assert run_cli([*args, "--out", str(d / "FIT.npz")]) == 0
    return d, r, polys


def _generate(d, out, fmt: str) -> None:
    args = ["generate", "--label", "happy", "--seeds", "2", "--frames", "3", "--format", fmt]
    face = ["--neutral", str(d / "face.obj"), "--fit", str(d / "FIT.npz")]
    assert run_cli([*args, *face, "--out", str(out)]) == 0


def test_obj_frames_keep_the_users_polygons_and_materials(poly_face, tmp_path):
    d, r, polys = poly_face
    _generate(d, tmp_path / "gen", "obj")
    seq = tmp_path / "gen" / "happy_seed2"
    assert {"face.mtl", "skin.png", "manifest.json"} <= {p.name for p in seq.iterdir()}
    assert (seq / "skin.png").read_bytes() == (d / "tex" / "skin.png").read_bytes()
    assert "map_Kd skin.png" in (seq / "face.mtl").read_text()
    src, out = (d / "face.obj").read_text(), (seq / "frame_0002.obj").read_text()
    assert f_lines(out) == polys  # same polygons, same corner order
    uv_ids = [
        [c.split("/")[1] for c in ln.split()[1:]] for ln in out.splitlines() if ln[:2] == "f "
    ]
    assert uv_ids == [[str(i + 1) for i in p] for p in polys]  # same face-vertex/uv indices
    src_vt = [ln for ln in src.splitlines() if ln.startswith("vt ")]
    assert [ln for ln in out.splitlines() if ln.startswith("vt ")] == src_vt
    for line in ("mtllib face.mtl", "usemtl skin", "usemtl lips", "g skin", "o scan"):
        assert line in out.splitlines()
    first = load_mesh(seq / "frame_0001.obj")
    np.testing.assert_allclose(first.vertices, r.vertices, atol=2e-6)  # frame 1 = the face
    last = load_mesh(seq / "frame_0003.obj")
    assert np.abs(last.vertices - r.vertices).max() > 0.01  # it moves (centimetres)
    manifest = json.loads((seq / "manifest.json").read_text())
    assert manifest["materials"] == ["face.mtl", "skin.png"]


def test_glb_keeps_the_users_uvs_materials_and_texture(poly_face, tmp_path):
    trimesh = pytest.importorskip("trimesh")
    d, r, _ = poly_face
    _generate(d, tmp_path / "gen", "glb")
    glb = tmp_path / "gen" / "happy_seed2" / "happy_seed2.glb"
    scene = trimesh.load(io.BytesIO(glb.read_bytes()), file_type="glb", process=False)
    g = next(iter(scene.geometry.values()))
    mesh = load_mesh(d / "face.obj")
    assert len(g.vertices) == mesh.n_vertices  # one vt per vertex here: no seam copies
    np.testing.assert_allclose(g.visual.uv, mesh.uv, atol=1e-6)
    data = glb.read_bytes()
    n_json = int.from_bytes(data[12:16], "little")
    doc, blob = json.loads(data[20 : 20 + n_json]), data[28 + n_json :]

    def view_bytes(view):
        return blob[view["byteOffset"] : view["byteOffset"] + view["byteLength"]]

    # one primitive per material, in order of use: 'skin' (textured), then 'lips' (its Kd)
    assert [m["name"] for m in doc["materials"]] == ["skin", "lips"]
    prims = doc["meshes"][0]["primitives"]
    assert [p["material"] for p in prims] == [0, 1]
    half = len(mesh.layout.sizes) // 2  # 'usemtl lips' precedes the second half of polygons
    n_skin = int((mesh.layout.sizes[:half] - 2).sum())
    skin_idx = np.frombuffer(
        view_bytes(doc["bufferViews"][doc["accessors"][prims[0]["indices"]]["bufferView"]]), "<u4"
    )
    np.testing.assert_array_equal(skin_idx.reshape(-1, 3), mesh.faces[:n_skin])
    assert doc["accessors"][prims[1]["indices"]]["count"] == 3 * (mesh.n_faces - n_skin)
    lips = doc["materials"][1]["pbrMetallicRoughness"]
    assert lips["baseColorFactor"] == pytest.approx([0.7, 0.3, 0.3, 1.0])
    assert doc["materials"][0]["pbrMetallicRoughness"]["baseColorTexture"]["index"] == 0
    assert doc["images"][0]["mimeType"] == "image/png" and len(doc["images"]) == 1
    png = (d / "tex" / "skin.png").read_bytes()
    assert view_bytes(doc["bufferViews"][doc["images"][0]["bufferView"]]) == png
