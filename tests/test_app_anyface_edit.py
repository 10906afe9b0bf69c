"""A face of another topology in the studio keeps the user's mesh through the Face dock's sliders
and Face ▸ Neutralize: the change moves the fitted template and reaches the user's mesh through
the binding; undo/redo work; the export is in the user's polygons and materials. Real key events
on the slider, under Xvfb. Uses a re-meshed copy of our template (quads, pentagons, triangles)
fitted from its true 68 landmarks."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt

from core.assets import load_face, load_landmarks
from core.fit.remesh import remesh_template
from tests._polygon_face import f_lines, write_polygon_face

pytestmark = pytest.mark.gl


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    from core.fit.any_face import open_face

    face = load_face()
    d = tmp_path_factory.mktemp("anyface_edit")
    r = remesh_template(face.vertices, face.faces, face.skin, seed=5)
    polys = write_polygon_face(d, r.vertices, r.faces)
    np.save(d / "lm.npy", r.to_template.inverse(face.vertices[load_landmarks().indices]))
    return open_face(d / "face.obj", landmarks=d / "lm.npy"), polys


def test_sliders_and_neutralize_keep_the_users_mesh(studio, qtbot, fitted, tmp_path):
    from app.any_face_ui import use_any_face
    from core.io.mesh_io import load_mesh

    anyf, polys = fitted
    w, s = studio, studio.session
    use_any_face(s, anyf)
    fitted_v = s.face.vertices.copy()
    vp = w.viewport
    n_user = anyf.mesh.n_vertices

    name = next(n for n in w.face_panel.sliders if "nose" in n)
    slider = w.face_panel.sliders[name]
    w.face_panel.filter.setText(name.replace("_", " "))  # opens its section
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_PageUp)  # one committed step
    qtbot.keyClick(slider, Qt.Key.Key_PageUp)
    qtbot.waitUntil(lambda: bool(s.face.sliders), timeout=5000)
    assert s.face.user is anyf  # still the user's face
    moved = np.abs(s.face.vertices - fitted_v).max()
    assert moved > 1e-4  # the fitted template changed (metres)
    qtbot.waitUntil(lambda: vp.face.skin_mesh.n_points == n_user, timeout=5000)
    shown = np.asarray(vp.face.skin_mesh.points)
    base = anyf.fit.to_template.apply(anyf.mesh.vertices)
    assert np.abs(shown - base).max() > 0.5 * moved  # the user's mesh moved with it
    w.grab().save(str(tmp_path / "sliders.png"))

    s.undo_stack.undo()
    s.undo_stack.undo()
    np.testing.assert_array_equal(s.face.vertices, fitted_v)
    assert s.face.user is anyf and not s.face.sliders
    s.undo_stack.redo()
    s.undo_stack.redo()
    assert s.face.user is anyf and s.face.sliders
    after_sliders = s.face.vertices.copy()

    act = next(a for a in w.findChildren(type(w.open_action)) if a.objectName() == "neutralize")
    act.trigger()
    qtbot.waitUntil(lambda: "neutralized" in s.face.name, timeout=20000)
    new = s.face.user  # re-bound: a new fit, the same mesh file; the sliders are in its base
    assert new is not anyf and new.rebased and not s.face.sliders
    assert new.mesh.faces is anyf.mesh.faces and new.mesh.layout is anyf.mesh.layout
    assert s.face.vertices.shape == fitted_v.shape
    qtbot.waitUntil(lambda: vp._user is not None and vp._user.user is new, timeout=5000)
    assert vp.face.skin_mesh.n_points == n_user  # the viewport shows the neutralized mesh
    base = new.fit.to_template.apply(new.mesh.vertices)
    np.testing.assert_allclose(np.asarray(vp.face.skin_mesh.points), base, atol=1e-6)

    out = tmp_path / "seq"
    assert s.export("obj", str(out))
    qtbot.waitUntil(lambda: (out / "manifest.json").exists(), timeout=30000)
    assert {"face.mtl", "skin.png"} <= {p.name for p in out.iterdir()}
    first = out / "frame_0001.obj"
    assert f_lines(first.read_text()) == polys  # the user's own polygons
    got = load_mesh(first).vertices
    want = new.fit.carry(s.face.vertices[None], new.mesh.vertices)[0]
    np.testing.assert_allclose(got, want, atol=2e-5)  # the neutralized face, in its topology
    w.apps.export_neutral(str(tmp_path / "neutral.obj"))  # the neutral in the user's mesh
    neutral = tmp_path / "neutral.obj"
    assert f_lines(neutral.read_text()) == polys
    np.testing.assert_allclose(load_mesh(neutral).vertices, want, atol=2e-5)
    glb = tmp_path / "clip.glb"  # the GLB keeps the user's UVs
    assert s.export("glb", str(glb))
    qtbot.waitUntil(lambda: glb.with_name("clip.manifest.json").exists(), timeout=30000)
    doc = json.loads(glb.read_bytes()[20 : 20 + int.from_bytes(glb.read_bytes()[12:16], "little")])
    assert "TEXCOORD_0" in doc["meshes"][0]["primitives"][0]["attributes"]
    assert doc["meshes"][0]["extras"]["sourceVertexCount"] == n_user
    s.undo_stack.undo()  # Neutralize undone: the slider face again, on the first fit
    np.testing.assert_array_equal(s.face.vertices, after_sliders)
    assert s.face.user is anyf and s.face.sliders
    qtbot.waitUntil(lambda: vp._user is not None and vp._user.user is anyf, timeout=5000)
    s.undo_stack.redo()
    assert s.face.user is new
