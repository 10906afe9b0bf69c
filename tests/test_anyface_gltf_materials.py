"""A glTF/GLB input face keeps its materials: each piece's base colour and base-colour texture
come back, per piece, from a GLB export (``core.fit.load`` -> ``material_groups`` ->
``export_glb``); an OBJ export of it stays valid (``usemtl`` lines, no ``.mtl``)."""

from __future__ import annotations

import io

import numpy as np
import trimesh
from PIL import Image

from core.fit.load import load_any_mesh
from core.io.export import export_sequence
from core.io.export_gltf import export_glb
from core.io.mesh_io import load_mesh
from core.io.obj_layout import material_groups

PBR = trimesh.visual.material.PBRMaterial


def _two_piece_glb(path):
    skin = trimesh.creation.icosphere(1)
    pixels = (np.random.default_rng(0).random((8, 8, 3)) * 255).astype(np.uint8)
    uv = np.random.default_rng(1).random((len(skin.vertices), 2))
    skin.visual = trimesh.visual.TextureVisuals(
        uv=uv, material=PBR(name="skin", baseColorTexture=Image.fromarray(pixels))
    )
    eye = trimesh.creation.box()
    eye.apply_translation([3.0, 0.0, 0.0])
    eye.visual = trimesh.visual.TextureVisuals(
        uv=np.zeros((len(eye.vertices), 2)),
        material=PBR(name="eye", baseColorFactor=[20, 40, 200, 255]),
    )
    trimesh.Scene([skin, eye]).export(str(path))
    return pixels


def test_glb_input_materials_come_back_in_a_glb_export(tmp_path):
    pixels = _two_piece_glb(tmp_path / "face.glb")
    mesh = load_any_mesh(tmp_path / "face.glb")
    mats, groups = material_groups(mesh.layout, len(mesh.faces))
    assert sorted(m.name for m in mats) == ["eye", "skin"]
    by_name = {m.name: m for m in mats}
    assert np.allclose(by_name["eye"].color, np.array([20, 40, 200]) / 255)
    counts = {m.name: int((groups == i).sum()) for i, m in enumerate(mats)}
    assert counts == {"eye": 12, "skin": 80}  # a box and a once-subdivided icosphere
    frames = np.stack([mesh.vertices, mesh.vertices * 1.1]).astype(np.float32)
    out = export_glb(
        tmp_path / "out.glb",
        frames,
        mesh.faces,
        uv=mesh.uv,
        face_uv=mesh.face_uv,
        materials=mats,
        groups=groups,
    )
    back = trimesh.load(io.BytesIO(out.read_bytes()), file_type="glb", process=False)
    pieces = {g.visual.material.name: g for g in back.dump()}
    assert {k: len(g.faces) for k, g in pieces.items()} == counts
    assert list(pieces["eye"].visual.material.baseColorFactor[:3]) == [20, 40, 200]
    texture = np.asarray(pieces["skin"].visual.material.baseColorTexture.convert("RGB"))
    assert np.array_equal(texture, pixels)  # PNG, lossless


def test_glb_input_without_materials_has_no_layout_and_obj_export_stays_valid(tmp_path):
    trimesh.creation.icosphere(1).export(str(tmp_path / "plain.glb"))
    assert load_any_mesh(tmp_path / "plain.glb").layout is None
    _two_piece_glb(tmp_path / "face.glb")
    mesh = load_any_mesh(tmp_path / "face.glb")
    export_sequence(
        tmp_path / "seq",
        mesh.vertices[None].astype(np.float32),
        mesh.faces,
        fmt="obj",
        layout=mesh.layout,
    )
    objs = sorted((tmp_path / "seq").glob("*.obj"))
    text = objs[0].read_text()
    assert "usemtl eye" in text and "usemtl skin" in text and "mtllib" not in text
    assert np.allclose(load_mesh(objs[0]).vertices, mesh.vertices, atol=1e-5)
