"""Elementary functions with finite values and gradients at their singular points."""

from __future__ import annotations

import torch

__all__ = ["safe_sqrt"]


def safe_sqrt(sq: torch.Tensor) -> torch.Tensor:
    """``sqrt(sq)`` for ``sq >= 0`` with value 0 and gradient 0 (not inf/NaN) at ``sq = 0``.

    The inner ``where`` keeps ``sqrt`` away from 0, so its backward never divides by zero.
    """
    pos = sq > 0
    return torch.where(pos, torch.sqrt(torch.where(pos, sq, 1.0)), 0.0)
