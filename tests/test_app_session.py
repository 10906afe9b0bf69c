"""The studio session without widgets: signals, undo, edits, coalescing, faces, exports."""

from __future__ import annotations

import json
import math
import threading

import numpy as np
import pytest

from core.io.manifest import validate_manifest
from core.io.mesh_io import load_mesh, save_mesh

RIGHT_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
MOUTH_CORNER, CHIN = 48, 8


def wait_idle(qtbot, s, timeout=10000):
    qtbot.waitUntil(lambda: s.idle, timeout=timeout)


def generate(qtbot, s, label="high_smile", seed=3, n=30):
    with qtbot.waitSignal(s.motion_changed, timeout=10000):
        s.generate(label, seed, n)
    wait_idle(qtbot, s)


def record_decode_threads(pipe) -> list[bool]:
    """Wrap ``pipe.decode`` (and the edit decodes, ``edit_reference`` and ``decode_edit``);
    the list gets, per call, whether it ran on the main thread."""
    threads = []

    def spy(fn):
        def call(*a, **k):
            threads.append(threading.current_thread() is threading.main_thread())
            return fn(*a, **k)

        return call

    for name in ("decode", "edit_reference", "decode_edit"):
        if hasattr(pipe, name):
            setattr(pipe, name, spy(getattr(pipe, name)))
    return threads


def drag(qtbot, s, k, delta, steps=5, view_rows=None):
    start = np.array(s.current_landmarks()[k], np.float64)
    assert s.begin_drag(k, view_rows)
    for i in range(1, steps + 1):
        s.drag_to(start + np.asarray(delta) * i / steps)
    wait_idle(qtbot, s)
    s.end_drag()
    wait_idle(qtbot, s)


def test_opens_on_neutral_face(session):
    s = session
    assert s.n_motion_frames == 1 and s.source.kind == "neutral"
    np.testing.assert_array_equal(s.current_vertices(), s.template.vertices)
    assert s.device == "CPU" and s.undo_stack.count() == 0


def test_generate_undo_redo_restores_label_and_seed(qtbot, session):
    s = session
    busy = []
    s.busy_changed.connect(busy.append)
    generate(qtbot, s, "high_smile", 3)
    assert busy[:1] == [True] and busy[-1] is False
    first = s.snapshot
    assert s.n_motion_frames == 30 and (s.label, s.seed) == ("high_smile", 3)
    generate(qtbot, s, "surprised", 7)
    assert (s.label, s.seed) == ("surprised", 7) and s.undo_stack.count() == 2
    s.undo_stack.undo()
    assert s.snapshot is first and (s.label, s.seed) == ("high_smile", 3)
    s.undo_stack.undo()
    assert s.source.kind == "neutral" and s.n_motion_frames == 1
    s.undo_stack.redo()
    assert s.snapshot is first
    np.testing.assert_array_equal(s.frames_vertices(), first.base.vertices)


def test_side_of_one_sided_labels(qtbot, session):
    s = session
    generate(qtbot, s, "contempt", 4)
    assert s.source.side == "left"  # the fake draws left for even seeds, like a seed would
    with qtbot.waitSignal(s.motion_changed, timeout=10000):
        s.set_side("right")  # a one-sided label is shown: regenerates on that side
    wait_idle(qtbot, s)
    assert s.source.side == "right" and s.source.seed == 4
    assert s.manifest()["motion"]["side"] == "right"
    assert s.source.describe() == "contempt · seed 4 · right"
    apex_right = s.snapshot.base.landmarks[-1, 48:68, 0] - s.snapshot.base.landmarks[0, 48:68, 0]
    assert (apex_right <= 0).all()  # the fake moves the mouth to -x for the right side
    generate(qtbot, s, "happy", 4)  # symmetric labels ignore the side
    assert s.source.side is None and "side" not in s.manifest()["motion"]
    with pytest.raises(ValueError):
        s.set_side("up")


