"""Loading shipped or trained weights: the one place that turns a checkpoint into a model.

Every loader goes through :func:`load_model`: a missing file is a
:class:`core.errors.MissingWeightsError` that names the command that trains it; the config is
read with :func:`core.config.config_from_dict` (unknown keys refused) before the model is
allocated; mismatched weights are a clear error, not a torch traceback; the result is in eval
mode on ``device`` and its metadata carries the file's ``sha256``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from core.config import config_from_dict
from core.errors import MissingWeightsError
from core.files import file_sha256
from core.models.checkpoint import load_checkpoint

__all__ = ["load_model", "load_decoder", "load_gan", "load_sequence_model"]


def load_model(path: Path | str, kind: str, build: Callable[[dict, dict], nn.Module],
               device: str | torch.device = "cpu", *, what: str, train_hint: str,
               optional_prefixes: tuple[str, ...] = ()) -> tuple[nn.Module, dict[str, Any]]:
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
    model = build(cfg, extra)
    missing, unexpected = model.load_state_dict(state, strict=False)
    bad = [k for k in missing if not k.startswith(optional_prefixes)] + list(unexpected)
    if bad:
        raise MissingWeightsError(
            f"{path}: the weights do not match the {what} config (mismatched keys "
            f"{bad[:5]}); {train_hint}")
    model.eval().to(device)
    extra = dict(extra)
    extra["sha256"] = file_sha256(path)
    extra["path"] = str(path)
    return model, extra


def load_decoder(path: Path | str | None = None, hierarchy=None, device="cpu"
                 ) -> tuple[nn.Module, dict]:
    """S2D-Dec (or S2D-Dec+ with its linear shortcut) -> (model, metadata).

    path : default ``models/s2d_decoder.safetensors``; hierarchy : the
    :class:`core.mesh.hierarchy.MeshHierarchy` it was trained on (default: the shipped one).
    """
    from core.assets import resource_path
    from core.mesh.hierarchy import MeshHierarchy
    from core.models.s2d_decoder import DECODER_KIND, DecoderConfig, S2DDecoder
    from core.paths import MODELS

    def build(cfg: dict, extra: dict) -> nn.Module:
        config = config_from_dict(DecoderConfig, cfg)
        h = hierarchy if hierarchy is not None else MeshHierarchy.load(
            resource_path("hierarchy.npz"))
        model = S2DDecoder(config, h)
        if extra.get("train_config", {}).get("linear_skip"):
            from core.models.linear_skip import SkipDecoder

            model = SkipDecoder(model)
        return model

    return load_model(path or MODELS / "s2d_decoder.safetensors", DECODER_KIND, build, device,
                      what="decoder", train_hint="train them with `python main.py "
                      "train-decoder` or restore models/ from the repository")


def load_gan(path: Path | str, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Motion3DGAN inference weights (no critic) -> (model, metadata)."""
    from core.models.motion_gan import GAN_KIND, Motion3DGAN, MotionGANConfig

    def build(cfg: dict, extra: dict) -> nn.Module:
        return Motion3DGAN(config_from_dict(
            MotionGANConfig, cfg, "the weights file was written by another version"))

    return load_model(path, GAN_KIND, build, device, what="Motion3DGAN",
                      train_hint="train them with `python main.py train-gan` or restore "
                      "models/ from the repository", optional_prefixes=("critic.",))


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

    return load_model(path, kind, build, device, what=kind,
                      train_hint="train them with `python main.py train-classifier`")
