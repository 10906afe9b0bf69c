"""Landmark normalisation: one decoder for faces of very different sizes.

A face's *scale* s is the RMS distance of its neutral landmarks to their centroid (metres).
The decoder sees landmark displacements divided by s and predicts the dense displacement
divided by s (``"scale"`` mode): deformations scale with the face, so a baby's smile is a
smaller copy of an adult's. ``"none"`` feeds metres; ``"frobenius"`` is the official code's
per-frame centring + unit-Frobenius normalisation of both landmark sets (input only, output in
metres). ``docs/evaluation.md`` compares the three.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["NORMALIZATIONS", "landmark_scale", "normalize_input", "output_factor"]

NORMALIZATIONS = ("scale", "none", "frobenius")


def landmark_scale(neutral_landmarks):
    """RMS radius of neutral landmarks (..., K, 3) → (...,) (numpy or torch)."""
    if isinstance(neutral_landmarks, torch.Tensor):
        c = neutral_landmarks - neutral_landmarks.mean(-2, keepdim=True)
        return c.pow(2).sum(-1).mean(-1).sqrt()
    c = neutral_landmarks - neutral_landmarks.mean(-2, keepdims=True)
    return np.sqrt((c**2).sum(-1).mean(-1))


def _frob(x):
    c = x - x.mean(-2, keepdim=True)
    return c / c.flatten(-2).norm(dim=-1)[..., None, None]


def normalize_input(mode: str, neutral_lm: torch.Tensor, target_lm: torch.Tensor) -> torch.Tensor:
    """Decoder input (B, K, 3) from neutral and target landmarks (B, K, 3), metres."""
    if mode == "scale":
        return (target_lm - neutral_lm) / landmark_scale(neutral_lm)[:, None, None]
    if mode == "none":
        return target_lm - neutral_lm
    if mode == "frobenius":
        return _frob(target_lm) - _frob(neutral_lm)
    raise ValueError(f"unknown normalisation {mode!r}; expected one of {NORMALIZATIONS}")


def output_factor(mode: str, neutral_lm: torch.Tensor) -> torch.Tensor:
    """Per-sample factor (B,) turning the decoder output into metres."""
    if mode == "scale":
        return landmark_scale(neutral_lm)
    return torch.ones(neutral_lm.shape[0], dtype=neutral_lm.dtype, device=neutral_lm.device)
