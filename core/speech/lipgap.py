"""The inner-lip gap of the speech rig as a differentiable function of its parameters.

The speech rig is linear in the facial actions and piecewise linear in the jaw angle, so the gap
``z(upper inner lip) - z(lower inner lip)`` of the default face is

    gap(p) = gap0 + sum_a p_a * dgap_a + jaw_gap(p_jaw)

with ``jaw_gap`` interpolated between the rig's jaw samples — the same quantity that
``core.eval.speech_metrics.closure_rate`` thresholds, computed without building the vertices.
Used by the closure-aware training loss (:mod:`core.train.speech_closure`) and the phone-timed
guidance at inference (:mod:`core.speech.guide`).

Shapes: B batch, L frames, P parameters (52 actions + the jaw in degrees), J jaw samples.
"""

from __future__ import annotations

import torch
from torch import nn

from core.assets import load_face, load_landmarks
from core.speech.rig import SpeechRig

__all__ = ["LipGap", "CLOSED_TARGET_MM"]

#: The gap (mm) a closed mouth aims below at a bilabial frame; the metric counts < 1.5 mm.
CLOSED_TARGET_MM = 0.5
#: iBUG inner-lip landmarks (0-based): upper 62, lower 66 (as in the evaluation).
UPPER_INNER, LOWER_INNER = 62, 66


class LipGap(nn.Module):
    """Inner-lip gap in mm of parameter frames (B, L, P) → (B, L) (default face)."""

    def __init__(self, rig: SpeechRig):
        super().__init__()
        lm = load_landmarks().indices
        up, lo = int(lm[UPPER_INNER]), int(lm[LOWER_INNER])
        face = load_face().vertices
        to_mm = 1000.0

        def dz(a):  # a (..., V, 3) → (...) z of upper minus lower, mm
            return torch.as_tensor((a[..., up, 2] - a[..., lo, 2]) * to_mm, dtype=torch.float32)

        self.register_buffer("gap0", dz(face))  # ()
        self.register_buffer("d_action", dz(rig.action_delta))  # (52,)
        self.register_buffer("jaw_angles", torch.as_tensor(rig.jaw_angles, dtype=torch.float32))
        self.register_buffer("d_jaw", dz(rig.jaw_delta))  # (J,)

    def forward(self, params: torch.Tensor) -> torch.Tensor:
        n_act = len(self.d_action)
        gap = self.gap0 + params[..., :n_act] @ self.d_action  # (B, L)
        ang = self.jaw_angles
        jaw = params[..., n_act].clamp(float(ang[0]), float(ang[-1]))  # (B, L)
        k = (torch.searchsorted(ang, jaw.detach().contiguous(), right=True) - 1).clamp(
            0, len(ang) - 2
        )
        w = (jaw - ang[k]) / (ang[k + 1] - ang[k])
        return gap + (1 - w) * self.d_jaw[k] + w * self.d_jaw[k + 1]
