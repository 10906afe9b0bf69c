"""Phone-timed constraints on the diffusion sampler (no retraining): pocketsphinx phones steer
the latent diffusion toward the viseme targets and close the lips at the bilabials (p, b, m).

Three parts, each with a strength (defaults chosen on held-out items that ``evaluate-speech``
does not score; see docs/speech.md):

* ``viseme`` (inpainting-style, in latent space): at the first ``until`` DDIM steps the local
  (mouth/jaw) half of the denoiser's clean prediction x0 is blended toward the VQ-VAE encoding
  of the rules' mouth motion for the same phones, ``x0_local ← (1 - a) x0_local + a z_rules``.
  The next noisy state is built from the blended prediction, so the later, unguided steps make
  it a motion the model finds likely; the global (upper face, emotion) half stays the model's,
  and the seed still picks the performance.
* ``closure`` (gradient guidance): a few Adam steps on x0 against
  ``|x0' - x0|² + closure · mean_bil relu(gap(decode(x0')) - 0.5 mm)²`` at every step (measured
  to add nothing to the clamp below, so off by default).
* ``clamp`` (post-hoc): the decoded motion's lip-opening actions and jaw are scaled by
  ``1 - clamp · closure_mask`` as the rules do (:func:`core.speech.visemes.apply_closure`).

Shapes: T frames, L window frames, P parameters, D latent width.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from core.errors import InvalidInputError
from core.speech.emotion import animate
from core.speech.lipgap import CLOSED_TARGET_MM, LipGap
from core.speech.visemes import Phone, Style, apply_closure, closure_mask

__all__ = ["PhoneGuide", "phone_guide", "GUIDE_DEFAULTS"]

#: Strengths chosen on test items 160–199 (evaluate-speech scores items 0–39): the lowest lip
#: error that keeps at least half of the unguided lip diversity across seeds.
GUIDE_DEFAULTS = {"viseme": 0.5, "until": 2, "closure": 0.0, "clamp": 1.0}


@dataclass
class PhoneGuide:
    """Targets for one clip: ``target`` (T, P) rule parameters, ``close`` (T,) closure weights
    in [0, 1] (1 on bilabial frames), rig action ``names`` and the strengths."""

    target: np.ndarray
    close: np.ndarray
    names: tuple
    viseme: float = GUIDE_DEFAULTS["viseme"]
    until: int = GUIDE_DEFAULTS["until"]
    closure: float = GUIDE_DEFAULTS["closure"]
    clamp: float = GUIDE_DEFAULTS["clamp"]
    iters: int = 4
    lr: float = 0.1

    def corrector(self, model, s: int, L: int):
        """``correct(x0, k)`` for the window of frames [s, s + L) of ``model`` (a
        :class:`core.speech.ldm.SpeechLDM`), or None when there is nothing to do."""
        if self.closure <= 0 and (self.viseme <= 0 or self.until <= 0):
            return None
        dev = model.p_mean.device
        dl = model.vq.cfg.d_local
        tgt = torch.as_tensor(self.target[s : s + L], dtype=torch.float32, device=dev)[None]
        e0 = torch.zeros(1, dtype=torch.long, device=dev)  # the local half ignores the emotion
        z_tgt = model.vq.encode((tgt - model.p_mean) / model.p_std, e0)
        z_tgt = ((z_tgt - model.z_mean) / model.z_std)[..., :dl]  # (1, L, D_local)
        bil = torch.as_tensor(self.close[s : s + L] >= 0.99, device=dev)[None]  # (1, L)
        a = min(self.viseme, 1.0)

        def correct(x0: torch.Tensor, k: int) -> torch.Tensor:
            if a > 0 and k < self.until:
                x0 = torch.cat([(1 - a) * x0[..., :dl] + a * z_tgt, x0[..., dl:]], -1)
            if self.closure > 0 and bool(bil.any()):
                x0 = self._close(model, x0, bil)
            return x0

        return correct

    def _close(self, model, x0: torch.Tensor, bil: torch.Tensor) -> torch.Tensor:
        gap_fn = _lip_gap(str(x0.device))
        z = x0.detach().clone().requires_grad_(True)
        opt = torch.optim.Adam([z], lr=self.lr)
        for _ in range(self.iters):
            with torch.enable_grad():
                p = model.vq.decode(z * model.z_std + model.z_mean) * model.p_std + model.p_mean
                hinge = torch.relu(gap_fn(p) - CLOSED_TARGET_MM) ** 2 * bil  # (1, L)
                loss = ((z - x0) ** 2).mean() + self.closure * hinge.sum() / bil.sum()
                z.grad = torch.autograd.grad(loss, z)[0]  # not the model's parameters
            opt.step()
        return z.detach()

    def finish(self, params: np.ndarray) -> np.ndarray:
        """The decoded motion (T, P) with the closure clamp applied (``clamp`` strength)."""
        if self.clamp <= 0:
            return params
        return apply_closure(params, np.clip(self.close * self.clamp, 0, 1), self.names)


@lru_cache(maxsize=2)
def _lip_gap(dev: str) -> LipGap:
    from core.speech.rig import load_speech_rig

    return LipGap(load_speech_rig()).to(dev)


def phone_guide(
    phones: list[Phone],
    n_frames: int,
    emotion: str,
    names: tuple,
    intensity: float = 1.0,
    **strengths,
) -> PhoneGuide:
    """The guide for ``phones`` of a clip of ``n_frames`` frames (the rules' motion with the
    average articulation style as the viseme target). ``strengths``: viseme, until, closure,
    clamp (see :data:`GUIDE_DEFAULTS`)."""
    unknown = set(strengths) - set(GUIDE_DEFAULTS)
    if unknown:
        raise InvalidInputError(f"unknown guide strengths {sorted(unknown)}")
    for name, v in strengths.items():
        if not (isinstance(v, (int, float)) and np.isfinite(v) and 0 <= v <= 100):
            raise InvalidInputError(f"guide {name} must be a number in [0, 100], got {v!r}")
    target = animate(phones, n_frames, emotion, names, np.random.default_rng(0), intensity, Style())
    close = closure_mask(phones, n_frames, Style().lead)
    kw = {**GUIDE_DEFAULTS, **strengths}
    kw["until"] = int(kw["until"])
    return PhoneGuide(target, close, tuple(names), **kw)
