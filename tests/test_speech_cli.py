"""``python main.py speak`` round trips: files, manifest, MP4 duration, bad input."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from core.cli import run_cli
from core.io.manifest import validate_manifest
from core.speech.tts import flite_available

pytest.importorskip("pocketsphinx")
sf = pytest.importorskip("soundfile")
needs_flite = pytest.mark.skipif(not flite_available(), reason="flite not installed")


def _mp4_seconds(path):
    import imageio_ffmpeg

    err = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-i", str(path)], capture_output=True, text=True
    ).stderr
    h, m, s = err.split("Duration: ")[1].split(",")[0].split(":")
    assert "Audio: aac" in err and "Video: h264" in err
    return int(h) * 3600 + int(m) * 60 + float(s)


@needs_flite
def test_speak_tts_round_trip(tmp_path):
    out = tmp_path / "out"
    rc = run_cli(
        [
            "speak",
            "--tts",
            "Bob made a map.",
            "--emotion",
            "happy",
            "--seed",
            "2",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    man = validate_manifest(json.loads((out / "manifest.json").read_text()))
    n = man["n_frames"]
    assert man["motion"] == {
        "kind": "speech",
        "label": "happy",
        "seed": 2,
        "method": "rules",
        "length": n,
    }
    assert man["speech"]["phones"] == "aligned"
    assert len(list((out / "frames").glob("frame_*.obj"))) == n
    rows = (out / "weights.csv").read_text().splitlines()
    assert len(rows) == n + 1 and rows[0].split(",")[2] == "browDownLeft"
    w = json.loads((out / "weights.json").read_text())
    assert len(w["weights"]) == n and "jawOpen" in w["names"]
    assert abs(_mp4_seconds(out / "speech.mp4") - man["speech"]["duration"]) < 0.07
    assert abs(n / man["fps"] - man["speech"]["duration"]) <= 1 / man["fps"]
    jaw = np.array(w["weights"])[:, w["names"].index("jawOpen")]
    assert jaw.max() > 0.2 and jaw[0] < 0.05  # the mouth moves, starting from rest


def test_speak_silence_gives_a_still_mouth(tmp_path):
    wav = tmp_path / "silence.wav"
    sf.write(wav, np.zeros(8000 * 2, np.int16), 8000)
    out = tmp_path / "o"
    assert (
        run_cli(["speak", "--audio", str(wav), "--emotion", "sad", "--no-video", "--out", str(out)])
        == 0
    )
    w = json.loads((out / "weights.json").read_text())
    names, w = w["names"], np.array(w["weights"])
    mouth = [i for i, n in enumerate(names) if n.startswith(("jaw", "mouthFunnel", "mouthPucker"))]
    assert np.abs(np.diff(w[:, mouth], axis=0)).max() < 1e-6


def test_speak_bad_input_exits_2_and_writes_nothing(tmp_path, capsys):
    empty = tmp_path / "e.wav"
    empty.write_bytes(b"")
    out = tmp_path / "o"
    assert run_cli(["speak", "--audio", str(empty), "--emotion", "happy", "--out", str(out)]) == 2
    assert not out.exists()
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err
    junk = tmp_path / "j.mp3"
    junk.write_bytes(b"\x00\x01garbage" * 100)
    assert run_cli(["speak", "--audio", str(junk), "--emotion", "happy", "--out", str(out)]) == 2
    assert not out.exists()
    with pytest.raises(SystemExit):
        run_cli(["speak", "--audio", str(junk), "--emotion", "bored", "--out", str(out)])


@needs_flite
def test_speak_diffusion_with_the_shipped_weights(tmp_path):
    from core.speech.ldm import DEFAULT_WEIGHTS

    if not DEFAULT_WEIGHTS.is_file():
        pytest.skip("models/speech_ldm.safetensors not present")
    outs = []
    for seed in (0, 1):
        out = tmp_path / f"d{seed}"
        rc = run_cli(
            [
                "speak",
                "--tts",
                "Bob made a map.",
                "--emotion",
                "fear",
                "--method",
                "diffusion",
                "--seed",
                str(seed),
                "--no-video",
                "--out",
                str(out),
            ]
        )
        assert rc == 0
        man = validate_manifest(json.loads((out / "manifest.json").read_text()))
        assert man["motion"]["method"] == "diffusion"
        assert len(man["models"]["speech_ldm"]["sha256"]) == 64
        outs.append(np.array(json.loads((out / "weights.json").read_text())["weights"]))
    assert outs[0].shape == outs[1].shape and np.abs(outs[0] - outs[1]).max() > 1e-3


@needs_flite
def test_speak_guided_uses_the_aligned_phones(tmp_path):
    from core.speech.ldm import DEFAULT_WEIGHTS

    if not DEFAULT_WEIGHTS.is_file():
        pytest.skip("models/speech_ldm.safetensors not present")
    out = tmp_path / "g"
    args = ["speak", "--tts", "Bob made a map.", "--emotion", "sad", "--method", "guided"]
    assert run_cli(args + ["--no-video", "--out", str(out)]) == 0
    man = validate_manifest(json.loads((out / "manifest.json").read_text()))
    assert man["motion"]["method"] == "guided" and man["speech"]["phones"] == "aligned"
    assert man["speech"]["n_phones"] > 5 and len(man["models"]["speech_ldm"]["sha256"]) == 64
    w = np.array(json.loads((out / "weights.json").read_text())["weights"])
    assert w.shape == (man["n_frames"], 53) and np.isfinite(w).all()