def test_unknown_label_and_generator_failure_are_reported(qtbot, session):
    s = session
    with qtbot.waitSignal(s.failed) as sig:
        s.generate("laughing", 1)
    assert "unknown expression label" in sig.args[0]

    def boom(*_a, **_k):
        raise RuntimeError("kaputt")

    generate(qtbot, s, "sad", 4)
    s.backend._generator.generate = boom
    with qtbot.waitSignal(s.failed, timeout=5000) as sig:
        s.generate("happy", 5)
    assert "internal error" in sig.args[0] and "kaputt" in sig.args[0]
    assert (s.source.label, s.label, s.seed) == ("sad", "sad", 4)  # nothing changed


def test_playback_and_frames(qtbot, session):
    s = session
    generate(qtbot, s)
    frames = []
    s.frame_changed.connect(frames.append)
    s.set_fps(60)
    s.play()
    qtbot.waitUntil(lambda: len(frames) >= 5, timeout=3000)
    s.pause()
    assert not s.playing and frames == sorted(frames)
    s.set_frame(29)
    s.set_loop(False)
    s.step(1)
    assert s.frame == 29
    s.set_loop(True)
    s.step(1)
    assert s.frame == 0
    np.testing.assert_array_equal(s.current_vertices(), s.snapshot.base.vertices[0])


def test_direct_drag_moves_face_locally_and_undo_restores(qtbot, session):
    s = session
    s.set_mode("direct")
    before = s.current_vertices().copy()
    drag(qtbot, s, MOUTH_CORNER, [0.0, 0.0, 0.004])
    after = s.current_vertices()
    idx = s.landmarks.indices
    lm0 = before[idx[MOUTH_CORNER]]
    dist = np.linalg.norm(before - lm0, axis=1)
    moved = np.linalg.norm(after - before, axis=1)
    assert moved[dist < 0.005].max() > 0.001  # the face follows near the landmark
    assert moved[dist > 0.04].max() < 1e-6  # and not far away
    req = s.current_landmarks()
    assert np.allclose(req[MOUTH_CORNER] - lm0, [0, 0, 0.004], atol=1e-6)
    others = np.delete(np.arange(68), MOUTH_CORNER)
    np.testing.assert_allclose(req[others], before[idx[others]], atol=1e-7)
    assert s.undo_stack.count() == 1 and s.undo_stack.undoText().startswith("Drag")
    s.undo_stack.undo()
    np.testing.assert_array_equal(s.current_vertices(), before)
    s.undo_stack.redo()
    np.testing.assert_allclose(s.current_vertices(), after)


def test_smooth_is_the_default_and_near_landmarks_follow_the_drag(qtbot, session):
    s = session
    assert s.mode == "smooth"
    idx = s.landmarks.indices
    p0 = s.current_vertices()[idx].astype(np.float64)
    drag(qtbot, s, MOUTH_CORNER, [0.0, 0.0, 0.004])
    moved = s.current_landmarks() - p0
    dist = np.linalg.norm(p0 - p0[MOUTH_CORNER], axis=1)
    np.testing.assert_allclose(moved[MOUTH_CORNER], [0, 0, 0.004], atol=1e-6)
    near = (dist > 0) & (dist < 0.01)
    assert near.any() and np.all(moved[near, 2] > 0.0) and np.all(moved[near, 2] < 0.004)
    assert np.abs(moved[dist > 0.015]).max() < 1e-7
    assert s.sculpt.drag is None and s.snapshot.edits[-1].mode == "smooth"
    s.set_mode("coherent")
    s.set_mode(s.plain_mode)  # the C key goes back to the last non-coherent mode
    assert s.mode == "smooth"


