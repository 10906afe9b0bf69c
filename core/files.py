"""File identity: the SHA-256 digest that manifests and checkpoints record of a file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from core.errors import MissingWeightsError

__all__ = ["file_sha256"]


def file_sha256(path: str | os.PathLike, length: int = 64) -> str:
    """Hex SHA-256 of a file's bytes (full 64 hex digits; ``length`` shortens it).

    Raises
    ------
    MissingWeightsError
        If the file does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingWeightsError(f"expected a file to hash at {path}, found nothing")
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:length]
