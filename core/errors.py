"""Domain exceptions. Every message says what was expected, what was found and what to do."""

from __future__ import annotations

__all__ = [
    "S2DError",
    "MeshFormatError",
    "TopologyMismatchError",
    "InvalidInputError",
    "MissingWeightsError",
    "ExportError",
    "DatasetError",
]


class S2DError(Exception):
    """Base class of all errors the core raises on purpose (safe to show to a user)."""


class MeshFormatError(S2DError):
    """A mesh file could not be read or is not a valid triangle mesh."""


class TopologyMismatchError(S2DError):
    """A mesh does not have the vertex count / faces of the model's topology."""


class InvalidInputError(S2DError, ValueError):
    """An array argument has the wrong shape or dtype, or contains NaN/inf."""


class MissingWeightsError(S2DError, FileNotFoundError):
    """Trained weights or a resource file are missing or unreadable."""


class ExportError(S2DError, OSError):
    """An export could not be written (nothing half-written is left behind)."""


class DatasetError(S2DError):
    """A dataset folder does not have the expected layout."""