def test_smooth_radius_follows_the_face_size_and_is_recorded(qtbot, session, tmp_path):
    from core.edit.model import edit_from_json
    from core.sculpt import SMOOTH_RADIUS

    s = session
    small = tmp_path / "small.obj"
    t = s.template
    save_mesh(small, 0.6 * t.vertices, t.faces, t.uv, t.face_uv)  # a child-sized face
    with qtbot.waitSignal(s.face_changed, timeout=10000):
        s.open_face(str(small))
    wait_idle(qtbot, s)
    idx = s.landmarks.indices
    p0 = s.current_vertices()[idx].astype(np.float64)
    drag(qtbot, s, MOUTH_CORNER, [0.0, 0.0, 0.003])
    moved = np.abs(s.current_landmarks() - p0).max(axis=1)
    dist = np.linalg.norm(p0 - p0[MOUTH_CORNER], axis=1)
    assert moved[(dist > 0) & (dist < 0.006)].min() > 0  # 0.6 x 15 mm = 9 mm
    assert moved[dist > 0.6 * SMOOTH_RADIUS].max() < 1e-7
    assert np.any((dist > 0.6 * SMOOTH_RADIUS) & (dist < SMOOTH_RADIUS))  # 15 mm would move these
    edit = s.snapshot.edits[-1]
    assert edit.mode == "smooth" and edit.radius == pytest.approx(0.6 * SMOOTH_RADIUS, rel=1e-5)
    assert edit.describe(s.landmarks.names)["radius_mm"] == pytest.approx(9.0, abs=1e-3)
    assert edit_from_json(json.loads(json.dumps(edit.to_json()))).radius == edit.radius
    s.set_mode("direct")
    drag(qtbot, s, CHIN, [0.0, 0.0, 0.002])
    assert s.snapshot.edits[-1].radius is None


def test_coherent_symmetric_drag_with_pins(qtbot, session):
    s = session
    s.set_mode("coherent")
    s.set_symmetric(True)
    s.pin(CHIN)
    lm0 = s.current_landmarks().copy()
    drag(qtbot, s, MOUTH_CORNER, [-0.003, 0.0, 0.004], view_rows=RIGHT_UP)
    d = s.current_landmarks() - lm0
    m = int(s.landmarks.mirror[MOUTH_CORNER])
    np.testing.assert_allclose(d[MOUTH_CORNER, [0, 2]], [-0.003, 0.004], atol=1e-6)
    np.testing.assert_allclose(d[m], d[MOUTH_CORNER] * [-1, 1, 1], atol=1e-6)
    np.testing.assert_allclose(d[CHIN], 0.0, atol=1e-7)
    assert (np.linalg.norm(d, axis=1) > 5e-4).sum() > 4  # neighbours follow the prior
    rec = s.snapshot.edits[-1]
    assert rec.mode == "coherent" and rec.symmetric is True


@pytest.mark.parametrize("inline", [True, False], ids=["gui-thread", "worker"])
def test_drag_decodes_are_coalesced_on_the_latest_position(qtbot, session, inline):
    s = session
    pipe = s.backend._pipeline
    # measured after loading: a cheap decode runs inline on the GUI thread during drags
    assert s.backend.inline_decode_ms is not None and s.backend.inline_decode_ms < 12.0
    if not inline:
        s.backend.inline_decode_ms = 50.0  # as if the decoder were slow: the worker decodes
    pipe.delay = 0.03
    threads = record_decode_threads(pipe)
    start = np.array(s.current_landmarks()[MOUTH_CORNER], np.float64)
    calls0 = pipe.calls
    previews, drag_jobs = [], []
    s.preview_changed.connect(lambda: previews.append(s.preview_version))
    s.timing.connect(lambda lane, ms: lane == "drag" and drag_jobs.append(ms))
    s.begin_drag(MOUTH_CORNER)
    for i in range(1, 21):
        s.drag_to(start + [0, 0, 0.0002 * i])
    assert s.decode_pending and not s.idle
    wait_idle(qtbot, s)
    assert pipe.max_in_flight == 1
    n_decodes = pipe.calls - calls0
    assert set(threads) == {inline}
    # inline: the 20 moves before the event loop runs are one decode of the latest position;
    # worker: 20 moves while the first decode runs: first + latest
    assert n_decodes == len(drag_jobs) + 1  # + the base frame, decoded once per motion
    assert len(drag_jobs) == 1 if inline else 1 <= len(drag_jobs) <= 3
    np.testing.assert_allclose(
        pipe.last_landmarks[0, MOUTH_CORNER], start + [0, 0, 0.004], atol=1e-6
    )
    assert previews[-1] == s.preview_version == 20
    r = s.readout()
    assert r["name"] == s.landmarks.names[MOUTH_CORNER]
    np.testing.assert_allclose(r["requested"], start + [0, 0, 0.004], atol=1e-6)
    assert np.allclose(r["achieved"], s.current_vertices()[s.landmarks.indices[MOUTH_CORNER]])
    s.end_drag()
    wait_idle(qtbot, s)


