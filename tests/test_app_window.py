"""The real main window under Xvfb, driven by real mouse and keyboard events (qtbot)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtWidgets import QStyle, QStyleOptionSlider

from core.io.mesh_io import load_mesh, save_mesh

pytestmark = pytest.mark.gl
MOUTH_CORNER = 48


def idle(qtbot, s, timeout=10000):
    qtbot.waitUntil(lambda: s.idle, timeout=timeout)


def click_generate(qtbot, w, label="high_smile"):
    panel = w.generate_panel
    s = w.session
    box = panel.label_box
    if box.currentData() != label:
        box.setFocus()
        target = box.findData(label)
        while box.currentIndex() != target:  # real key presses walk the list
            key = Qt.Key.Key_Down if box.currentIndex() < target else Qt.Key.Key_Up
            qtbot.keyClick(box, key)
            idle(qtbot, s)
    qtbot.mouseClick(panel.generate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.source.kind == "generate" and s.source.label == label, timeout=10000)
    idle(qtbot, s)


def test_launch_shows_face_docks_and_status(studio, qtbot):
    w = studio
    assert w.windowTitle().startswith("Sparse2Dense Studio")
    assert w.device_label.text() == "Device: CPU"
    assert {d.windowTitle() for d in w.docks.values()} == {
        "Generate",
        "Sculpt",
        "Interpolate",
        "Playback",
        "Face",
        "Timeline",
    }
    img = w.viewport.plotter.screenshot(return_img=True)
    h, wd = img.shape[:2]
    centre = img[h // 3 : 2 * h // 3, wd // 3 : 2 * wd // 3].reshape(-1, 3).astype(int)
    skin = (centre[:, 0] > centre[:, 2] + 40).mean()  # skin is much redder than the background
    assert skin > 0.5


def test_pick_label_generate_and_play(studio, qtbot):
    w, s = studio, studio.session
    click_generate(qtbot, w, "surprised")
    assert s.n_motion_frames == 30 and w.playback_bar.slider.maximum() == 29
    qtbot.keyClick(w, Qt.Key.Key_Space)  # play
    qtbot.waitUntil(lambda: s.frame >= 5, timeout=5000)
    assert s.playing
    qtbot.mouseClick(w.playback_bar.play_button, Qt.MouseButton.LeftButton)  # pause
    assert not s.playing
    frame = s.frame
    qtbot.keyClick(w, Qt.Key.Key_Period)
    assert s.frame == (frame + 1) % 30
    np.testing.assert_allclose(w.viewport.face.skin_mesh.points, s.current_vertices())
    qtbot.keyClick(w, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    assert w.playback_bar.slider.value() == 0
    panel = w.generate_panel
    assert not panel.side_box.isEnabled()  # surprised is symmetric
    click_generate(qtbot, w, "mouth_side")  # one-sided: a side, shown in the panel
    drawn = s.source.side
    assert panel.side_box.isEnabled() and drawn in ("left", "right")
    assert panel.info.text().endswith(f"seed {s.seed} · {drawn}")
    other = "right" if drawn == "left" else "left"
    before = s.snapshot.base.landmarks[-1].copy()  # apex of the drawn side
    panel.side_box.setFocus()  # choose the other side with the keyboard: regenerates
    for _ in range(2):  # "From the seed" -> "Left" -> "Right"
        if panel.side_box.currentData() != other:
            qtbot.keyClick(panel.side_box, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: s.source.side == other, timeout=10000)
    idle(qtbot, s)
    assert s.side == other and panel.info.text().endswith(f"· {other}")
    assert s.snapshot.base.meta["side"] == other
    assert not np.allclose(s.snapshot.base.landmarks[-1], before)  # the other side's apex
    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo: drawn side
    idle(qtbot, s)
    assert s.source.side == drawn


def drag_landmark(qtbot, w, k, offset=None, steps=8):
    offset = QPoint(-10, -40) if offset is None else offset
    vp, s = w.viewport, w.session
    start = vp.world_to_widget(s.current_landmarks()[k]).toPoint()
    qtbot.mousePress(vp.plotter, Qt.MouseButton.LeftButton, pos=start)
    for i in range(1, steps + 1):
        qtbot.mouseMove(vp.plotter, start + offset * i / steps)
        qtbot.wait(10)
    idle(qtbot, s)
    qtbot.mouseRelease(vp.plotter, Qt.MouseButton.LeftButton, pos=start + offset)
    idle(qtbot, s)


def test_drag_landmark_moves_face_nearby_only_and_undo_restores(studio, qtbot):
    w, s = studio, studio.session
    vp = w.viewport
    cam = vp.plotter.camera.position
    before = s.current_vertices().copy()
    lm = before[s.landmarks.indices[MOUTH_CORNER]]
    drag_landmark(qtbot, w, MOUTH_CORNER)
    assert vp.plotter.camera.position == cam  # the camera did not rotate
    after = s.current_vertices()
    moved = np.linalg.norm(after - before, axis=1)
    dist = np.linalg.norm(before - lm, axis=1)
    assert moved[dist < 0.006].max() > 0.002
    assert moved[dist > 0.05].max() < 1e-6
    np.testing.assert_allclose(vp.face.skin_mesh.points, after)  # what is on screen
    assert s.selected == MOUTH_CORNER and "mouth_right_corner" in w.sculpt_panel.name.text()
    assert "requested" in w.sculpt_panel.readout.text()
    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    idle(qtbot, s)
    np.testing.assert_array_equal(s.current_vertices(), before)
    np.testing.assert_allclose(vp.face.skin_mesh.points, before)


def test_landmarks_on_the_far_side_are_hidden_but_dragged_ones_stay_pickable(studio, qtbot):
    w, s = studio, studio.session
    vp = w.viewport
    # a mouth corner dragged behind the nose tip, on a face that cannot follow (the decoder
    # returns the neutral): the landmark lies ~2 cm under the nose, yet it can be grabbed again
    pipe = s.backend._pipeline
    pipe.decode = lambda neutral, lm: np.repeat(np.asarray(neutral, np.float32)[None], len(lm), 0)
    # edits decode through the per-edit gate: D(edited) = D(base) keeps the base face
    pipe.decode_edit = lambda neutral, lm, ref: np.asarray(ref.dense, np.float32)
    lms = s.current_landmarks()
    corner, nose = (vp.world_to_widget(lms[k]) for k in (MOUTH_CORNER, 30))
    # 6 px beside the nose tip: exactly on it, the nose (in front) is the one picked
    drag_landmark(qtbot, w, MOUTH_CORNER, (nose - corner).toPoint() + QPoint(6, 0))
    moved = s.current_landmarks()[MOUTH_CORNER]
    eye = np.array(vp.plotter.camera.position)
    assert np.linalg.norm(moved - eye) > np.linalg.norm(lms[30] - eye) + 0.015  # under the skin
    assert vp.landmark_at(vp.world_to_widget(moved)) == MOUTH_CORNER
    drag_landmark(qtbot, w, MOUTH_CORNER, QPoint(0, 20))
    assert s.undo_stack.count() == 2
    # seen from behind, the face's landmarks are on the far side: none can be picked
    vp.plotter.camera.azimuth = 180.0
    vp.plotter.renderer.ResetCameraClippingRange()
    lms = s.current_landmarks()
    assert [vp.landmark_at(vp.world_to_widget(lms[k])) for k in (8, 30, 48, 57)] == [None] * 4


def test_skin_culling_only_where_it_leaves_the_picture_unchanged(studio, qtbot):
    from core.mesh.topology import boundary_vertices

    w, s = studio, studio.session
    vp, p = w.viewport, w.viewport.plotter
    face = s.template
    rim = boundary_vertices(face.faces[face.skin[face.faces].all(1)])
    assert np.array_equal(vp.face.culling.rim, rim)
    assert 20 < len(rim) < 100 and face.vertices[rim, 2].max() < 0.06  # the neck's rim only
    click_generate(qtbot, w, "high_smile")
    s.set_frame(20)
    culled = {}
    for az, el in [(0, 0), (40, 15), (90, 0), (-60, -20), (0, 70), (160, 10), (0, -45), (180, -30)]:
        vp.reset_camera()
        p.camera.Azimuth(az)
        p.camera.Elevation(el)
        p.camera.OrthogonalizeViewUp()
        p.renderer.ResetCameraClippingRange()
        images = []
        for enabled in (False, True):
            vp.face.culling.enabled = enabled
            p.render()
            images.append(p.screenshot(return_img=True)[..., :3].astype(int))
        culled[(az, el)] = bool(vp.face.skin_actor.GetProperty().GetBackfaceCulling())
        changed = (np.abs(images[0] - images[1]).sum(-1) > 30).mean()
        assert changed < 2e-4, (az, el, changed)  # at most a few pixels along the rim
    # on from the front, the sides and above; off from below the neck and at grazing angles
    assert culled == {
        (0, 0): True,
        (40, 15): True,
        (90, 0): True,
        (-60, -20): True,
        (0, 70): True,
        (160, 10): False,
        (0, -45): False,
        (180, -30): False,
    }


def grab_rgba(plotter) -> np.ndarray:
    """(H, W, 4) uint8 of what the QOpenGLWidget shows (its framebuffer, after the hand-over)."""
    from PySide6.QtGui import QImage

    img = plotter.grabFramebuffer().convertToFormat(QImage.Format.Format_RGBA8888)
    return np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.width(), 4).copy()


def test_fast_frame_handover_shows_the_same_pixels(studio, qtbot):
    w, s = studio, studio.session
    vp = w.viewport
    p = vp.plotter
    click_generate(qtbot, w, "high_smile")
    s.select(MOUTH_CORNER)
    for option in (None, "wireframe", "heatmap"):
        if option:
            s.set_view_option(option, True)
        n = p.fast_handovers
        fast = grab_rgba(p)
        assert p.fast_handovers > n  # the single-renderer view takes the fast path
        p.fast_handover_enabled = False
        try:
            slow = grab_rgba(p)  # pyvistaqt's GL_LINEAR blit + alpha clear
        finally:
            p.fast_handover_enabled = True
        assert fast.shape[2] == 4 and fast[..., 3].min() == 255  # opaque everywhere
        np.testing.assert_array_equal(fast, slow)


def test_background_drag_rotates_camera_and_ctrl_click_pins(studio, qtbot):
    w, s = studio, studio.session
    vp = w.viewport
    cam = vp.plotter.camera.position
    corner = QPoint(30, 30)
    qtbot.mousePress(vp.plotter, Qt.MouseButton.LeftButton, pos=corner)
    for i in range(1, 6):
        qtbot.mouseMove(vp.plotter, corner + QPoint(12 * i, 0))
    qtbot.mouseRelease(vp.plotter, Qt.MouseButton.LeftButton, pos=corner + QPoint(60, 0))
    assert vp.plotter.camera.position != cam
    assert s.undo_stack.count() == 0
    qtbot.keyClick(w, Qt.Key.Key_R)  # reset camera
    pos = vp.world_to_widget(s.current_landmarks()[8]).toPoint()
    qtbot.mouseClick(
        vp.plotter, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, pos
    )
    assert 8 in s.pins


def test_interpolation_slider_changes_animation(studio, qtbot):
    w, s = studio, studio.session
    slider = w.interpolate_panel.slider
    slider.setFocus()
    for _ in range(5):
        qtbot.keyClick(slider, Qt.Key.Key_PageDown)  # 50 -> 0 in page steps
    qtbot.waitUntil(lambda: s.source.kind == "interpolate" and s.source.tau == 0.0, timeout=10000)
    idle(qtbot, s)
    at_a = s.frames_vertices().copy()
    opt = QStyleOptionSlider()
    slider.initStyleOption(opt)
    handle = (
        slider.style()
        .subControlRect(
            QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderHandle, slider
        )
        .center()
    )
    qtbot.mousePress(slider, Qt.MouseButton.LeftButton, pos=handle)  # drag the handle to B
    for i in range(1, 9):
        qtbot.mouseMove(slider, handle + QPoint((slider.width() - handle.x()) * i // 8, 0))
        qtbot.wait(20)
    qtbot.mouseRelease(
        slider, Qt.MouseButton.LeftButton, pos=QPoint(slider.width() - 1, handle.y())
    )
    qtbot.waitUntil(lambda: s.source.tau == 1.0, timeout=10000)
    idle(qtbot, s)
    assert np.abs(s.frames_vertices()[-1] - at_a[-1]).max() > 1e-3
    assert w.interpolate_panel.tau_label.text() == "τ = 1.00"
    qtbot.waitUntil(lambda: s.undo_stack.undoText().startswith("Interpolate"), timeout=5000)


def test_compare_grid_shows_four_seeds(studio, qtbot):
    w, s = studio, studio.session
    w.tabs.setCurrentWidget(w.compare_grid)
    grid = w.compare_grid
    assert grid.count.value() == 4
    qtbot.mouseClick(grid.show_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: grid.plotter is not None and len(grid.faces) == 4, timeout=15000)
    assert grid.captions() == ["seed 0", "seed 1", "seed 2", "seed 3"]
    assert len(grid.plotter.renderers) == 4
    assert s.timeline_frames == 30
    s.set_frame(29)
    qtbot.wait(50)
    tips = [f.skin_mesh.points[s.landmarks.indices[57]] for f in grid.faces]
    assert len({tuple(np.round(t, 6)) for t in tips}) == 4  # four different expressions
    p = grid.plotter
    n = p.fast_handovers
    fast = grab_rgba(p)  # a 2x2 grid of opaque renderers tiles the frame: the fast hand-over
    assert p.fast_handovers > n and fast[..., 3].min() == 255
    p.fast_handover_enabled = False
    try:
        np.testing.assert_array_equal(fast, grab_rgba(p))
    finally:
        p.fast_handover_enabled = True
    qtbot.mouseClick(
        p, Qt.MouseButton.LeftButton, pos=QPoint(p.width() * 3 // 4, p.height() * 3 // 4)
    )
    assert grid.selected == 3 and "seed 3" in grid.selection.text()
    qtbot.mouseClick(grid.a_button, Qt.MouseButton.LeftButton)
    assert s.interp_a == (grid.label_box.currentData(), 3)
    qtbot.mouseClick(grid.edit_button, Qt.MouseButton.LeftButton)
    assert s.source.seed == 3 and s.source.kind == "generate"


def test_export_obj_sequence_from_dialog(studio, qtbot, tmp_path):
    w, s = studio, studio.session
    click_generate(qtbot, w, "happy")
    qtbot.keyClick(w, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    dlg = w.export_dialog
    assert dlg is not None and dlg.isVisible()
    dlg.set_format("obj")
    dlg.path.setText(str(tmp_path / "happy_seq"))
    qtbot.mouseClick(dlg.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Exported" in dlg.message.text(), timeout=20000)
    files = sorted((tmp_path / "happy_seq").glob("frame_*.obj"))
    assert len(files) == s.n_motion_frames == 30
    m = load_mesh(files[-1])
    assert m.vertices.shape[0] == s.template.n_vertices
    np.testing.assert_allclose(m.vertices, s.frames_vertices()[-1], atol=2e-6)  # same order
    assert dlg.progress.value() == dlg.progress.maximum()


def test_export_gif_renders_viewport(studio, qtbot, tmp_path):
    w = studio
    click_generate(qtbot, w, "happy")
    dlg = w.show_export()
    dlg.set_format("gif")
    dlg.path.setText(str(tmp_path / "clip.gif"))
    qtbot.mouseClick(dlg.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Exported" in dlg.message.text(), timeout=30000)
    import imageio.v3 as iio

    frames = iio.imread(tmp_path / "clip.gif", index=None)
    assert frames.shape[0] == 30
    assert (tmp_path / "clip.manifest.json").is_file()


def test_wrong_topology_shows_error_dialog(studio, qtbot, tmp_path):
    w, s = studio, studio.session
    t = s.template
    bad = tmp_path / "cube.obj"
    save_mesh(bad, t.vertices[:8], np.array([[0, 1, 2], [2, 3, 0]]))
    w.ask_open_path = lambda: str(bad)
    qtbot.keyClick(w, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: w.error_box is not None and w.error_box.isVisible(), timeout=10000)
    text = w.error_box.text()
    assert "8 vertices" in text and str(t.n_vertices) in text and "load a mesh" in text
    w.error_box.close()
    assert s.face.name == "default face"
    good = tmp_path / "same.obj"
    save_mesh(good, t.vertices, t.faces, t.uv, t.face_uv)
    w.ask_open_path = lambda: str(good)
    qtbot.keyClick(w, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: s.face.name == "same.obj", timeout=10000)
    assert w.recent_faces()[0] == str(good) and "same.obj" in w.windowTitle()


def test_exception_in_a_slot_shows_a_dialog(studio, qtbot):
    w = studio

    def broken(*_a):
        raise RuntimeError("a bug")

    w.viewport.landmark_at = broken  # the drag filter calls it on every press
    qtbot.mouseClick(w.viewport.plotter, Qt.MouseButton.LeftButton, pos=QPoint(50, 50))
    qtbot.waitUntil(lambda: w.error_box is not None, timeout=3000)
    assert "internal error" in w.error_box.text() and "a bug" in w.error_box.text()


def test_settings_are_remembered(qtbot, fake_models, tmp_path):
    import pyvista as pv

    from app.main_window import MainWindow
    from app.session import StudioSession

    pv.global_theme.multi_samples = 0
    ini = str(tmp_path / "s.ini")
    w = MainWindow(
        StudioSession(*fake_models), QSettings(ini, QSettings.Format.IniFormat), start=False
    )
    qtbot.addWidget(w)
    with qtbot.waitExposed(w):
        w.show()
    with qtbot.waitActive(w):
        w.activateWindow()
    w.resize(1200, 777)
    size = (w.width(), w.height())
    qtbot.keyClick(w, Qt.Key.Key_W)
    qtbot.keyClick(w, Qt.Key.Key_M)
    assert w.session.view["wireframe"] and w.session.symmetric
    w.close()
    w2 = MainWindow(
        StudioSession(*fake_models), QSettings(ini, QSettings.Format.IniFormat), start=False
    )
    qtbot.addWidget(w2)
    assert w2.session.view["wireframe"] and w2.session.symmetric
    assert (w2.width(), w2.height()) == size
    w2.close()
