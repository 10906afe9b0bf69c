"""core.models.loaders: one path from a checkpoint to a model, with clear errors."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from core.errors import MissingWeightsError
from core.models.checkpoint import save_checkpoint
from core.models.loaders import load_model


@dataclass(frozen=True)
class _Cfg:
    n: int = 3


def _build(cfg, extra):
    return torch.nn.Linear(cfg["n"], 2)


def test_round_trip_eval_mode_and_sha(tmp_path):
    net = torch.nn.Linear(3, 2)
    save_checkpoint(tmp_path / "w.safetensors", net.state_dict(), _Cfg(), "toy")
    model, meta = load_model(
        tmp_path / "w.safetensors", "toy", _build, what="toy", train_hint="train it"
    )
    assert not model.training and len(meta["sha256"]) == 64
    torch.testing.assert_close(model.weight, net.weight)


def test_missing_file_and_mismatched_weights_are_domain_errors(tmp_path):
    with pytest.raises(MissingWeightsError, match="toy weights .* not found; train it"):
        load_model(tmp_path / "none.safetensors", "toy", _build, what="toy", train_hint="train it")
    save_checkpoint(tmp_path / "w.safetensors", {"weight": torch.zeros(2, 3)}, _Cfg(), "toy")
    with pytest.raises(MissingWeightsError, match=r"do not match the toy config .*'bias'"):
        load_model(tmp_path / "w.safetensors", "toy", _build, what="toy", train_hint="x")
    model, _ = load_model(
        tmp_path / "w.safetensors",
        "toy",
        _build,
        what="toy",
        train_hint="x",
        optional_prefixes=("bias",),
    )
    assert model.weight.abs().sum() == 0
