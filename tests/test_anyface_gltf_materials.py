"""A glTF/GLB input face keeps its materials: each piece's base colour and base-colour texture
come back, per piece, from a GLB export (``core.fit.load`` -> ``material_groups`` ->
``export_glb``); an OBJ export of it gets one ``.mtl`` (``Kd``, ``map_Kd`` + PNG) that
Blender-style readers (trimesh) resolve back to the same colours, texture and UVs."""

from __future__ import annotations

import io
import json

import numpy as np
import trimesh
from PIL import Image

from core.fit.load import load_any_mesh
from core.io.export import export_sequence
from core.io.export_gltf import export_glb
from core.io.mesh_io import load_mesh
from core.io.obj_layout import material_groups

PBR = trimesh.visual.material.PBRMaterial


def _two_piece_glb(path, skin_name="skin"):
    skin = trimesh.creation.icosphere(1)
    pixels = (np.random.default_rng(0).random((8, 8, 3)) * 255).astype(np.uint8)
    uv = np.random.default_rng(1).random((len(skin.vertices), 2))
    skin.visual = trimesh.visual.TextureVisuals(
        uv=uv, material=PBR(name=skin_name, baseColorTexture=Image.fromarray(pixels))
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


def test_glb_input_without_materials_has_no_layout(tmp_path):
    trimesh.creation.icosphere(1).export(str(tmp_path / "plain.glb"))
    assert load_any_mesh(tmp_path / "plain.glb").layout is None


def _export_obj(dest, frames, mesh):
    """An OBJ sequence of ``frames`` in ``mesh``'s topology, UVs and layout."""
    return export_sequence(
        dest, frames, mesh.faces, uv=mesh.uv, face_uv=mesh.face_uv, fmt="obj", layout=mesh.layout
    )


def test_obj_export_of_a_glb_face_writes_its_materials(tmp_path):
    pixels = _two_piece_glb(tmp_path / "face.glb", skin_name="skin tone/1")  # name made safe
    mesh = load_any_mesh(tmp_path / "face.glb")
    frames = np.stack([mesh.vertices, mesh.vertices * 1.1]).astype(np.float32)
    out = _export_obj(tmp_path / "seq", frames, mesh)
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "frame_0001.obj",
        "frame_0002.obj",
        "manifest.json",
        "materials.mtl",
        "skin_tone_1.png",
    ]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["materials"] == ["materials.mtl", "skin_tone_1.png"]
    mtl = (out / "materials.mtl").read_text().split()
    assert mtl[mtl.index("map_Kd") + 1] == "skin_tone_1.png"
    for k, name in enumerate(["frame_0001.obj", "frame_0002.obj"]):
        text = (out / name).read_text()
        assert "mtllib materials.mtl" in text and "usemtl skin_tone_1" in text
        # trimesh's maintain_order breaks on a piece that skips the first vertices (its UVs
        # come back None), so pieces are read unordered and matched by position
        back = trimesh.load(out / name, process=False)
        pieces = {g.visual.material.name: g for g in back.geometry.values()}
        assert sorted(pieces) == ["eye", "skin_tone_1"]
        eye, skin = pieces["eye"], pieces["skin_tone_1"]
        assert len(eye.faces) == 12 and len(skin.faces) == 80
        assert list(eye.visual.material.diffuse[:3]) == [20, 40, 200]
        assert eye.visual.material.image is None
        texture = np.asarray(skin.visual.material.image.convert("RGB"))
        assert np.array_equal(texture, pixels)  # PNG, lossless
        for piece in (eye, skin):
            d = np.linalg.norm(piece.vertices[:, None] - frames[k][None], axis=-1)  # (n, V)
            src = d.argmin(axis=1)
            assert d.min(axis=1).max() < 1e-5
            assert np.allclose(piece.visual.uv, mesh.uv[src], atol=1e-6)
        assert len(np.unique(src)) == 42  # every skin vertex came back
    assert np.allclose(load_mesh(out / "frame_0001.obj").vertices, mesh.vertices, atol=1e-5)
    again = load_any_mesh(tmp_path / "face.glb")  # what replay does: load again, export again
    _export_obj(tmp_path / "seq2", frames, again)
    for n in names:
        assert (tmp_path / "seq2" / n).read_bytes() == (out / n).read_bytes(), n
