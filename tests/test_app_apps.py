"""Studio applications: the Face dock, Face ▸ Neutralize, File ▸ Transfer motion from…, the
timeline strip; the controller without widgets, then the window with real mouse/key events."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QSettings, Qt

from core.assets import load_face
from core.io.mesh_io import load_mesh


def idle(qtbot, s, timeout=20000):
    qtbot.waitUntil(lambda: s.idle, timeout=timeout)


@pytest.fixture(scope="module")
def real_models():
    from core.generate import MotionGenerator

    gen = MotionGenerator.load(device="cpu")
    return gen.pipeline, gen


@pytest.fixture
def apps(session):
    from app.apps_controller import AppsController

    return AppsController(session)


def test_face_sliders_preview_commit_undo_and_manifest(apps, qtbot):
    s = apps.session
    before = s.face.vertices.copy()
    apps.preview_face({"age": 0.9})
    apps.preview_face({"age": 0.9, "nose-width": 0.5})
    assert s.undo_stack.count() == 0  # previews are not undo steps
    apps.commit_face()
    assert s.undo_stack.count() == 1
    np.testing.assert_allclose(
        s.face.vertices, apps.basis.vertices({"age": 0.9, "nose-width": 0.5})
    )
    assert apps.face_values()["nose-scale-horiz"] == 0.5
    assert s.manifest()["face_sliders"] == {"age": 0.9, "nose-scale-horiz": 0.5}
    s.undo_stack.undo()
    np.testing.assert_array_equal(s.face.vertices, before)
    assert "face_sliders" not in s.manifest()
    s.undo_stack.redo()
    assert apps.face_values()["age"] == 0.9


def test_random_reset_and_export_neutral(apps, tmp_path):
    s = apps.session
    seed = apps.random_face(7)
    assert seed == 7 and dict(s.face.sliders)
    np.testing.assert_allclose(s.face.vertices, apps.basis.vertices(apps.basis.random(7)))
    apps.reset_sliders()
    np.testing.assert_allclose(s.face.vertices, load_face().vertices, atol=5e-5)
    assert s.undo_stack.count() == 2
    apps.random_face(8)
    path = apps.export_neutral(str(tmp_path / "n.obj"))
    got = load_mesh(path)
    np.testing.assert_allclose(got.vertices, s.face.vertices, atol=1e-6)
    assert got.uv is not None


def test_neutralize_undoes_an_expression(apps, qtbot):
    from core.generate import MotionGenerator

    s = apps.session
    apex = MotionGenerator.load(device="cpu").generate("happy", 0).vertices[-1]
    s.current_vertices = lambda: apex  # the face on screen is an expression
    apps.neutralize()
    qtbot.waitUntil(lambda: "neutralized" in s.face.name, timeout=20000)
    mask = load_face().face_mask
    err = np.linalg.norm(s.face.vertices - load_face().vertices, axis=1)[mask].mean()
    assert err < 2e-4 and s.undo_stack.count() == 1


def test_neutralize_a_face_of_another_topology(apps, qtbot, tmp_path):
    """Face ▸ Neutralize on an expressive face of another topology (a re-meshed Motion3DGAN
    happy apex, fitted from its landmarks): the joint model fitted to the mesh's own surface
    removes most of the expression (neutralizing the fitted template alone left 2.2 mm), carried
    through a new binding to the fitted model; undo brings the first fit back."""
    from app.any_face_ui import use_any_face
    from core.assets import load_landmarks
    from core.fit.any_face import open_face
    from core.fit.remesh import remesh_template
    from core.generate import MotionGenerator
    from core.io.mesh_io import save_mesh

    face, idx = load_face(), load_landmarks().indices
    apex = MotionGenerator.load(device="cpu").generate("happy", 0).vertices[-1]
    r = remesh_template(apex, face.faces, np.ones(face.n_vertices, bool), seed=3)
    save_mesh(tmp_path / "smile.obj", r.vertices, r.faces)
    np.save(tmp_path / "lm.npy", r.to_template.inverse(apex[idx]))
    anyf = open_face(tmp_path / "smile.obj", landmarks=tmp_path / "lm.npy")
    s = apps.session
    use_any_face(s, anyf)
    apps.neutralize()
    qtbot.waitUntil(lambda: "neutralized" in s.face.name, timeout=30000)
    new = s.face.user  # re-bound: the same mesh file and faces, a new fit and base
    assert new is not anyf and new.rebased and new.source == anyf.source
    assert new.mesh.faces is anyf.mesh.faces and new.mesh.layout is anyf.mesh.layout
    got_u = new.fit.carry(s.face.vertices[None], new.mesh.vertices)[0]
    np.testing.assert_array_equal(got_u, new.mesh.vertices)  # the neutral template: the base
    got = r.to_template.apply(got_u)
    region = np.einsum("vk,vk->v", r.src_bary, face.face_mask[r.src_tri].astype(float)) > 0.5

    def mm(v):
        return np.linalg.norm(v - r.on_template(face.vertices), axis=1)[region].mean() * 1000

    # measured 0.077 vs 2.55 mm; 0.26 through the first fit's binding (no rebinding)
    assert mm(got) < 0.06 * mm(r.on_template(apex))
    s.undo_stack.undo()  # the previous fit and binding come back
    assert s.face.user is anyf and not anyf.rebased


def test_clip_list_edits(apps):
    from core.apps.timeline import Clip
    from core.errors import InvalidInputError

    apps.set_clips([Clip("happy", 0, 1.0), Clip("sad", 2, 1.0)])
    apps.add_clip(Clip("neutral", 0, 0.5))
    apps.move_clip(2, -1)
    apps.set_duration(0, 2.0)
    apps.remove_clip(2)
    assert [(c.label, c.duration) for c in apps.clips] == [("happy", 2.0), ("neutral", 0.5)]
    with pytest.raises(InvalidInputError):
        apps.set_clips([])


@pytest.fixture
def real_session(qtbot, real_models):
    from app.session import StudioSession

    s = StudioSession(*real_models)
    with qtbot.waitSignal(s.models_ready, timeout=30000):
        s.start()
    yield s
    s.shutdown()


def test_timeline_and_transfer_become_undoable_motions(real_session, qtbot, tmp_path):
    from app.apps_controller import AppsController
    from core.apps.timeline import Clip

    s = real_session
    apps = AppsController(s)
    apps.set_clips([Clip("happy", 3, 0.5), Clip("neutral", 0, 0.5)])
    apps.build_timeline()
    qtbot.waitUntil(lambda: s.source.kind == "sequence", timeout=30000)
    assert s.n_motion_frames == 31 and s.source.label == "happy:3@0.5s,neutral@0.5s"
    motion = s.manifest()["motion"]
    assert motion["kind"] == "sequence" and motion["label"] == s.source.label
    assert motion["n_frames"] == 31 and [c["seed"] for c in motion["clips"]] == [3, 0]
    np.save(tmp_path / "perf.npy", s.snapshot.base.landmarks)
    apps.transfer(str(tmp_path / "perf.npy"))
    qtbot.waitUntil(lambda: s.source.kind == "transfer", timeout=30000)
    assert s.n_motion_frames == 31 and s.source.describe() == "transfer: perf.npy"
    s.undo_stack.undo()
    assert s.source.kind == "sequence"
    apps.transfer(str(tmp_path / "missing.npy"))
    with qtbot.waitSignal(s.failed, timeout=30000) as sig:
        pass
    assert "Could not transfer" in sig.args[0]


# ------------------------------------------------------------------------------- the window


@pytest.mark.gl
def test_face_dock_with_real_events(studio, qtbot):
    w, s = studio, studio.session
    panel = w.face_panel
    assert "Face" in {d.windowTitle() for d in w.docks.values()}
    age = panel.sliders["age"]
    panel.toolbox.setCurrentIndex(0)
    age.setFocus()
    qtbot.waitUntil(age.hasFocus, timeout=5000)
    for _ in range(3):
        qtbot.keyClick(age, Qt.Key.Key_PageUp)  # 3 pages of 10 steps: age 0.5 -> 0.8
    assert s.manifest()["face_sliders"] == {"age": pytest.approx(0.8)}
    assert s.undo_stack.count() == 3
    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert age.value() == 70  # the slider follows undo
    qtbot.mouseClick(panel.random_button, Qt.MouseButton.LeftButton)
    assert s.face.sliders and panel.values()["age"] == pytest.approx(
        dict(s.face.sliders)["age"], abs=0.01
    )
    qtbot.mouseClick(panel.reset_button, Qt.MouseButton.LeftButton)
    assert not s.face.sliders and age.value() == 50
    qtbot.keyClicks(panel.filter, "nose width")
    assert panel.sliders["nose-width1"].isVisible() and not age.isVisible()


@pytest.mark.gl
def test_face_menu_transfer_and_export_neutral(studio, qtbot, tmp_path):
    w, s = studio, studio.session
    names = {a.objectName() for m in w.menuBar().actions() if m.menu() for a in m.menu().actions()}
    assert {"neutralize", "random_face", "transfer_file", "transfer_folder"} <= names
    w.ask_export_neutral_path = lambda: str(tmp_path / "neutral.obj")
    qtbot.mouseClick(w.face_panel.export_button, Qt.MouseButton.LeftButton)
    np.testing.assert_allclose(
        load_mesh(tmp_path / "neutral.obj").vertices, s.face.vertices, atol=1e-6
    )
    asked = []
    w.ask_transfer_path = lambda folder: asked.append(folder) or "perf.npy"
    _menu_action(w, "transfer_folder").trigger()
    d = w.transfer_dialog
    qtbot.waitExposed(d)
    assert asked == [True] and d.isVisible() and d.options()["mode"] == "srvf"
    cancel = d.buttons.button(d.buttons.StandardButton.Cancel)
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)  # nothing transferred
    assert s.source.kind == "neutral"


@pytest.mark.gl
def test_transfer_options_dialog_with_real_events(studio, qtbot, tmp_path):
    """File ▸ Transfer motion from file… -> the options dialog (mode, source fps, stabilise,
    align) driven by mouse and keys -> a transfer whose manifest records the options; the next
    dialog starts from them; Escape cancels."""
    w, s = studio, studio.session
    lm = s.snapshot.base.landmarks[0] + np.zeros((24, 1, 1), np.float32)
    lm[:, 48:68, 2] -= np.linspace(0, 0.004, 24)[:, None]  # the mouth opens
    np.save(tmp_path / "perf.npy", lm)
    w.ask_transfer_path = lambda folder: str(tmp_path / "perf.npy")
    _menu_action(w, "transfer_file").trigger()
    d = w.transfer_dialog
    qtbot.waitExposed(d)
    d.mode.setFocus()
    qtbot.keyClick(d.mode, Qt.Key.Key_Down)  # the second mode: absolute
    qtbot.mouseDClick(d.source_fps.lineEdit(), Qt.MouseButton.LeftButton)
    qtbot.keyClick(d.source_fps.lineEdit(), Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(d.source_fps.lineEdit(), "60")
    qtbot.mouseClick(
        d.stabilize, Qt.MouseButton.LeftButton, pos=QPoint(4, d.stabilize.height() // 2)
    )
    assert d.options() == {
        "mode": "absolute",
        "source_fps": 60.0,
        "stabilize": False,
        "align": True,
    }
    qtbot.mouseClick(d.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: s.source.kind == "transfer", timeout=20000)
    assert s.n_motion_frames == 13  # 24 frames at 60 fps -> 0.383 s at 30 fps
    motion = s.manifest()["motion"]
    assert (motion["mode"], motion["source_fps"], motion["stabilize"]) == ("absolute", 60, False)
    assert motion["path"] == str((tmp_path / "perf.npy").resolve())
    disp = s.snapshot.base.landmarks[-1] - s.snapshot.base.landmarks[0]
    assert 0.0035 < -disp[48:68, 2].min() < 0.00401  # absolute: the source's own metres
    assert np.abs(disp[:48]).max() < 1e-6
    steps = s.undo_stack.count()

    _menu_action(w, "transfer_file").trigger()
    d2 = w.transfer_dialog
    qtbot.waitExposed(d2)
    assert d2 is not d and d2.options()["source_fps"] == 60 and d2.options()["mode"] == "absolute"
    qtbot.keyClick(d2, Qt.Key.Key_Escape)
    assert not d2.isVisible() and s.undo_stack.count() == steps


def _menu_action(w, name):
    return next(
        a
        for m in w.menuBar().actions()
        if m.menu()
        for a in m.menu().actions()
        if a.objectName() == name
    )


@pytest.mark.gl
def test_timeline_strip_with_real_events(studio, qtbot):
    w = studio
    strip, apps = w.timeline_strip, w.apps
    n = len(apps.clips)
    qtbot.mouseClick(strip.clip_buttons[0], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(strip.add_button, Qt.MouseButton.LeftButton)
    assert len(apps.clips) == n + 1 and strip.selected == n
    qtbot.mouseClick(strip.left_button, Qt.MouseButton.LeftButton)
    assert strip.selected == n - 1 and apps.clips[n - 1].seed == apps.clips[0].seed + 1
    strip.duration_spin.setFocus()
    strip.duration_spin.selectAll()
    qtbot.keyClicks(strip.duration_spin, "2.5")
    qtbot.keyClick(strip.duration_spin, Qt.Key.Key_Return)
    assert apps.clips[n - 1].duration == 2.5
    assert strip.total.text() == f"{sum(c.duration for c in apps.clips):g} s"
    qtbot.mouseClick(strip.remove_button, Qt.MouseButton.LeftButton)
    assert len(apps.clips) == n


@pytest.mark.gl
def test_built_timeline_is_scrubbable_and_exportable(qtbot, real_models, tmp_path):
    import pyvista as pv

    from app.main_window import MainWindow
    from app.session import StudioSession
    from core.apps.timeline import Clip

    pv.OFF_SCREEN = False
    pv.global_theme.multi_samples = 0
    s = StudioSession(*real_models)
    w = MainWindow(
        s,
        QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
        multi_samples=0,
        start=False,
    )
    qtbot.addWidget(w)
    with qtbot.waitSignal(s.models_ready, timeout=30000):
        s.start()
    with qtbot.waitExposed(w):
        w.show()
    try:
        w.apps.set_clips([Clip("happy", 3, 0.5), Clip("surprised", 1, 0.5)])
        qtbot.mouseClick(w.timeline_strip.build_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: s.source.kind == "sequence", timeout=30000)
        idle(qtbot, s)
        bar = w.playback_bar
        assert bar.slider.maximum() == 30
        bar.slider.setFocus()
        qtbot.keyClick(bar.slider, Qt.Key.Key_End)
        assert s.frame == 30
        assert s.export("npz", str(tmp_path / "tl"))
        qtbot.waitUntil(lambda: (tmp_path / "tl" / "manifest.json").exists(), timeout=30000)
        man = json.loads((tmp_path / "tl" / "manifest.json").read_text())
        assert man["n_frames"] == 31 and man["motion"]["kind"] == "sequence"
    finally:
        w.close()
