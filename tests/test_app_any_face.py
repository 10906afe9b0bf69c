"""File ▸ Open face mesh (any topology): fit with progress, review, use, export in its topology,
undo; Cancel keeps the current face. Uses a re-meshed copy of our template and its true 68
landmarks (no detector needed)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from core.assets import load_face, load_landmarks
from core.fit.remesh import remesh_template
from core.io.mesh_io import load_mesh, save_mesh

pytestmark = pytest.mark.gl


@pytest.fixture(scope="module")
def face_file(tmp_path_factory):
    face, lm = load_face(), load_landmarks()
    d = tmp_path_factory.mktemp("anyface_gui")
    r = remesh_template(face.vertices, face.faces, face.skin, seed=21)
    save_mesh(d / "scan.obj", r.vertices, r.faces)
    np.save(d / "lm.npy", r.to_template.inverse(face.vertices[lm.indices].astype(float)))
    return d, r


def test_open_any_face_fit_use_export_and_undo(studio, qtbot, face_file, tmp_path):
    from app.any_face_ui import open_any_face

    d, r = face_file
    w, s = studio, studio.session
    act = next(a for a in w.findChildren(type(w.open_action)) if a.objectName() == "open_any_face")
    assert "any topology" in act.text()
    dlg = open_any_face(w, str(d / "scan.obj"), landmarks=str(d / "lm.npy"))
    qtbot.waitUntil(lambda: dlg.use_button.isEnabled(), timeout=60000)
    assert "fit error" in dlg.message.text() and dlg.progress.value() == 100
    assert not dlg.image.pixmap().isNull()
    qtbot.mouseClick(dlg.use_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.face.user is not None, timeout=10000)
    assert s.face.vertices.shape == (load_face().n_vertices, 3)  # the fitted template animates
    vp = w.viewport  # shows the user's own mesh, in the template frame, moving with the template
    assert vp.face.skin_mesh.n_points == len(r.vertices)
    expect = s.face.user.fit.to_template.apply(r.vertices)
    np.testing.assert_allclose(vp.face.skin_mesh.points, expect, atol=1e-5)
    w.grab().save(str(tmp_path / "window.png"))

    out = tmp_path / "seq"
    assert s.export("obj", str(out))
    qtbot.waitUntil(lambda: (out / "manifest.json").exists(), timeout=30000)
    frames = sorted(out.glob("frame_*.obj"))
    m = load_mesh(frames[0])
    assert m.n_vertices == len(r.vertices)
    np.testing.assert_array_equal(m.faces, r.faces)  # the user's topology and vertex order
    np.testing.assert_allclose(m.vertices, r.vertices, atol=1e-4)  # neutral = the user's mesh

    w.tabs.setCurrentWidget(w.compare_grid)  # the compare grid shows the user's mesh too
    s.compare("happy", [0, 1])
    grid = w.compare_grid
    qtbot.waitUntil(lambda: grid.plotter is not None and len(grid.faces) == 2, timeout=15000)
    assert all(f.skin_mesh.n_points == len(r.vertices) for f in grid.faces)
    w.tabs.setCurrentIndex(0)

    s.undo_stack.undo()
    assert s.face.user is None
    assert vp.face.skin_mesh.n_points == load_face().n_vertices  # our topology again


def test_cancel_keeps_the_current_face(studio, qtbot, face_file):
    from app.any_face_ui import open_any_face

    d, _ = face_file
    s = studio.session
    before = s.face
    dlg = open_any_face(studio, str(d / "scan.obj"), landmarks=str(d / "lm.npy"))
    dlg.cancel()
    qtbot.waitUntil(lambda: not dlg.running(), timeout=60000)
    qtbot.wait(50)
    assert dlg.face is None and s.face is before


def test_detected_points_can_be_dragged_before_fitting(studio, qtbot, face_file):
    pytest.importorskip("mediapipe")
    from PySide6.QtCore import QPoint

    from app.any_face_ui import open_any_face
    from core.fit.detect import ibug_pixels

    d, r = face_file
    s = studio.session
    dlg = open_any_face(studio, str(d / "scan.obj"))
    qtbot.waitUntil(lambda: dlg.fit_button.isEnabled(), timeout=60000)
    before = dlg.detection.points.copy()
    x, y = ibug_pixels(dlg.detection)[57]
    qtbot.mousePress(dlg.image, Qt.MouseButton.LeftButton, pos=QPoint(int(x), int(y)))
    qtbot.mouseRelease(dlg.image, Qt.MouseButton.LeftButton, pos=QPoint(int(x), int(y) + 6))
    moved = np.linalg.norm(dlg.detection.points - before, axis=1)
    from core.fit.mp68 import ibug_members

    # our landmark 57 is a mix of detector points (core.fit.mp68): those, and only those, move
    assert set(np.flatnonzero(moved > 0)) == set(ibug_members(57)[0].tolist())
    assert ibug_pixels(dlg.detection)[57][1] > y + 3  # the shown point went down with the drag
    qtbot.mouseClick(dlg.fit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.use_button.isEnabled(), timeout=60000)
    qtbot.mouseClick(dlg.use_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.face.user is not None, timeout=10000)
    assert s.face.user.mesh.n_vertices == len(r.vertices)


def test_open_neutral_face_of_another_topology_points_to_the_any_face_dialog(
    session, qtbot, face_file
):
    d, _ = face_file
    with qtbot.waitSignal(session.failed, timeout=20000) as sig:
        session.open_face(str(d / "scan.obj"))
    assert "Open face mesh (any topology)" in sig.args[0]