def test_inline_drag_decode_defers_to_a_busy_worker(qtbot, session):
    s = session
    generate(qtbot, s)
    pipe = s.backend._pipeline
    threads = record_decode_threads(pipe)
    start = np.array(s.current_landmarks()[MOUTH_CORNER], np.float64)
    s.begin_drag(MOUTH_CORNER)
    s.drag_to(start + [0, 0, 0.002])
    s.runner.submit("generate", lambda be: be.decode(s.face.vertices, s.current_landmarks()[None]))
    wait_idle(qtbot, s)  # the inline decode found the worker busy and went to its drag lane
    assert threads and not any(threads)
    np.testing.assert_allclose(
        s.current_landmarks()[MOUTH_CORNER], start + [0, 0, 0.002], atol=1e-6
    )
    s.end_drag()
    wait_idle(qtbot, s)


def test_motion_edit_temporal_falloff(qtbot, session):
    s = session
    generate(qtbot, s)
    s.set_sigma(4.0)
    s.set_frame(20)
    drag(qtbot, s, MOUTH_CORNER, [0.0, 0.0, 0.003])
    off = np.linalg.norm(s.snapshot.offsets[:, MOUTH_CORNER], axis=1)
    assert off[20] == pytest.approx(0.003, abs=1e-6) and off[0] == 0.0
    assert off[10] < off[15] < off[20] and off[29] < off[25] < off[20]
    v = s.frames_vertices()
    base = s.snapshot.base.vertices
    np.testing.assert_array_equal(v[0], base[0])  # the neutral start is untouched
    assert np.abs(v[20] - base[20]).max() > 0.0005
    s.set_sigma(math.inf)
    drag(qtbot, s, CHIN, [0.0, 0.0, -0.002])
    off = np.linalg.norm(s.snapshot.offsets[:, CHIN], axis=1)
    np.testing.assert_allclose(off[20:], 0.002, atol=1e-6)


def test_pins_resets_are_undoable(qtbot, session):
    s = session
    n0 = s.undo_stack.count()
    s.pin(CHIN)
    assert CHIN in s.pins
    s.pin(MOUTH_CORNER, on=True)
    s.pin(MOUTH_CORNER, on=True)  # no change: no undo step
    assert s.undo_stack.count() == n0 + 2 and s.undo_stack.undoText() == "Pin mouth_right_corner"
    s.unpin_all()
    assert not s.pins
    s.undo_stack.undo()
    assert s.pins == {CHIN, MOUTH_CORNER}
    s.undo_stack.undo()
    assert s.pins == {CHIN}
    s.undo_stack.redo()
    assert s.pins == {CHIN, MOUTH_CORNER}
    s.pin(MOUTH_CORNER)  # toggle off
    s.pin(CHIN)
    assert not s.pins and s.undo_stack.undoText() == "Unpin jaw_08"
    n_pin_steps = s.undo_stack.count()
    drag(qtbot, s, MOUTH_CORNER, [0.0, 0.0, 0.003])
    drag(qtbot, s, CHIN, [0.0, 0.0, -0.003])
    s.select(MOUTH_CORNER)
    s.reset_landmark()
    wait_idle(qtbot, s)
    assert np.abs(s.snapshot.offsets[:, MOUTH_CORNER]).max() == 0
    assert np.abs(s.snapshot.offsets[:, CHIN]).max() > 0
    s.reset_all()
    wait_idle(qtbot, s)
    np.testing.assert_array_equal(s.current_vertices(), s.template.vertices)
    assert s.undo_stack.count() == n_pin_steps + 4
    s.undo_stack.undo()
    s.undo_stack.undo()
    wait_idle(qtbot, s)
    assert np.abs(s.snapshot.offsets[:, MOUTH_CORNER]).max() > 0


