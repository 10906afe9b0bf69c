"""Weights checkpoints: safetensors files with the model config stored beside the tensors.

A checkpoint is one ``.safetensors`` file whose metadata holds ``kind`` (which model it is for),
``config`` (JSON of the model's frozen config dataclass), ``extra`` (JSON: epoch, hierarchy
fingerprint, normalisation statistics...) and ``format_version``. No pickle is involved anywhere,
so loading an untrusted file cannot run code. Files are written atomically.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from core.errors import ExportError, InvalidInputError, MissingWeightsError, S2DError
from core.io.atomic import atomic_file

__all__ = ["CHECKPOINT_FORMAT_VERSION", "save_checkpoint", "load_checkpoint"]

#: Written into every checkpoint's metadata; bump when the metadata layout changes.
CHECKPOINT_FORMAT_VERSION = 1


def save_checkpoint(
    path: str | os.PathLike,
    state_dict: Mapping[str, torch.Tensor],
    config: Any,
    kind: str,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write weights plus config as a safetensors file, atomically.

    Parameters
    ----------
    path : path-like
        Destination ``.safetensors`` file. A temporary file is written in the same folder and
        renamed over ``path``, so a crash never leaves a half-written checkpoint.
    state_dict : mapping of str to Tensor
        E.g. ``model.state_dict()``; tensors are saved as contiguous CPU copies.
    config : dataclass instance
        The model's frozen config; stored as JSON (tuples become lists).
    kind : str
        What the weights are for (e.g. ``"s2d_decoder"``); checked on load.
    extra : mapping, optional
        JSON-serialisable extra information.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    InvalidInputError
        If ``config`` is not a dataclass instance, a value is not a tensor or a field is not
        JSON-serialisable.
    ExportError
        If the file cannot be written (nothing is left behind).
    """
    path = Path(path)
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise InvalidInputError(
            f"expected a dataclass instance as config, found {type(config).__name__}; pass the "
            "model's config object"
        )
    if not kind:
        raise InvalidInputError("expected a non-empty checkpoint kind, found ''")
    tensors: dict[str, torch.Tensor] = {}
    for name, t in state_dict.items():
        if not isinstance(t, torch.Tensor):
            raise InvalidInputError(
                f"expected tensors in state_dict, found {type(t).__name__} for {name!r}"
            )
        tensors[name] = t.detach().to("cpu").contiguous().clone()
    try:
        metadata = {
            "kind": kind,
            "config": json.dumps(dataclasses.asdict(config), sort_keys=True),
            "extra": json.dumps(dict(extra or {}), sort_keys=True),
            "format_version": str(CHECKPOINT_FORMAT_VERSION),
        }
    except TypeError as exc:
        raise InvalidInputError(
            f"expected JSON-serialisable config and extra, found: {exc}; convert arrays to lists"
        ) from exc
    with atomic_file(path) as tmp:
        try:
            save_file(tensors, tmp, metadata=metadata)
        except SafetensorError as exc:
            raise ExportError(
                f"cannot write checkpoint {path}: {exc}; check disk space and rights"
            ) from exc
    return path


def load_checkpoint(
    path: str | os.PathLike, expected_kind: str, device: str | torch.device = "cpu"
) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, Any]]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Parameters
    ----------
    path : path-like
    expected_kind : str
        The ``kind`` the caller needs; any other kind is refused.
    device : str or torch.device
        Where the tensors are loaded.

    Returns
    -------
    state_dict : dict of str to Tensor
    config : dict
        The config fields (JSON values; rebuild with ``core.config.config_from_dict``).
    extra : dict

    Raises
    ------
    MissingWeightsError
        The file is missing, unreadable or not a safetensors file.
    S2DError
        The file is a checkpoint for another kind of model, or its metadata is incomplete.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingWeightsError(
            f"expected a weights file at {path}, found nothing; train the model or download the "
            "weights, then point to the .safetensors file"
        )
    try:
        with safe_open(str(path), framework="pt", device=str(device)) as fh:
            metadata = fh.metadata() or {}
            state = {name: fh.get_tensor(name) for name in fh.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise MissingWeightsError(
            f"expected a safetensors checkpoint at {path}, found an unreadable or corrupt file "
            f"({exc}); re-download or re-train the weights"
        ) from exc
    missing = [k for k in ("kind", "config", "extra") if k not in metadata]
    if missing:
        raise S2DError(
            f"expected checkpoint metadata with kind/config/extra, found none for {missing} in "
            f"{path}; the file was not written by core.models.checkpoint.save_checkpoint"
        )
    if metadata["kind"] != expected_kind:
        raise S2DError(
            f"expected a {expected_kind!r} checkpoint, found kind {metadata['kind']!r} in {path}; "
            "choose the weights file of the right model"
        )
    try:
        config = json.loads(metadata["config"])
        extra = json.loads(metadata["extra"])
    except json.JSONDecodeError as exc:
        raise S2DError(
            f"expected JSON config/extra in the metadata of {path}, found invalid JSON ({exc}); "
            "re-save the checkpoint"
        ) from exc
    return state, config, extra
