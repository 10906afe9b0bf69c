"""A generated (or edited) animation as an immutable value.

The GUI and the CLI only index it: ``motion.vertices[t]`` is frame t. Topology is fixed (the
face's faces/UVs live in :class:`core.assets.Face`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Motion"]


@dataclass(frozen=True, eq=False)
class Motion:
    """An animation of T frames.

    landmarks : (T, 68, 3) float32, absolute landmark positions (metres);
    vertices : (T, V, 3) float32, dense faces (metres); frame 0 is the neutral face for
    generated motions; label : expression label or None; seed : noise seed or None;
    fps : playback rate; srvf : (T-1, 204) float32 SRVF on the unit sphere, or None for
    motions not made from an SRVF; meta : free-form provenance (model hashes, tau, edits…).
    """

    landmarks: np.ndarray
    vertices: np.ndarray
    label: str | None = None
    seed: int | None = None
    fps: float = 30.0
    srvf: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("landmarks", "vertices"):
            a = np.asarray(getattr(self, name), dtype=np.float32)
            a.setflags(write=False)
            object.__setattr__(self, name, a)
        if self.landmarks.shape[0] != self.vertices.shape[0]:
            raise ValueError(
                f"landmarks have {self.landmarks.shape[0]} frames but vertices have "
                f"{self.vertices.shape[0]}"
            )

    @property
    def n_frames(self) -> int:
        return int(self.vertices.shape[0])

    @property
    def duration(self) -> float:
        return self.n_frames / self.fps