def test_interpolation_live_then_committed(qtbot, session):
    s = session
    s.interp_a, s.interp_b = ("high_smile", 1), ("surprised", 2)
    with qtbot.waitSignal(s.motion_changed, timeout=5000):
        s.set_tau(0.0)
    wait_idle(qtbot, s)
    v0 = s.frames_vertices().copy()
    with qtbot.waitSignal(s.motion_changed, timeout=5000):
        s.set_tau(1.0)
    wait_idle(qtbot, s)
    assert s.source.kind == "interpolate" and s.source.tau == 1.0
    assert np.abs(s.frames_vertices()[-1] - v0[-1]).max() > 1e-3
    assert s.undo_stack.count() == 0  # still a live preview
    s.commit_interpolation()
    assert s.undo_stack.count() == 1
    s.undo_stack.undo()
    assert s.source.kind == "neutral"
    with qtbot.waitSignal(s.motion_changed, timeout=5000):
        s.set_interp_mode("apex")
    wait_idle(qtbot, s)
    assert s.source.kind == "mix_apex" and s.undo_stack.count() == 1
    assert s.n_motion_frames == 1  # one face: the mixed apex


def test_compare_seeds_and_use(qtbot, session):
    s = session
    with qtbot.waitSignal(s.compare_changed, timeout=10000):
        s.compare("sad", [5, 6, 7, 8])
    cs = s.compare_set
    assert cs.seeds == [5, 6, 7, 8] and len(cs.motions) == 4
    assert len({float(m.vertices[-1].sum()) for m in cs.motions}) == 4
    s.compare_use(2, "edit")
    assert (s.source.label, s.source.seed) == ("sad", 7)
    with qtbot.waitSignal(s.interp_changed):
        s.compare_use(3, "B")
    assert s.interp_b == ("sad", 8)
    s.set_compare_active(True)
    assert s.timeline_frames == 30


def test_open_face_and_wrong_topology(qtbot, session, tmp_path):
    s = session
    generate(qtbot, s, "happy", 2)
    t = s.template
    bigger = t.vertices * 1.1
    good = tmp_path / "bigger.obj"
    save_mesh(good, bigger, t.faces, t.uv, t.face_uv)
    with qtbot.waitSignal(s.face_changed, timeout=10000):
        s.open_face(str(good))
    wait_idle(qtbot, s)
    assert s.face.name == "bigger.obj" and s.source.label == "happy"  # motion regenerated
    np.testing.assert_allclose(s.frames_vertices()[0], bigger, atol=1e-5)
    bad = tmp_path / "wrong.obj"
    save_mesh(bad, t.vertices[:100], np.array([[0, 1, 2]]))
    with qtbot.waitSignal(s.failed, timeout=10000) as sig:
        s.open_face(str(bad))
    assert "100 vertices" in sig.args[0] and str(t.n_vertices) in sig.args[0]
    assert s.face.name == "bigger.obj"
    s.undo_stack.undo()
    assert s.face.name == "default face"


def test_export_obj_sequence_and_manifest(qtbot, session, tmp_path):
    s = session
    generate(qtbot, s, "happy", 4, n=12)
    drag(qtbot, s, MOUTH_CORNER, [0.0, 0.0, 0.003])
    out = tmp_path / "clip"
    from app.exporting import ExportController

    s.exports = ExportController(s)
    with qtbot.waitSignal(s.exports.finished, timeout=20000):
        assert s.export("obj", str(out))
    files = sorted(out.glob("frame_*.obj"))
    assert [f.name for f in files[:2]] == ["frame_0001.obj", "frame_0002.obj"]
    assert len(files) == 12
    for k in (0, 11):
        m = load_mesh(files[k])
        assert m.vertices.shape == (s.template.n_vertices, 3)
        np.testing.assert_allclose(m.vertices, s.frames_vertices()[k], atol=2e-6)
        np.testing.assert_array_equal(m.faces, s.template.faces)
    man = json.loads((out / "manifest.json").read_text())
    assert man["motion"]["label"] == "happy" and man["motion"]["seed"] == 4
    assert man["edits"][0]["landmark"] == "mouth_right_corner"
    assert man["models"] == {
        "s2d_decoder": {"file": "s2d_decoder.safetensors", "sha256": "d" * 64},
        "motion3dgan": {"file": "motion3dgan.safetensors", "sha256": "e" * 64},
    }
    validate_manifest(man)  # the schema the CLI writes too (docs/manifest.md)
    assert man["producer"] == "studio" and man["edits"][0]["frame"] >= 1  # 1-based frames
    # an existing folder is refused, nothing is touched
    with qtbot.waitSignal(s.failed, timeout=10000) as sig:
        s.export("obj", str(out))
    assert "already exists" in sig.args[0]


