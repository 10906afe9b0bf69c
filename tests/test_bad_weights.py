"""Damaged or hostile weight files: one-line errors (exit 2), nothing allocated from their config.

Issue 15 items 7 and 8: a config is checked against sane bounds and against the tensor shapes
(the model is first built on the ``meta`` device, which allocates nothing) before the real model
is built; key/shape mismatches, NaN weights and truncated files are clear errors.
"""

from __future__ import annotations

import json
import resource
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from core.cli import run_cli
from core.errors import MissingWeightsError
from core.models.loaders import load_decoder, load_gan
from tests._tiny_models import tiny_weights, weight_args  # noqa: F401


def _rewrite(src: Path, dst: Path, cfg=None, drop=None, narrow=None, nan=None) -> Path:
    with safe_open(str(src), "pt") as fh:
        meta = dict(fh.metadata())
        state = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118
    config = json.loads(meta["config"])
    config.update(cfg or {})
    meta["config"] = json.dumps(config)
    if drop:
        state.pop(drop)
    if narrow:
        state[narrow] = state[narrow][..., :1].contiguous()
    if nan:
        state[nan] = torch.full_like(state[nan], float("nan"))
    save_file(state, str(dst), metadata=meta)
    return dst


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_absurd_config_sizes_are_refused_before_allocation(tmp_path, tiny_weights):  # noqa: F811
    gan, dec = tiny_weights
    before = _maxrss_mb()
    with pytest.raises(MissingWeightsError, match=r"z_dim = 10000000 is outside the sane range"):
        load_gan(_rewrite(gan, tmp_path / "z.safetensors", {"z_dim": 10_000_000}))
    # within the integer bound, but not what the tensors hold: the meta build finds it
    with pytest.raises(MissingWeightsError, match=r"do not match the decoder config \(shapes"):
        load_decoder(_rewrite(dec, tmp_path / "c.safetensors", {"channels": [100_000] * 5}))
    with pytest.raises(MissingWeightsError, match=r"do not match the Motion3DGAN config"):
        load_gan(_rewrite(gan, tmp_path / "z2.safetensors", {"z_dim": 900_000}))
    assert _maxrss_mb() - before < 500  # was: 20 GB (z_dim) and 360 GB (channels) requested


@pytest.mark.parametrize(
    "case,needle",
    [
        ("missing_key", "missing ["),
        ("narrow", "instead of"),
        ("nan", "hold NaN/inf values"),
        ("unknown_field", "found unknown ['colour']"),
        ("negative", "channels"),
        ("truncated", "unreadable or corrupt"),
    ],
)
def test_damaged_decoder_weights_are_one_line_exit_2(
    tmp_path,
    tiny_weights,  # noqa: F811
    capsys,
    case,
    needle,
):
    gan, dec = tiny_weights
    with safe_open(str(dec), "pt") as fh:
        first = sorted(fh.keys())[0]
    bad = tmp_path / "bad.safetensors"
    if case == "missing_key":
        _rewrite(dec, bad, drop=first)
    elif case == "narrow":
        _rewrite(dec, bad, narrow=first.replace("bias", "weight"))
    elif case == "nan":
        _rewrite(dec, bad, nan=first)
    elif case == "unknown_field":
        _rewrite(dec, bad, {"colour": "red"})
    elif case == "negative":
        _rewrite(dec, bad, {"channels": [-1, 8, 8, 8, 8]})
    else:
        data = dec.read_bytes()
        bad.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out"
    rc = run_cli(
        [
            "generate",
            "--label",
            "happy",
            "--out",
            str(out),
            *weight_args(gan, bad),
            "--device",
            "cpu",
            "--format",
            "npz",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and err.count("\n") == 1, err
    assert needle in err and not out.exists()
