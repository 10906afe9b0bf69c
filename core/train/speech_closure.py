"""Closure-aware loss of the speech model: a hinge that asks for a closed mouth at the bilabial
(p, b, m) frames, on the inner-lip gap of :class:`core.speech.lipgap.LipGap`.

Shapes: B batch, L frames.
"""

from __future__ import annotations

import torch

from core.speech.lipgap import CLOSED_TARGET_MM, LipGap

__all__ = ["LipGap", "closure_loss", "CLOSED_TARGET_MM"]


def closure_loss(gap_mm: torch.Tensor, bilabial: torch.Tensor) -> torch.Tensor:
    """Mean squared excess (mm²) of the gap (B, L) over :data:`CLOSED_TARGET_MM` at the frames
    where ``bilabial`` (B, L) bool is set; 0 when no frame is set."""
    excess = torch.relu(gap_mm - CLOSED_TARGET_MM) ** 2
    n = bilabial.sum()
    return (excess * bilabial).sum() / n.clamp_min(1)
