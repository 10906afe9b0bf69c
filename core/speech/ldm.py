"""The trained speech model at inference: VQ-VAE + latent diffusion, loaded from one
safetensors file (``models/speech_ldm.safetensors``), generating over windows.

Long audio is generated window by window (``window`` frames, ``overlap`` shared, linearly
cross-faded in latent space) from one noise sequence drawn from the seed, so memory stays flat
and the result does not depend on where windows fall beyond the overlap. The features are
gain-normalised log-mels (:func:`normalise_mel`).

Shapes: N mel frames, M mel bands, T frames, P parameters, D latent width.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from core.errors import S2DError
from core.models.speech_ldm import SpeechDenoiser, SpeechLDMConfig, ddim_sample, gather_audio
from core.models.speech_vq import SpeechVQConfig, SpeechVQVAE
from core.speech.emotion import EMOTIONS, check_emotion

__all__ = ["SpeechLDM", "normalise_mel", "DEFAULT_WEIGHTS", "KIND"]

DEFAULT_WEIGHTS = Path(__file__).resolve().parents[2] / "models" / "speech_ldm.safetensors"
KIND = "speech_ldm"
#: Reference level (log power) below which audio is treated as quiet: about -60 dBFS.
QUIET_LOG = -16.0


def normalise_mel(mel: np.ndarray) -> np.ndarray:
    """Gain-normalise log-mel (N, M): subtract the loud level (95th percentile of the per-frame
    mean), never less than :data:`QUIET_LOG`, so silence stays far below speech."""
    if len(mel) == 0:
        return mel.astype(np.float32)
    ref = max(float(np.percentile(mel.mean(1), 95)), QUIET_LOG)
    return (mel - ref).astype(np.float32)


def _config(cls, data: dict):
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise S2DError(f"speech model config has unknown keys {sorted(unknown)}; re-train it")
    data = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    try:
        return cls(**data).validate()
    except (TypeError, ValueError) as exc:
        raise S2DError(f"invalid speech model config ({exc}); re-train the model") from exc


class SpeechLDM(torch.nn.Module):
    """VQ-VAE + denoiser + normalisation statistics (buffers)."""

    def __init__(self, vq_cfg: SpeechVQConfig, ldm_cfg: SpeechLDMConfig):
        super().__init__()
        self.vq = SpeechVQVAE(vq_cfg)
        self.den = SpeechDenoiser(ldm_cfg)
        P, D, M = vq_cfg.n_params, ldm_cfg.d_latent, ldm_cfg.n_mels
        for name, n in (
            ("p_mean", P),
            ("p_std", P),
            ("z_mean", D),
            ("z_std", D),
            ("mel_mean", M),
            ("mel_std", M),
        ):
            self.register_buffer(name, torch.zeros(n) if "mean" in name else torch.ones(n))
        self.meta: dict = {}

    @staticmethod
    def load(path: str | Path | None = None, device: str = "cpu") -> SpeechLDM:
        """Load weights; the configs are validated before the model is built."""
        from core.models.checkpoint import load_checkpoint

        path = Path(path) if path else DEFAULT_WEIGHTS
        state, config, extra = load_checkpoint(path, KIND, device)
        vq_cfg = _config(SpeechVQConfig, config.get("vq", {}))
        ldm_cfg = _config(SpeechLDMConfig, config.get("ldm", {}))
        if vq_cfg.d_local + vq_cfg.d_global != ldm_cfg.d_latent:
            raise S2DError("speech model config: the latent widths of the two stages differ")
        model = SpeechLDM(vq_cfg, ldm_cfg)
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            raise S2DError(f"{path} does not match its config ({str(exc)[:200]})") from exc
        model.meta = {**extra, "path": str(path), "file": path.name}
        return model.eval().to(device)

    @torch.no_grad()
    def generate(
        self,
        mel: np.ndarray,
        n_frames: int,
        emotion: str,
        seed: int = 0,
        intensity: float = 1.0,
        steps: int = 10,
        guidance: float = 2.0,
        window: int = 150,
        overlap: int = 30,
        quantise: bool = True,
        guide=None,
    ) -> np.ndarray:
        """Face parameters (n_frames, P) float32 for raw log-mel (N, M) at 100 frames/s.

        ``guide``: a :class:`core.speech.guide.PhoneGuide` (phone-timed constraints on the
        sampler and a closure clamp on the result).
        """
        check_emotion(emotion)
        dev = self.p_mean.device
        cfg = self.den.cfg
        m = (normalise_mel(mel) - self.mel_mean.cpu().numpy()) / self.mel_std.cpu().numpy()
        mel_t = torch.as_tensor(m, dtype=torch.float32, device=dev)[None]  # (1, N, M)
        gen = torch.Generator().manual_seed(int(seed))
        noise = torch.randn(1, n_frames, cfg.d_latent, generator=gen).to(dev)
        e = torch.tensor([EMOTIONS.index(emotion)], device=dev)
        inten = torch.tensor([float(intensity)], device=dev)
        z = torch.zeros(1, n_frames, cfg.d_latent, device=dev)
        weight = torch.zeros(1, n_frames, 1, device=dev)
        step = max(window - overlap, 1)
        for s in range(0, max(n_frames - overlap, 1), step):
            L = min(window, n_frames - s)
            a = self.den.encode_audio(
                gather_audio(mel_t, L, s, cfg.audio_context, cfg.fps, cfg.mel_rate)
            )
            if cfg.direct:  # the regressor: one prediction from zeros at the last step
                z0 = torch.zeros_like(noise[:, s : s + L])
                t_last = torch.full((1,), cfg.n_steps - 1, device=dev)
                x0 = self.den(z0, t_last, a, e, inten)
            else:
                fix = guide.corrector(self, s, L) if guide is not None else None
                x0 = ddim_sample(
                    self.den, noise[:, s : s + L], a, e, inten, steps, guidance, correct=fix
                )
            ramp = torch.ones(L, device=dev)
            if s > 0:
                k = min(overlap, L)
                ramp[:k] = torch.linspace(0, 1, k + 2, device=dev)[1:-1]
            z[:, s : s + L] += x0 * ramp[None, :, None]
            weight[:, s : s + L] += ramp[None, :, None]
        z = z / weight.clamp_min(1e-6) * self.z_std + self.z_mean  # (1, T, D)
        if quantise:
            z, _, _ = self.vq.quantise(z, e)
        p = self.vq.decode(z) * self.p_std + self.p_mean  # (1, T, P)
        p = p[0].cpu().numpy().astype(np.float32)
        p[:, :-1] = np.clip(p[:, :-1], -1.0, 1.2)
        p[:, -1] = np.clip(p[:, -1], 0.0, 30.0)
        return p if guide is None else guide.finish(p)
