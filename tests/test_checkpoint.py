"""Safetensors checkpoints: round trip with config, atomic writes, clear errors, no pickle."""

import dataclasses
import hashlib
import json
import struct

import pytest
import torch
import trimesh
from safetensors.torch import save_file

from core.config import config_from_dict
from core.errors import InvalidInputError, MissingWeightsError, S2DError
from core.files import file_sha256
from core.mesh import build_hierarchy
from core.models import DecoderConfig, S2DDecoder, load_checkpoint, save_checkpoint

KIND = "s2d-decoder"


@pytest.fixture(scope="module")
def model():
    m = trimesh.creation.icosphere(subdivisions=2)
    h = build_hierarchy(m.vertices, m.faces, factors=(4, 4), spiral_length=7)
    torch.manual_seed(0)
    return S2DDecoder(DecoderConfig.from_hierarchy(h, channels=(8, 8, 4), output_scale=0.01), h), h


def test_round_trip_gives_identical_outputs(model, tmp_path):
    net, h = model
    path = tmp_path / "dec.safetensors"
    extra = {"epoch": 3, "hierarchy": h.fingerprint(), "stats": [0.5, 1.5]}
    assert save_checkpoint(path, net.state_dict(), net.config, KIND, extra) == path
    state, config, back_extra = load_checkpoint(path, KIND)
    assert back_extra == extra
    assert config == json.loads(json.dumps(dataclasses.asdict(net.config)))
    cfg = config_from_dict(DecoderConfig, config)
    assert cfg == net.config
    clone = S2DDecoder(cfg, h)
    clone.load_state_dict(state)
    x = torch.randn(5, 68, 3)
    with torch.inference_mode():
        torch.testing.assert_close(clone(x), net(x), rtol=0, atol=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dec.safetensors"]  # no temp file


def test_file_is_plain_safetensors_with_metadata(model, tmp_path):
    net, _ = model
    path = save_checkpoint(tmp_path / "d.safetensors", net.state_dict(), net.config, KIND)
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    assert header["__metadata__"]["kind"] == KIND
    assert json.loads(header["__metadata__"]["extra"]) == {}
    assert b"pickle" not in raw[: 8 + n]


def test_overwrite_is_atomic_and_keeps_a_valid_file(model, tmp_path):
    net, _ = model
    path = tmp_path / "d.safetensors"
    save_checkpoint(path, net.state_dict(), net.config, KIND, {"v": 1})
    save_checkpoint(path, net.state_dict(), net.config, KIND, {"v": 2})
    assert load_checkpoint(path, KIND)[2] == {"v": 2}
    assert len(list(tmp_path.iterdir())) == 1


def test_wrong_kind_is_refused(model, tmp_path):
    net, _ = model
    path = save_checkpoint(tmp_path / "d.safetensors", net.state_dict(), net.config, KIND)
    with pytest.raises(
        S2DError, match="expected a 'motion-gan' checkpoint, found kind 's2d-decoder'"
    ):
        load_checkpoint(path, "motion-gan")


def test_missing_and_corrupt_files_raise_missing_weights(model, tmp_path):
    with pytest.raises(MissingWeightsError, match="found nothing"):
        load_checkpoint(tmp_path / "absent.safetensors", KIND)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00\x01 definitely not safetensors")
    with pytest.raises(MissingWeightsError, match="corrupt"):
        load_checkpoint(garbage, KIND)
    net, _ = model
    good = save_checkpoint(tmp_path / "d.safetensors", net.state_dict(), net.config, KIND)
    truncated = tmp_path / "trunc.safetensors"
    truncated.write_bytes(good.read_bytes()[:-100])
    with pytest.raises(MissingWeightsError, match="corrupt"):
        load_checkpoint(truncated, KIND)


def test_foreign_safetensors_without_metadata_is_refused(tmp_path):
    path = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(3)}, str(path))
    with pytest.raises(S2DError, match="not written by core.models.checkpoint"):
        load_checkpoint(path, KIND)


def test_invalid_arguments(model, tmp_path):
    net, _ = model
    with pytest.raises(InvalidInputError, match="dataclass instance"):
        save_checkpoint(tmp_path / "x.safetensors", net.state_dict(), {"a": 1}, KIND)
    with pytest.raises(InvalidInputError, match="JSON"):
        save_checkpoint(
            tmp_path / "x.safetensors", net.state_dict(), net.config, KIND, {"bad": object()}
        )
    with pytest.raises(InvalidInputError, match="tensors"):
        save_checkpoint(tmp_path / "x.safetensors", {"w": [1, 2]}, net.config, KIND)
    assert list(tmp_path.iterdir()) == []


def test_file_sha256(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(b"abc" * 1000)
    assert file_sha256(p) == hashlib.sha256(b"abc" * 1000).hexdigest()
    assert file_sha256(p, length=16) == hashlib.sha256(b"abc" * 1000).hexdigest()[:16]
    assert len(file_sha256(p, length=64)) == 64
    with pytest.raises(MissingWeightsError):
        file_sha256(tmp_path / "nope")
