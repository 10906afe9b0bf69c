"""``python main.py replay`` of exports made on a face of another topology (CLI
``generate --neutral FACE`` and the studio, after a slider move): identical bytes in the user's
polygons and materials; a mesh changed or moved since the export is refused in one line.
Tiny random models (:mod:`tests._tiny_models`) and a re-meshed template fitted from its true
landmarks keep it fast."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.assets import load_face, load_landmarks
from core.cli import run_cli
from core.fit.remesh import remesh_template
from tests._polygon_face import write_polygon_face
from tests._replay import (  # noqa: F401 - a fixture
    replay_cli,
    same_folders,
    studio_export,
    tiny_session,
)
from tests._tiny_models import tiny_weights, weight_args  # noqa: F401 - a fixture

pytestmark = pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
FACE = load_face()


@pytest.fixture(scope="module")
def poly_face(tmp_path_factory):
    d = tmp_path_factory.mktemp("replayface")
    r = remesh_template(FACE.vertices, FACE.faces, FACE.skin, seed=17)
    write_polygon_face(d, r.vertices, r.faces)
    np.save(d / "lm.npy", r.to_template.inverse(FACE.vertices[load_landmarks().indices]))
    args = ["fit", "--mesh", str(d / "face.obj"), "--landmarks", str(d / "lm.npy")]
    assert run_cli([*args, "--out", str(d / "FIT.npz")]) == 0
    return d


def test_cli_generate_on_a_users_face_replays_byte_for_byte(
    poly_face,
    tiny_weights,  # noqa: F811
    tmp_path,
    capsys,
):
    d = poly_face
    w = weight_args(*tiny_weights)
    face = ["--neutral", str(d / "face.obj"), "--fit", str(d / "FIT.npz")]
    argv = ["generate", "--label", "happy", "--seeds", "4", "--frames", "5", *face, *w]
    assert run_cli([*argv, "--device", "cpu", "--out", str(tmp_path / "g")]) == 0
    seq = tmp_path / "g" / "happy_seed4"
    man = json.loads((seq / "manifest.json").read_text())
    assert man["replay"]["face"]["user"]["fit"] == "face_fit.npz"
    capsys.readouterr()
    rc, err = replay_cli(seq / "manifest.json", tmp_path / "r", tiny_weights, capsys)
    assert rc == 0, err
    names = same_folders(seq, tmp_path / "r")
    assert {"face.mtl", "skin.png", "face_fit.npz", "frame_0005.obj"} <= set(names)

    obj = d / "face.obj"  # the mesh changed since the export: one line, exit 2, nothing written
    original = obj.read_bytes()
    obj.write_bytes(original + b"# edited\n")
    rc, err = replay_cli(seq / "manifest.json", tmp_path / "x", tiny_weights, capsys)
    assert rc == 2 and "changed since the export" in err and err.count("\n") == 1
    obj.rename(d / "moved.obj")  # moved away
    rc, err = replay_cli(seq / "manifest.json", tmp_path / "x", tiny_weights, capsys)
    assert rc == 2 and "moved or deleted" in err and err.count("\n") == 1
    (d / "moved.obj").rename(obj)
    obj.write_bytes(original)
    (seq / "face_fit.npz").unlink()
    rc, err = replay_cli(seq / "manifest.json", tmp_path / "x", tiny_weights, capsys)
    assert rc == 2 and "face_fit.npz is missing" in err
    assert not (tmp_path / "x").exists()


def test_cli_generate_on_a_textured_glb_face_replays_with_its_mtl(
    tiny_weights,  # noqa: F811
    tmp_path,
    capsys,
):
    """A GLB face's own material becomes ``materials.mtl`` + PNG in an OBJ export; replay
    writes them again byte for byte."""
    import trimesh
    from PIL import Image

    r = remesh_template(FACE.vertices, FACE.faces, FACE.skin, seed=17)
    mesh = trimesh.Trimesh(r.vertices, r.faces, process=False)
    pixels = (np.random.default_rng(3).random((8, 8, 3)) * 255).astype(np.uint8)
    mesh.visual = trimesh.visual.TextureVisuals(
        uv=np.random.default_rng(4).random((len(r.vertices), 2)),
        material=trimesh.visual.material.PBRMaterial(
            name="face skin", baseColorTexture=Image.fromarray(pixels)
        ),
    )
    mesh.export(str(tmp_path / "face.glb"))
    np.save(tmp_path / "lm.npy", r.to_template.inverse(FACE.vertices[load_landmarks().indices]))
    fit = ["--mesh", str(tmp_path / "face.glb"), "--landmarks", str(tmp_path / "lm.npy")]
    assert run_cli(["fit", *fit, "--out", str(tmp_path / "FIT.npz")]) == 0
    face = ["--neutral", str(tmp_path / "face.glb"), "--fit", str(tmp_path / "FIT.npz")]
    argv = ["generate", "--label", "happy", "--seeds", "4", "--frames", "3", *face]
    w = weight_args(*tiny_weights)
    assert run_cli([*argv, *w, "--device", "cpu", "--out", str(tmp_path / "g")]) == 0
    seq = tmp_path / "g" / "happy_seed4"
    assert "map_Kd face_skin.png" in (seq / "materials.mtl").read_text()
    assert (seq / "frame_0001.obj").read_text().count("mtllib materials.mtl") == 1
    capsys.readouterr()
    rc, err = replay_cli(seq / "manifest.json", tmp_path / "r", tiny_weights, capsys)
    assert rc == 0, err
    names = same_folders(seq, tmp_path / "r")
    assert {"materials.mtl", "face_skin.png", "face_fit.npz"} <= set(names)


def test_cli_interpolate_on_our_own_face_replays_byte_for_byte(
    tiny_weights,  # noqa: F811
    tmp_path,
    capsys,
):
    w = weight_args(*tiny_weights)
    argv = ["interpolate", "--from", "happy:1", "--to", "sad:2", "--steps", "2", *w]
    assert run_cli([*argv, "--device", "cpu", "--format", "ply", "--out", str(tmp_path / "i")]) == 0
    step = next((tmp_path / "i").glob("step_001*"))
    capsys.readouterr()
    rc, err = replay_cli(step / "manifest.json", tmp_path / "r", tiny_weights, capsys)
    assert rc == 0, err
    assert len(same_folders(step, tmp_path / "r")) == 31  # 30 frames + manifest


def _studio_on_user_face(folder, session):
    """The tiny studio ``session`` (session, apps controller) with the mesh and fit of
    ``folder`` (the ``poly_face`` fixture) open."""
    from app.any_face_ui import use_any_face
    from core.fit.any_face import open_face

    s, apps = session
    use_any_face(s, open_face(folder / "face.obj", fit=folder / "FIT.npz"))
    return s, apps


def test_studio_export_on_a_users_face_with_sliders_replays_byte_for_byte(
    poly_face,
    tiny_session,  # noqa: F811
    tiny_weights,  # noqa: F811
    qtbot,
    tmp_path,
    capsys,
):
    s, apps = _studio_on_user_face(poly_face, tiny_session)
    apps.set_face({"nose-width": 0.4}, "Face sliders")
    assert s.face.user is not None
    s.generate("surprised", 2)
    qtbot.waitUntil(lambda: s.source.kind == "generate" and s.idle, timeout=30000)
    out = tmp_path / "studio"
    studio_export(qtbot, s, out)
    capsys.readouterr()
    rc, err = replay_cli(out / "manifest.json", tmp_path / "r", tiny_weights, capsys)
    assert rc == 0, err
    assert "face_fit.npz" in same_folders(out, tmp_path / "r")


def test_studio_export_after_neutralize_on_a_users_face_replays_byte_for_byte(
    poly_face,
    tiny_session,  # noqa: F811
    tiny_weights,  # noqa: F811
    qtbot,
    tmp_path,
    capsys,
):
    """Sliders, then Face ▸ Neutralize re-binds the user's face (a new fit and base mesh): the
    export's fit file carries both, and replay writes the same bytes; a damaged base refused."""
    s, apps = _studio_on_user_face(poly_face, tiny_session)
    apps.set_face({"nose-width": 0.4}, "Face sliders")
    apps.neutralize()
    qtbot.waitUntil(lambda: "neutralized" in s.face.name, timeout=30000)
    assert s.face.user.rebased
    s.generate("surprised", 2)
    qtbot.waitUntil(lambda: s.source.kind == "generate" and s.idle, timeout=30000)
    out = tmp_path / "studio"
    studio_export(qtbot, s, out)
    with np.load(out / "face_fit.npz") as z:
        np.testing.assert_array_equal(z["mesh_vertices"], s.face.user.mesh.vertices)
    capsys.readouterr()
    rc, err = replay_cli(out / "manifest.json", tmp_path / "r", tiny_weights, capsys)
    assert rc == 0, err
    assert "face_fit.npz" in same_folders(out, tmp_path / "r")

    with np.load(out / "face_fit.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["mesh_vertices"] = arrays["mesh_vertices"][:-1]  # one vertex short
    np.savez_compressed(out / "face_fit.npz", **arrays)
    rc, err = replay_cli(out / "manifest.json", tmp_path / "x", tiny_weights, capsys)
    assert rc == 2 and "mesh_vertices has shape" in err and err.count("\n") == 1
    assert not (tmp_path / "x").exists()
