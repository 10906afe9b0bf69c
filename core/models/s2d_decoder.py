"""S2D-Dec: landmark displacements (B, K, 3) -> dense per-vertex displacements (B, V, 3).

Architecture (Sparse2Dense, CVPR 2022; the decoder half of Neural3DMM): a fully connected layer
maps the flattened landmark displacement to features on the coarsest mesh level; then, for each
level from coarse to fine, barycentric up-sampling -> SpiralConv -> activation; a last SpiralConv
to 3 channels without activation gives the displacement, multiplied by ``output_scale``.
The caller normalises the input (``input_scale`` is the only scaling applied here) and adds the
prediction to the neutral mesh.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from core.errors import InvalidInputError, TopologyMismatchError
from core.glossary import N_LANDMARKS
from core.mesh.hierarchy import MeshHierarchy
from core.models.spiral_conv import ACTIVATIONS, SpiralConv, upsample_features

__all__ = ["DECODER_KIND", "DecoderConfig", "S2DDecoder"]

#: Checkpoint kind of S2D-Dec weights (``core.models.checkpoint``).
DECODER_KIND = "s2d-decoder"


@dataclass(frozen=True)
class DecoderConfig:
    """Hyper-parameters of :class:`S2DDecoder` (saved beside the weights).

    Attributes
    ----------
    level_sizes : tuple of int
        Vertex count of every hierarchy level, fine to coarse (``MeshHierarchy.sizes``).
    spiral_lengths : tuple of int
        Spiral length of every level, fine to coarse (``MeshHierarchy.spiral_lengths``).
    n_landmarks : int
        ``K``; the input has ``K * 3`` values per sample.
    channels : tuple of int
        Feature channels per level, **coarse to fine** (one per level): the FC layer outputs
        ``channels[0]`` on the coarsest level, the conv after up-sampling to the next finer level
        maps ``channels[i] -> channels[i + 1]``, the last conv ``channels[-1] -> out_channels``.
    out_channels : int
        3 for displacements.
    activation : str
        A key of ``core.models.spiral_conv.ACTIVATIONS``, applied after every spiral
        convolution except the last.
    input_scale : float
        The input is multiplied by this before the FC layer.
    output_scale : float
        The prediction is multiplied by this (e.g. to express it in metres).
    """

    level_sizes: tuple[int, ...]
    spiral_lengths: tuple[int, ...]
    n_landmarks: int = N_LANDMARKS
    channels: tuple[int, ...] = (128, 64, 32, 32, 16)
    out_channels: int = 3
    activation: str = "elu"
    input_scale: float = 1.0
    output_scale: float = 1.0

    def __post_init__(self) -> None:
        for name in ("level_sizes", "spiral_lengths", "channels"):
            object.__setattr__(self, name, tuple(int(x) for x in getattr(self, name)))
        n = len(self.level_sizes)
        if n < 1 or len(self.spiral_lengths) != n or len(self.channels) != n:
            raise InvalidInputError(
                f"expected level_sizes, spiral_lengths and channels of equal length >= 1 (one "
                f"per level), found {len(self.level_sizes)}, {len(self.spiral_lengths)}, "
                f"{len(self.channels)}"
            )
        if min(self.level_sizes + self.spiral_lengths + self.channels) < 1:
            raise InvalidInputError("expected positive level sizes, spiral lengths and channels")
        if self.activation not in ACTIVATIONS:
            raise InvalidInputError(
                f"expected activation in {sorted(ACTIVATIONS)}, found {self.activation!r}"
            )

    @classmethod
    def from_hierarchy(cls, hierarchy: MeshHierarchy, **kwargs: Any) -> DecoderConfig:
        """Config whose level sizes and spiral lengths are those of ``hierarchy``."""
        return cls(level_sizes=hierarchy.sizes, spiral_lengths=hierarchy.spiral_lengths, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict of every field."""
        return asdict(self)


