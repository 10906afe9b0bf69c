"""``python main.py replay`` of the applications' exports: timelines, transfers and faces made
with the face creator, from the studio and from the CLI; export -> replay -> identical bytes.

Tiny random models of the real architectures (:mod:`tests._tiny_models`) keep it fast.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.cli import run_cli
from tests._replay import (  # noqa: F401 - a fixture
    replay_cli,
    same_folders,
    studio_export,
    tiny_session,
)
from tests._tiny_models import tiny_weights, weight_args  # noqa: F401 - a fixture

pytestmark = pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")


def _perf(path, n=12):
    """A landmark performance (n, 68, 3) in metres around the shipped face's landmarks."""
    from core.assets import load_face, load_landmarks

    lm0 = load_landmarks().gather(load_face().vertices)
    t = np.linspace(0, 1, n)[:, None, None]
    drift = np.random.default_rng(3).normal(0, 0.003, (1, 68, 3))
    np.save(path, (lm0 + np.sin(np.pi * t) * drift).astype(np.float32))
    return path


def test_cli_sequence_and_transfer_exports_replay_byte_for_byte(
    tiny_weights,  # noqa: F811
    tmp_path,
    capsys,
):
    w = weight_args(*tiny_weights)
    common = [*w, "--device", "cpu"]
    spec = "happy:3@0.4s,surprised:1@0.3s/0.2s,neutral@0.3s"
    assert (
        run_cli(["sequence", "--spec", spec, "--fps", "20", "--out", str(tmp_path / "s")] + common)
        == 0
    )
    src = _perf(tmp_path / "perf.npy")
    argv = ["transfer", "--source", str(src), "--source-fps", "24", "--mode", "absolute"]
    assert (
        run_cli(argv + ["--stabilize", "--format", "ply", "--out", str(tmp_path / "t")] + common)
        == 0
    )
    capsys.readouterr()
    for folder, kind, n in (("s/sequence", "sequence", 21), ("t/transfer", "transfer", 15)):
        man = json.loads((tmp_path / folder / "manifest.json").read_text())
        assert man["replay"]["source"]["kind"] == kind and man["replay"]["decoder_batches"] == []
        rc, err = replay_cli(
            tmp_path / folder / "manifest.json", tmp_path / kind, tiny_weights, capsys
        )
        assert rc == 0, err
        assert len(same_folders(tmp_path / folder, tmp_path / kind)) == n + 1
    assert man["replay"]["source"]["source_fps"] == 24 and man["replay"]["source"]["stabilize"]

    # a changed source file, malformed clips: one line, exit 2, nothing written
    np.save(src, np.load(src) * 1.01)
    rc, err = replay_cli(
        tmp_path / "t/transfer/manifest.json", tmp_path / "x", tiny_weights, capsys
    )
    assert rc == 2 and "differs from the one the export was made from" in err
    man = json.loads((tmp_path / "s/sequence/manifest.json").read_text())
    man["replay"]["source"]["clips"][0]["colour"] = "red"
    (tmp_path / "bad.json").write_text(json.dumps(man))
    rc, err = replay_cli(tmp_path / "bad.json", tmp_path / "x", tiny_weights, capsys)
    assert rc == 2 and "malformed timeline clips" in err and err.count("\n") == 1
    assert not (tmp_path / "x").exists()


def test_studio_timeline_on_a_slider_face_and_transfer_replay_byte_for_byte(
    tiny_session,  # noqa: F811
    tiny_weights,  # noqa: F811
    qtbot,
    tmp_path,
    capsys,
):
    from core.apps.timeline import Clip

    s, apps = tiny_session
    apps.set_face({"age": 0.8, "nose-width": 0.4}, "Face sliders")
    apps.set_clips([Clip("happy", 3, 0.35), Clip("neutral", 0, 0.25, 0.2)])
    apps.build_timeline()
    qtbot.waitUntil(lambda: s.source.kind == "sequence", timeout=30000)
    man = studio_export(qtbot, s, tmp_path / "seq")
    assert man["replay"]["face"]["sliders"] == {"age": 0.8, "nose-scale-horiz": 0.4}
    assert man["replay"]["source"]["clips"][1]["transition"] == 0.2
    rc, err = replay_cli(tmp_path / "seq/manifest.json", tmp_path / "seq2", tiny_weights, capsys)
    assert rc == 0, err
    assert len(same_folders(tmp_path / "seq", tmp_path / "seq2")) == s.n_motion_frames + 1

    src = _perf(tmp_path / "perf.npy", 20)
    apps.transfer(str(src), "srvf", source_fps=40.0, stabilize=False, align=True)
    qtbot.waitUntil(lambda: s.source.kind == "transfer", timeout=30000)
    assert s.n_motion_frames == 15  # 20 frames at 40 fps -> 0.475 s at 30 fps
    man = studio_export(qtbot, s, tmp_path / "tr")
    assert man["motion"]["source_fps"] == 40 and man["motion"]["mode"] == "srvf"
    rc, err = replay_cli(tmp_path / "tr/manifest.json", tmp_path / "tr2", tiny_weights, capsys)
    assert rc == 0, err
    assert len(same_folders(tmp_path / "tr", tmp_path / "tr2")) == 16  # frames + manifest

    bad = {**man, "replay": {**man["replay"], "face": {**man["replay"]["face"], "sliders": {}}}}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    rc, err = replay_cli(tmp_path / "bad.json", tmp_path / "x", tiny_weights, capsys)
    assert rc == 2 and "differs from the one the export was made on" in err


def test_studio_export_on_a_neutralized_face_replays_byte_for_byte(
    tiny_session,  # noqa: F811
    tiny_weights,  # noqa: F811
    qtbot,
    tmp_path,
    capsys,
):
    s, apps = tiny_session
    s.generate("happy", 3, 12)
    qtbot.waitUntil(lambda: s.source.kind == "generate" and s.idle, timeout=30000)
    s.set_frame(8)
    apps.neutralize("basis")
    qtbot.waitUntil(lambda: s.face.name.endswith("(neutralized)"), timeout=30000)
    s.generate("surprised", 1, 10)
    qtbot.waitUntil(lambda: s.source.kind == "generate" and s.idle, timeout=30000)
    man = studio_export(qtbot, s, tmp_path / "n")
    assert "vertices_f32le_b64" in man["replay"]["face"]  # no file, no recipe: embedded
    rc, err = replay_cli(tmp_path / "n/manifest.json", tmp_path / "n2", tiny_weights, capsys)
    assert rc == 0, err
    assert len(same_folders(tmp_path / "n", tmp_path / "n2")) == 11  # frames + manifest

    face = {**man["replay"]["face"], "vertices_f32le_b64": "AAAA"}
    bad = {**man, "replay": {**man["replay"], "face": face}}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    rc, err = replay_cli(tmp_path / "bad.json", tmp_path / "x", tiny_weights, capsys)
    assert rc == 2 and "embedded face has 3 bytes" in err