def test_export_cancel_leaves_nothing(qtbot, session, tmp_path):
    s = session
    generate(qtbot, s, "happy", 4)
    import threading

    from app.exporting import ExportController

    class CancelledAtOnce(threading.Event):
        """The Cancel button pressed before the first frame is written (no thread race)."""

        def clear(self):
            self.set()

    s.exports = ctl = ExportController(s)
    ctl._cancel = CancelledAtOnce()
    with qtbot.waitSignal(ctl.cancelled, timeout=20000) as sig:
        s.export("ply", str(tmp_path / "never"))
    assert "cancelled after 1 of 30" in sig.args[0]
    assert list(tmp_path.iterdir()) == []


def test_session_with_randomly_initialised_decoder(qtbot, fake_models):
    """The real S2D pipeline class with untrained weights: traced at start-up (batch 1 and 30,
    as the studio runs it), and a drag decodes on the GUI thread."""
    pytest.importorskip("core.models.checkpoint")
    import torch

    from app.session import StudioSession
    from core.assets import load_face, load_landmarks, resource_path
    from core.mesh.hierarchy import MeshHierarchy
    from core.models.s2d_decoder import DecoderConfig, S2DDecoder
    from core.pipeline import S2DPipeline

    torch.manual_seed(0)
    h = MeshHierarchy.load(resource_path("hierarchy.npz"))
    dec = S2DDecoder(DecoderConfig.from_hierarchy(h), h).eval()
    pipe = S2DPipeline(dec, "scale", load_face(), load_landmarks(), torch.device("cpu"), {})
    s = StudioSession(pipe, fake_models[1])
    try:
        with qtbot.waitSignal(s.models_ready, timeout=60000):
            s.start()
        assert pipe.trace_status() == {1: "traced", 30: "traced"}
        assert s.backend.inline_decode_ms is not None
        threads = record_decode_threads(pipe)
        before = s.current_vertices().copy()
        drag(qtbot, s, MOUTH_CORNER, [0.0, 0.0, 0.003])
        after = s.current_vertices()
        assert after.shape == before.shape and np.isfinite(after).all()
        assert np.abs(after - before).max() > 0  # decoded, applied as a residual
        if s.backend.inline_decode_ms <= 12.0:  # CPU time of this machine's decoder
            assert threads[0] is True  # the first drag decode ran on the GUI thread
    finally:
        s.shutdown()


def test_missing_decoder_weights_are_reported_once(qtbot, monkeypatch):
    """Without decoder weights: one clear message; landmarks still move, nothing crashes."""
    import core.pipeline as pipeline_mod
    from app.session import StudioSession

    missing = pipeline_mod.DEFAULT_DECODER.with_name("does-not-exist.safetensors")
    real = pipeline_mod.load_decoder
    monkeypatch.setattr(
        pipeline_mod, "load_decoder", lambda _path=None, *a, **k: real(missing, *a, **k)
    )
    s = StudioSession()
    messages = []
    s.failed.connect(messages.append)
    try:
        with qtbot.waitSignal(s.models_ready, timeout=30000):
            s.start()
        assert len(messages) == 1 and "does-not-exist.safetensors" in messages[0]
        assert "train" in messages[0]  # what to do
        before = s.current_vertices().copy()
        drag(qtbot, s, MOUTH_CORNER, [0.0, 0.0, 0.003])
        assert (
            np.abs(s.current_landmarks()[MOUTH_CORNER] - before[s.landmarks.indices[48]]).max()
            > 0.002
        )
        np.testing.assert_array_equal(s.current_vertices(), before)
        assert len(messages) == 1
    finally:
        s.shutdown()


def test_pyside_reference_leak_is_neutralised(qtbot):
    """PySide6 6.12 on CPython 3.11 drops a reference to None per void call (app.qt_compat)."""
    import sys

    from PySide6.QtWidgets import QWidget

    import app  # noqa: F401 - applies the workaround on import
    from app import qt_compat

    w = QWidget()
    qtbot.addWidget(w)
    for _ in range(20000):
        w.update()
    if qt_compat._applied:
        assert sys.getrefcount(None) > qt_compat.IMMORTAL_BOOST // 2
    else:
        assert not qt_compat.leaks_singletons() or sys.version_info >= (3, 12)


