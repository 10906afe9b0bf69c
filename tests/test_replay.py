"""``python main.py replay``: a studio export re-created from its manifest, byte for byte.

The studio session runs on tiny randomly initialised models saved to files (the real classes,
so the replay loads them the way the studio does); it generates, sculpts (direct, coherent +
symmetric + pinned, a reset, the whole-motion window) and exports OBJ; the replay of its
manifest must write identical files.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict

import numpy as np
import pytest
import torch

from core.assets import load_face, load_landmarks
from core.cli import run_cli
from core.data.recipes import LABELS, ONE_SIDED_LABELS
from core.edit.model import DragEdit, ResetEdit, apply_edits, edit_from_json
from core.geometry.sphere import karcher_mean, log_map
from core.mesh.hierarchy import MeshHierarchy
from core.models.checkpoint import save_checkpoint
from core.models.motion_gan import Motion3DGAN, MotionGANConfig
from core.models.s2d_decoder import DECODER_KIND, DecoderConfig, S2DDecoder
from core.paths import RESOURCES
from core.train.gan_train import GANTrainConfig, motion_set, save_gan
from core.train.s2d_train import S2DTrainConfig

RIGHT_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """(gan file, decoder file) of tiny random models of the real architectures."""
    d = tmp_path_factory.mktemp("w")
    rng = np.random.default_rng(0)
    lm0 = load_landmarks().gather(load_face().vertices)
    seqs = [
        lm0
        + 0.005
        * (np.linspace(0, 1, 30)[:, None, None] ** rng.uniform(0.5, 2))
        * rng.normal(size=(1, 68, 3))
        for _ in range(24)
    ]
    ms = motion_set(np.asarray(seqs, np.float32), np.arange(24) % len(LABELS))
    p = karcher_mean(ms.q, tol=1e-6).mean
    cfg = MotionGANConfig(
        labels=LABELS, n_components=8, g_hidden=(32,), d_hidden=(32,), one_sided=ONE_SIDED_LABELS
    )
    torch.manual_seed(0)
    save_gan(
        d / "gan.safetensors",
        Motion3DGAN.from_data(cfg, p, log_map(p, ms.q), ms.length),
        GANTrainConfig(),
    )
    h = MeshHierarchy.load(RESOURCES / "hierarchy.npz")
    dec = S2DDecoder(
        DecoderConfig.from_hierarchy(h, channels=(16, 8, 8, 8, 8), output_scale=0.05), h
    )
    save_checkpoint(
        d / "dec.safetensors",
        dec.state_dict(),
        dec.config,
        DECODER_KIND,
        {"train_config": asdict(S2DTrainConfig())},
    )
    return d / "gan.safetensors", d / "dec.safetensors"


@pytest.fixture
def studio_export(qtbot, weights, tmp_path):
    """An OBJ export of a sculpted generated motion made by a StudioSession; its folder."""
    from app.exporting import ExportController
    from app.session import StudioSession
    from core.edit.replay import studio_generator, studio_pipeline

    pipe = studio_pipeline(weights[1], "cpu")
    s = StudioSession(pipe, studio_generator(pipe, weights[0]))
    with qtbot.waitSignal(s.models_ready, timeout=30000):
        s.start()
    try:
        with qtbot.waitSignal(s.motion_changed, timeout=30000):
            s.generate("contempt", 5, 30)
        qtbot.waitUntil(lambda: s.idle, timeout=30000)

        def drag(k, delta, frame, view_rows=None):
            s.set_frame(frame)
            start = np.array(s.current_landmarks()[k], np.float64)
            assert s.begin_drag(k, view_rows)
            for i in range(1, 4):
                s.drag_to(start + np.asarray(delta) * i / 3)
            qtbot.waitUntil(lambda: s.idle, timeout=30000)
            s.end_drag()
            qtbot.waitUntil(lambda: s.idle and s.committed_vertices is not None, timeout=30000)

        drag(48, [0.0, -0.001, 0.003], frame=20)
        s.set_mode("coherent")
        s.set_symmetric(True)
        s.pin(8)
        drag(51, [0.0, 0.0, 0.002], frame=12, view_rows=RIGHT_UP)
        s.reset_landmark(48)
        s.set_sigma(math.inf)
        s.set_mode("direct")
        drag(19, [0.0, 0.0, 0.002], frame=25)
        qtbot.waitUntil(lambda: s.idle and s.committed_vertices is not None, timeout=30000)
        assert len(s.snapshot.edits) == 4 and s.snapshot.edited_frames().size > 20
        s.exports = ExportController(s)
        out = tmp_path / "studio"
        with qtbot.waitSignal(s.exports.finished, timeout=30000):
            assert s.export("obj", str(out))
    finally:
        s.shutdown()
    return out


def test_replay_recreates_the_studio_obj_export_byte_for_byte(
    studio_export, weights, tmp_path, capsys
):
    out = tmp_path / "replayed"
    assert (
        run_cli(
            [
                "replay",
                str(studio_export / "manifest.json"),
                "--out",
                str(out),
                "--weights",
                str(weights[0]),
                "--decoder-weights",
                str(weights[1]),
            ]
        )
        == 0
    )
    want = sorted(p.name for p in studio_export.iterdir())
    assert sorted(p.name for p in out.iterdir()) == want and len(want) == 31
    for name in want:
        assert (out / name).read_bytes() == (studio_export / name).read_bytes(), name
    man = json.loads((studio_export / "manifest.json").read_text())
    assert [next(iter(e)) for e in man["replay"]["edits"]] == ["drag", "drag", "reset", "drag"]
    assert man["replay"]["source"]["kind"] == "generate" and man["replay"]["source"]["side"]
    assert man["replay"]["edit_gate"] == "edit"  # the studio's per-edit gate
    assert man["replay"]["fold_repair"] == 2  # and its fold repair (iterations)
    _error_paths(studio_export, weights, tmp_path, capsys)


def _write(path, data):
    path.write_text(json.dumps(data))
    return path


def _error_paths(studio_export, weights, tmp_path, capsys):
    """Bad manifests and destinations: exit 2, one line, nothing written (shares the export)."""
    man = json.loads((studio_export / "manifest.json").read_text())
    common = ["--weights", str(weights[0]), "--decoder-weights", str(weights[1])]
    out = tmp_path / "out"

    def fails(manifest, match, dest=out):
        assert run_cli(["replay", str(manifest), "--out", str(dest), *common]) == 2
        assert match in capsys.readouterr().err
        assert not out.exists()

    fails(tmp_path / "missing.json", "not found")
    (tmp_path / "bad.json").write_text("{")
    fails(tmp_path / "bad.json", "not a readable JSON")
    fails(
        _write(tmp_path / "cli.json", {k: v for k, v in man.items() if k != "replay"}),
        "no 'replay' section",
    )
    fails(_write(tmp_path / "glb.json", {**man, "format": "glb"}), "found format 'glb'")
    face = {**man["replay"]["face"], "vertices_sha256": "0" * 64}
    fails(
        _write(tmp_path / "face.json", {**man, "replay": {**man["replay"], "face": face}}),
        "differs from the one the export was made on",
    )
    models = {"s2d_decoder": "f" * 64, "motion3dgan": None}
    fails(
        _write(tmp_path / "w.json", {**man, "replay": {**man["replay"], "models": models}}),
        "the s2d_decoder weights differ",
    )
    bad_edit = [{"drag": {"frame": 3}}]
    fails(
        _write(tmp_path / "e.json", {**man, "replay": {**man["replay"], "edits": bad_edit}}),
        "malformed",
    )
    late = [{"drag": {**man["replay"]["edits"][0]["drag"], "frame": 99}}]
    fails(
        _write(tmp_path / "l.json", {**man, "replay": {**man["replay"], "edits": late}}),
        "does not fit a motion of 30 frames",
    )
    fails(
        _write(tmp_path / "g.json", {**man, "replay": {**man["replay"], "edit_gate": "all"}}),
        "edit gate: expected one of",
    )
    fails(
        _write(tmp_path / "r.json", {**man, "replay": {**man["replay"], "fold_repair": -1}}),
        "fold repair: expected a whole number",
    )
    fails(studio_export / "manifest.json", "already exists", dest=studio_export)


def test_edit_records_round_trip_exactly():
    rng = np.random.default_rng(1)
    base = rng.normal(0, 0.01, (12, 68, 3)).astype(np.float32)
    base[0] = base[0] * 0  # frame 0: the neutral start (zero motion)
    edits = [
        DragEdit(5, rng.normal(0, 1e-3, (68, 3)), 3.0, 48, "coherent", True),
        ResetEdit((48, 54)),
        DragEdit(11, rng.normal(0, 1e-3, (68, 3)), math.inf, 19),
        ResetEdit(None),
        DragEdit(2, rng.normal(0, 1e-3, (68, 3)), 0.0, 8),
        DragEdit(3, rng.normal(0, 1e-3, (68, 3)), 2.0, 57, "smooth", False, 0.0123),
    ]
    again = [edit_from_json(json.loads(json.dumps(e.to_json()))) for e in edits]
    assert again[-1].radius == 0.0123 and again[0].radius is None
    old = edits[-1].to_json()
    del old["drag"]["radius"]  # a record written before the radius was recorded
    assert edit_from_json(old).radius is None
    a, b = apply_edits(base, edits), apply_edits(base, again)
    assert a.dtype == np.float32 and a.tobytes() == b.tobytes()
    assert np.abs(a).max() > 0 and not a.flags.writeable
