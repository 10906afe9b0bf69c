"""Loading shipped or trained weights: the one place that turns a checkpoint into a model.

Every loader goes through :func:`load_model`: a missing file is a
:class:`core.errors.MissingWeightsError` that names the command that trains it; the config is
read with :func:`core.config.config_from_dict` (unknown keys refused) before the model is
allocated; mismatched weights are a clear error, not a torch traceback; the result is in eval
mode on ``device`` and its metadata carries the file's ``sha256``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from core.config import config_from_dict
from core.errors import MissingWeightsError, S2DError
from core.files import file_sha256
from core.models.checkpoint import load_checkpoint

__all__ = [
    "load_model",
    "load_decoder",
    "load_gan",
    "load_sequence_model",
    "check_config_bounds",
    "MAX_CONFIG_INT",
]


def load_model(
    path: Path | str,
    kind: str,
    build: Callable[[dict, dict], nn.Module],
    device: str | torch.device = "cpu",
    *,
    what: str,
    train_hint: str,
    optional_prefixes: tuple[str, ...] = (),
) -> tuple[nn.Module, dict[str, Any]]:
    """Read a checkpoint of ``kind`` and build its model -> (model in eval mode, metadata).

    Parameters
    ----------
    build : callable (config dict, extra dict) -> nn.Module
        Allocates the model from the saved config (validate it with ``config_from_dict``).
    what, train_hint : str
        The model's name and how to get its weights, for error messages.
    optional_prefixes : tuple of str
        State keys the file may lack (e.g. the GAN critic, not shipped with inference weights).
    """
    path = Path(path)
    if not path.is_file():
        raise MissingWeightsError(f"{what} weights {path} not found; {train_hint}")
    state, cfg, extra = load_checkpoint(path, kind)
    check_config_bounds(cfg, f"{path}: {what} config")
    _check_finite(path, state, train_hint)
    probe = _build_on_meta(build, cfg, extra)  # nothing allocated, whatever the config says
    if probe is not None:
        _check_shapes(path, probe, state, optional_prefixes, what, train_hint)
    model = build(cfg, extra)
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # size mismatches the meta probe could not see
        raise MissingWeightsError(
            f"{path}: the weights do not match the {what} config "
            f"({str(exc).splitlines()[-1].strip()[:200]}); {train_hint}"
        ) from exc
    bad = [k for k in missing if not k.startswith(optional_prefixes)] + list(unexpected)
    if bad:
        raise MissingWeightsError(
            f"{path}: the weights do not match the {what} config (mismatched keys "
            f"{bad[:5]}); {train_hint}"
        )
    model.eval().to(device)
    extra = dict(extra)
    extra["sha256"] = file_sha256(path)
    extra["path"] = str(path)
    return model, extra


#: Largest integer a saved config may hold (sizes, dimensions, counts): the largest in our
#: configs is a vertex count (4312); 1e6 leaves room for scans while z_dim = 1e7 or a
#: 1e9-vertex level is refused before anything is built.
MAX_CONFIG_INT = 1_000_000


def check_config_bounds(cfg: Any, where: str) -> None:
    """Refuse saved config values no model of ours can have: integers outside
    ``[-MAX_CONFIG_INT, MAX_CONFIG_INT]``, non-finite numbers, nesting deeper than 4, lists longer
    than 1000. Raises :class:`MissingWeightsError` naming the field."""

    def walk(value: Any, name: str, depth: int) -> None:
        if depth > 4:
            raise MissingWeightsError(f"{where}: {name} is nested too deeply; the file is damaged")
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return
        if isinstance(value, int):
            if abs(value) > MAX_CONFIG_INT:
                raise MissingWeightsError(
                    f"{where}: {name} = {value} is outside the sane range "
                    f"[-{MAX_CONFIG_INT}, {MAX_CONFIG_INT}]; the file is damaged or not ours — "
                    "re-download or retrain the weights"
                )
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise MissingWeightsError(
                    f"{where}: {name} = {value} is not finite; the file "
                    "is damaged — re-download or retrain the weights"
                )
        elif isinstance(value, (list, tuple)):
            if len(value) > 1000:
                raise MissingWeightsError(
                    f"{where}: {name} has {len(value)} entries (at most 1000); the file is damaged"
                )
            for i, v in enumerate(value):
                walk(v, f"{name}[{i}]", depth + 1)
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{name}.{k}", depth + 1)

    if not isinstance(cfg, dict):
        raise MissingWeightsError(f"{where}: expected a JSON object, found {type(cfg).__name__}")
    for key, value in cfg.items():
        walk(value, str(key), 0)


def _check_finite(path: Path, state: dict, train_hint: str) -> None:
    bad = [k for k, t in state.items() if t.is_floating_point() and not torch.isfinite(t).all()]
    if bad:
        raise MissingWeightsError(
            f"{path}: weights {bad[:3]} hold NaN/inf values; the file is damaged — {train_hint}"
        )


def _build_on_meta(build, cfg: dict, extra: dict) -> nn.Module | None:
    """The model built on the ``meta`` device (shapes only, no memory), or None if its
    constructor cannot run there (the shape check then happens at ``load_state_dict``)."""
    try:
        with torch.device("meta"):
            return build(cfg, extra)
    except S2DError:
        raise  # a config the dataclass refuses: its own clear message
    except Exception:  # noqa: BLE001 - e.g. a constructor that computes on real data
        return None


def _check_shapes(
    path: Path, probe: nn.Module, state: dict, optional: tuple[str, ...], what: str, train_hint: str
) -> None:
    """Every tensor of the file must have the shape the config implies (before allocation)."""
    expected = {k: tuple(v.shape) for k, v in probe.state_dict().items()}
    wrong = [
        f"{k} {tuple(t.shape)} instead of {expected[k]}"
        for k, t in state.items()
        if k in expected and tuple(t.shape) != expected[k]
    ]
    missing = [k for k in expected if k not in state and not k.startswith(optional)]
    unexpected = [k for k in state if k not in expected]
    if wrong or missing or unexpected:
        parts = (
            ([f"shapes {wrong[:2]}"] if wrong else [])
            + ([f"missing {missing[:3]}"] if missing else [])
            + ([f"unexpected {unexpected[:3]}"] if unexpected else [])
        )
        raise MissingWeightsError(
            f"{path}: the weights do not match the {what} config ({'; '.join(parts)}); {train_hint}"
        )


def load_decoder(
    path: Path | str | None = None, hierarchy=None, device="cpu"
) -> tuple[nn.Module, dict]:
    """S2D-Dec (or S2D-Dec+ with its linear shortcut, or either inside a
    :class:`~core.models.residual_decoder.ResidualDecoder` with its gate) -> (model, metadata).

    path : default ``models/s2d_decoder.safetensors``; hierarchy : the
    :class:`core.mesh.hierarchy.MeshHierarchy` it was trained on (default: the shipped one).
    """
    from core.assets import resource_path
    from core.mesh.hierarchy import MeshHierarchy
    from core.models.s2d_decoder import DECODER_KIND, DecoderConfig, S2DDecoder
    from core.paths import MODELS

    def build(cfg: dict, extra: dict) -> nn.Module:
        config = config_from_dict(DecoderConfig, cfg)
        h = (
            hierarchy
            if hierarchy is not None
            else MeshHierarchy.load(resource_path("hierarchy.npz"))
        )
        model = S2DDecoder(config, h)
        if extra.get("train_config", {}).get("linear_skip"):
            from core.models.linear_skip import SkipDecoder

            model = SkipDecoder(model)
        if extra.get("train_config", {}).get("landmark_residual"):
            from core.models.residual_decoder import gate_config_of, residual_decoder

            model = residual_decoder(model, gate_config_of(extra))
        return model

    return load_model(
        path or MODELS / "s2d_decoder.safetensors",
        DECODER_KIND,
        build,
        device,
        what="decoder",
        train_hint="train them with `python main.py "
        "train-decoder` or restore models/ from the repository",
    )


def load_gan(path: Path | str, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Motion3DGAN inference weights (no critic) -> (model, metadata)."""
    from core.models.motion_gan import GAN_KIND, Motion3DGAN, MotionGANConfig

    def build(cfg: dict, extra: dict) -> nn.Module:
        return Motion3DGAN(
            config_from_dict(
                MotionGANConfig, cfg, "the weights file was written by another version"
            )
        )

    return load_model(
        path,
        GAN_KIND,
        build,
        device,
        what="Motion3DGAN",
        train_hint="train them with `python main.py train-gan` or restore "
        "models/ from the repository",
        optional_prefixes=("critic.",),
    )


def load_sequence_model(path: Path | str, kind: str, device="cpu") -> tuple[nn.Module, dict]:
    """An :class:`~core.models.classifier.ExpressionClassifier` or
    :class:`~core.models.classifier.LSTMBaseline` (by ``kind``) -> (model, metadata)."""
    from core.models.classifier import (
        BASELINE_KIND,
        CLASSIFIER_KIND,
        ExpressionClassifier,
        LSTMBaseline,
        SequenceModelConfig,
    )

    classes = {CLASSIFIER_KIND: ExpressionClassifier, BASELINE_KIND: LSTMBaseline}

    def build(cfg: dict, extra: dict) -> nn.Module:
        return classes[kind](config_from_dict(SequenceModelConfig, cfg))

    return load_model(
        path,
        kind,
        build,
        device,
        what=kind,
        train_hint="train them with `python main.py train-classifier`",
    )
