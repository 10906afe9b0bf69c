"""Typed configs from JSON: the one reader of every frozen dataclass config.

Configs are frozen dataclasses saved as JSON beside the weights (``core.models.checkpoint``)
or in manifests; :func:`config_from_dict` turns such a dict back into the dataclass and refuses
keys the dataclass does not know, so a file written by another version fails loudly instead of
silently dropping a setting. Missing keys take the dataclass defaults; values are checked by the
dataclass's own ``__post_init__``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from core.errors import InvalidInputError

__all__ = ["config_from_dict"]

C = TypeVar("C")


def config_from_dict(cls: type[C], data: Mapping[str, Any], hint: str = "") -> C:
    """``cls(**data)`` for a dataclass ``cls``, refusing unknown keys.

    Parameters
    ----------
    cls : dataclass type
        The config class, e.g. ``DecoderConfig``.
    data : mapping of str to JSON values
        Typically ``json.loads`` of a saved ``dataclasses.asdict(config)``; lists stay lists
        (the dataclass converts them if it needs tuples).
    hint : str
        What to do about unknown keys, appended to the error message.

    Raises
    ------
    InvalidInputError
        If ``data`` is not a mapping or holds keys that are not fields of ``cls``.
    """
    if not dataclasses.is_dataclass(cls) or not isinstance(cls, type):
        raise TypeError(f"expected a dataclass type, found {cls!r}")
    if not isinstance(data, Mapping):
        raise InvalidInputError(
            f"expected a {cls.__name__} as a JSON object, found {type(data).__name__}"
        )
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise InvalidInputError(
            f"expected {cls.__name__} fields {sorted(names)}, found unknown {unknown}"
            + (f"; {hint}" if hint else "")
        )
    return cls(**dict(data))
