"""S2D-Dec with a linear shortcut: D(x) = W x + b + SpiralDecoder(x).

The landmark → dense map of faces is mostly linear (a ridge regression explains ~97 % of our
data, see docs/evaluation.md). A plain spiral decoder must rebuild that linear part through
its bottleneck and ELUs, which costs accuracy; the shortcut carries it exactly (initialised
with the ridge solution of the training data) and the spiral decoder learns the non-linear,
spatially coherent remainder. ``docs/evaluation.md`` reports both variants.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from core.models.s2d_decoder import S2DDecoder

__all__ = ["SkipDecoder"]


class SkipDecoder(nn.Module):
    """Wraps an :class:`S2DDecoder`; input (B, K, 3) or (B, K*3) → (B, V, 3)."""

    def __init__(self, decoder: S2DDecoder):
        super().__init__()
        self.decoder = decoder
        k3 = decoder.config.n_landmarks * 3
        self.skip = nn.Linear(k3, decoder.n_vertices * 3)
        nn.init.zeros_(self.skip.weight)
        nn.init.zeros_(self.skip.bias)

    @property
    def config(self):
        return self.decoder.config

    @property
    def n_vertices(self) -> int:
        return self.decoder.n_vertices

    @torch.no_grad()
    def init_from_ridge(self, X: np.ndarray, Y: np.ndarray, lam: float = 1e-4) -> None:
        """Set the shortcut to the ridge solution of Y ≈ X W + b.

        X : (N, K*3) normalised landmark displacements; Y : (N, V*3) normalised dense ones.
        """
        from core.models.ridge import RidgeMap

        r = RidgeMap(lam).fit(X, Y)
        w = r.W.T.to(self.skip.weight.dtype)  # (V*3, K*3)
        b = (r.ym - r.xm @ r.W).to(self.skip.bias.dtype)
        self.skip.weight.copy_(w)
        self.skip.bias.copy_(b)

    def forward(self, landmark_disp: torch.Tensor) -> torch.Tensor:
        b = landmark_disp.shape[0]
        lin = self.skip(landmark_disp.reshape(b, -1)).reshape(b, -1, 3)  # (B, V, 3)
        return lin + self.decoder(landmark_disp)