def test_playback_follows_the_clock(qtbot, session):
    """Frames advance with elapsed time (skipped if drawing is slow), not per timer tick."""
    import time

    s = session
    generate(qtbot, s)
    s.set_loop(False)
    s.set_fps(20)
    s.set_frame(0)
    t0 = time.perf_counter()
    s.play()
    qtbot.wait(600)
    busy_until = time.perf_counter() + 0.3  # block the event loop: no ticks meanwhile
    while time.perf_counter() < busy_until:
        pass
    qtbot.wait(50)
    elapsed = time.perf_counter() - t0
    s.pause()
    assert abs(s.frame - 20 * elapsed) <= 3


@pytest.mark.parametrize("fmt", ["npz", "ply", "glb", "mp4"])
def test_export_other_formats(qtbot, session, tmp_path, fmt):
    s = session
    generate(qtbot, s, "sad", 2, n=10)
    from app.exporting import ExportController, sidecar_manifest

    s.exports = ExportController(s)
    frames = np.zeros((10, 48, 64, 3), np.uint8) if fmt == "mp4" else None
    with qtbot.waitSignal(s.exports.finished, timeout=30000) as sig:
        assert s.export(fmt, str(tmp_path / "out"), frames_rgb=frames)
    out = tmp_path / "out"
    if fmt in ("npz", "ply"):
        man = json.loads((out / "manifest.json").read_text())
        if fmt == "npz":
            with np.load(out / "sequence.npz") as d:
                np.testing.assert_allclose(d["frames"], s.frames_vertices(), atol=1e-6)
        else:
            assert len(list(out.glob("frame_*.ply"))) == 10
            m = load_mesh(out / "frame_0010.ply")
            np.testing.assert_allclose(m.vertices, s.frames_vertices()[9], atol=1e-6)
    else:
        path = out.with_suffix("." + fmt)
        assert sig.args[0] == str(path) and path.stat().st_size > 0
        man = json.loads(sidecar_manifest(path).read_text())
        assert man["files"] == [path.name]
    validate_manifest(man)
    assert {k: man["motion"][k] for k in ("kind", "label", "seed", "n_frames")} == {
        "kind": "generate",
        "label": "sad",
        "seed": 2,
        "n_frames": 10,
    }


def test_excepthook_reports_and_logs(monkeypatch, tmp_path):
    """Uncaught exceptions (e.g. raised in a PySide slot) go to the dialog and the log."""
    import logging
    import sys

    from app import errors

    shown = []
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    errors.LOG.addHandler(handler)
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    errors.set_reporter(shown.append)
    try:
        errors.install_excepthook()
        try:
            raise ValueError("boom in a slot")
        except ValueError as exc:
            sys.excepthook(type(exc), exc, exc.__traceback__)
        from core.errors import ExportError

        msg = errors.user_message(
            ExportError("cannot write to /x: the disk is full; choose another folder"),
            "Export failed",
        )
    finally:
        errors.set_reporter(None)
        errors.LOG.removeHandler(handler)
    assert "internal error: ValueError: boom in a slot" in shown[0]
    assert "Traceback" in records[0].getMessage()
    assert msg == "Export failed: cannot write to /x: the disk is full; choose another folder"


def test_throttle_runs_first_call_now_and_merges_the_rest_into_one_trailing_call(qtbot):
    from app.widgets.common import Throttle

    calls = []
    t = Throttle(lambda *a: calls.append(a), 80)
    t(1)
    assert calls == [(1,)]  # at once
    for i in range(2, 6):
        t(i)
    assert calls == [(1,)]
    qtbot.waitUntil(lambda: len(calls) == 2, timeout=2000)
    assert calls[-1] == (5,)  # one trailing call, with the latest arguments
    qtbot.wait(200)
    assert len(calls) == 2  # nothing pending: no further call
    t(6)
    t(7)
    t.flush()
    assert calls[-2:] == [(6,), (7,)]