class S2DDecoder(nn.Module):
    """Spiral mesh decoder of landmark displacements.

    Parameters
    ----------
    config : DecoderConfig
        Must match ``hierarchy`` (level sizes and spiral lengths).
    hierarchy : MeshHierarchy
        Topology; its spirals and up-sampling maps become non-persistent buffers, so
        ``.to(device / dtype)`` moves them and ``state_dict()`` holds only trained weights.

    Raises
    ------
    TopologyMismatchError
        If the config's level sizes or spiral lengths differ from the hierarchy's.
    """

    def __init__(self, config: DecoderConfig, hierarchy: MeshHierarchy) -> None:
        super().__init__()
        if (
            config.level_sizes != hierarchy.sizes
            or config.spiral_lengths != hierarchy.spiral_lengths
        ):
            raise TopologyMismatchError(
                f"expected a mesh hierarchy with level sizes {config.level_sizes} and spiral "
                f"lengths {config.spiral_lengths}, found {hierarchy.sizes} and "
                f"{hierarchy.spiral_lengths}; load the hierarchy the model was trained with"
            )
        self.config = config
        n_levels = len(config.level_sizes)
        ch = config.channels
        self.fc = nn.Linear(config.n_landmarks * 3, config.level_sizes[-1] * ch[0])
        # convs[i] runs on level n_levels - 2 - i (after up-sampling), coarse to fine.
        self.convs = nn.ModuleList()
        for i in range(n_levels - 1):
            level = n_levels - 2 - i
            spirals = torch.from_numpy(hierarchy.spirals[level].copy())
            self.convs.append(SpiralConv(ch[i], ch[i + 1], spirals, config.activation))
            self.register_buffer(
                f"up_idx_{level}",
                torch.from_numpy(hierarchy.up_idx[level].copy()),
                persistent=False,
            )
            self.register_buffer(
                f"up_w_{level}", torch.from_numpy(hierarchy.up_w[level].copy()), persistent=False
            )
        spirals0 = torch.from_numpy(hierarchy.spirals[0].copy())
        self.head = SpiralConv(ch[-1], config.out_channels, spirals0, "identity")

    @property
    def n_vertices(self) -> int:
        """``V``, the vertex count of the output (level 0)."""
        return self.config.level_sizes[0]

    def forward(self, landmark_disp: torch.Tensor) -> torch.Tensor:
        """Decode landmark displacements into per-vertex displacements.

        Parameters
        ----------
        landmark_disp : (B, K, 3) or (B, K * 3) float
            Already normalised landmark displacements (target minus neutral).

        Returns
        -------
        (B, V, 3) float
            Per-vertex displacement, same dtype and device as the parameters.
        """
        k3 = self.config.n_landmarks * 3
        x = landmark_disp
        if x.ndim == 3 and x.shape[1:] == (self.config.n_landmarks, 3):
            x = x.reshape(x.shape[0], k3)  # (B, K*3)
        if x.ndim != 2 or x.shape[1] != k3:
            raise InvalidInputError(
                f"expected landmark displacements (B, {self.config.n_landmarks}, 3) or "
                f"(B, {k3}), found {tuple(landmark_disp.shape)}"
            )
        if self.config.input_scale != 1.0:
            x = x * self.config.input_scale
        b = x.shape[0]
        n_levels = len(self.config.level_sizes)
        h = self.fc(x)  # (B, Vc*C0)
        h = h.reshape(b, self.config.level_sizes[-1], self.config.channels[0])  # (B, Vc, C0)
        for i, conv in enumerate(self.convs):
            level = n_levels - 2 - i
            up_idx = getattr(self, f"up_idx_{level}")
            up_w = getattr(self, f"up_w_{level}")
            h = upsample_features(h, up_idx, up_w)  # (B, V_level, C_i)
            h = conv(h)  # (B, V_level, C_{i+1}), activation included
        out = self.head(h)  # (B, V, 3)
        if self.config.output_scale != 1.0:
            out = out * self.config.output_scale
        return out
