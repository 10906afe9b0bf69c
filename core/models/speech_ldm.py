"""Stage 2 of the speech model: latent diffusion over the VQ-VAE's latents, conditioned on audio
and emotion (LG-LDM's FDM, small).

* **Audio encoder**: for each video frame, the log-mel frames within ±``audio_context`` (10 ms
  each) around its time, flattened → Linear → GELU → temporal Conv1d.
* **Denoiser**: the noisy latent (B, L, D) → Linear → a temporal Conv1d (relative position, so
  any window length works) + audio features + diffusion-time, emotion and intensity embeddings
  → a non-causal Transformer encoder → Linear (zero-initialised) predicting the clean latent.
* **Classifier-free guidance**: the emotion is replaced by a null emotion (index ``n_emotions``)
  and, independently, the audio by zeros with probability ``p_drop`` during training.
* **Sampler**: DDIM (η = 0) over a cosine schedule of ``n_steps`` training steps, a few steps.

Shapes: B batch, L frames in a window, D latent width, N mel frames, M mel bands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["SpeechLDMConfig", "SpeechDenoiser", "cosine_alpha_bar", "ddim_sample", "gather_audio"]


@dataclass(frozen=True)
class SpeechLDMConfig:
    """Sizes of the denoiser and the diffusion schedule."""

    d_latent: int = 48
    n_mels: int = 40
    audio_context: int = 8
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    n_emotions: int = 7
    n_steps: int = 1000
    p_drop: float = 0.1
    dropout: float = 0.1
    fps: float = 30.0
    mel_rate: float = 100.0
    #: True: a FaceFormer-style direct regressor (same network, no noise: one deterministic
    #: prediction from audio and emotion) — the baseline the diffusion model is compared with.
    direct: bool = False

    def validate(self) -> SpeechLDMConfig:
        for name in (
            "d_latent",
            "n_mels",
            "d_model",
            "n_layers",
            "n_heads",
            "n_emotions",
            "n_steps",
        ):
            v = getattr(self, name)
            if not (isinstance(v, int) and 0 < v <= 4096):
                raise ValueError(f"{name} must be an integer in 1..4096, got {v!r}")
        if self.d_model % self.n_heads:
            raise ValueError("d_model must be divisible by n_heads")
        if not (0 <= self.audio_context <= 64 and 0 <= self.p_drop < 1 and 0 <= self.dropout < 1):
            raise ValueError("audio_context, p_drop or dropout out of range")
        return self


def cosine_alpha_bar(n_steps: int) -> torch.Tensor:
    """Cumulative signal fraction ᾱ_t (n_steps,) of the cosine schedule (Nichol & Dhariwal)."""
    s = 0.008
    t = torch.arange(n_steps + 1, dtype=torch.float64) / n_steps
    f = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    ab = (f / f[0])[1:]
    return ab.clamp(1e-5, 0.9999).float()


def gather_audio(
    mel: torch.Tensor, n_frames: int, start: int, context: int, fps: float, mel_rate: float
) -> torch.Tensor:
    """Mel windows of video frames start..start+n_frames: mel (B, N, M) → (B, n_frames,
    (2 context + 1) M); frames past the ends read the nearest mel frame."""
    B, N, M = mel.shape
    centre = torch.round((torch.arange(n_frames, device=mel.device) + start) * mel_rate / fps)
    idx = centre.long()[:, None] + torch.arange(-context, context + 1, device=mel.device)
    idx = idx.clamp(0, N - 1)  # (n_frames, 2c+1)
    out = mel[:, idx.flatten()]  # (B, n_frames * (2c+1), M)
    return out.reshape(B, n_frames, (2 * context + 1) * M)


def _time_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    freq = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / half)
    a = t.float()[:, None] * freq[None]
    return torch.cat([a.sin(), a.cos()], -1)  # (B, dim)


class SpeechDenoiser(nn.Module):
    """Predicts the clean latent x0 from a noisy one (see module docstring)."""

    def __init__(self, cfg: SpeechLDMConfig):
        super().__init__()
        self.cfg = cfg.validate()
        d = cfg.d_model
        n_audio = (2 * cfg.audio_context + 1) * cfg.n_mels
        self.audio = nn.Sequential(nn.LayerNorm(n_audio), nn.Linear(n_audio, d), nn.GELU())
        self.audio_conv = nn.Conv1d(d, d, 5, padding=2)
        self.inp = nn.Linear(cfg.d_latent, d)
        self.inp_conv = nn.Conv1d(d, d, 5, padding=2)
        self.time = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Linear(d, d))
        self.emotion = nn.Embedding(cfg.n_emotions + 1, d)  # last = null (guidance)
        self.intensity = nn.Linear(1, d)
        layer = nn.TransformerEncoderLayer(
            d, cfg.n_heads, 2 * d, cfg.dropout, batch_first=True, norm_first=True, activation="gelu"
        )
        self.blocks = nn.TransformerEncoder(layer, cfg.n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.out = nn.Linear(d, cfg.d_latent)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.register_buffer("alpha_bar", cosine_alpha_bar(cfg.n_steps))

    def encode_audio(self, audio: torch.Tensor) -> torch.Tensor:
        """audio (B, L, (2c+1) M) → features (B, L, d)."""
        a = self.audio(audio)
        return a + self.audio_conv(a.transpose(1, 2)).transpose(1, 2)

    def forward(
        self,
        x_t: torch.Tensor,
        t: torch.Tensor,
        audio_feat: torch.Tensor,
        emotion: torch.Tensor,
        intensity: torch.Tensor,
    ) -> torch.Tensor:
        """x_t (B, L, D), t (B,) int, audio_feat (B, L, d) (zeros = no audio), emotion (B,)
        (n_emotions = null), intensity (B,) → predicted x0 (B, L, D)."""
        h = self.inp(x_t)
        h = h + self.inp_conv(h.transpose(1, 2)).transpose(1, 2)
        cond = (
            self.time(_time_embedding(t, self.cfg.d_model))
            + self.emotion(emotion)
            + self.intensity(intensity[:, None])
        )
        h = h + audio_feat + cond[:, None]
        return self.out(self.norm(self.blocks(h)))


@torch.no_grad()
def ddim_sample(
    model: SpeechDenoiser,
    noise: torch.Tensor,
    audio_feat: torch.Tensor,
    emotion: torch.Tensor,
    intensity: torch.Tensor,
    steps: int = 10,
    guidance: float = 2.0,
    correct=None,
) -> torch.Tensor:
    """Deterministic DDIM from ``noise`` (B, L, D) with classifier-free guidance → x0 (B, L, D).

    The unconditional branch drops both the audio and the emotion; ``guidance`` 1 = plain
    conditional sampling. ``correct(x0, k)`` (optional) returns a corrected prediction (B, L, D)
    at step k; the next noisy state is then built from it (constraint guidance).
    """
    ab = model.alpha_bar
    n = len(ab)
    ts = torch.linspace(n - 1, 0, steps, device=noise.device).round().long()
    x = noise
    B = noise.shape[0]
    null_e = torch.full_like(emotion, model.cfg.n_emotions)
    for k, t in enumerate(ts):
        tt = t.repeat(B)
        if guidance != 1.0:
            both = model(
                torch.cat([x, x]),
                torch.cat([tt, tt]),
                torch.cat([audio_feat, torch.zeros_like(audio_feat)]),
                torch.cat([emotion, null_e]),
                torch.cat([intensity, intensity]),
            )
            cond, unc = both[:B], both[B:]
            x0 = unc + guidance * (cond - unc)
        else:
            x0 = model(x, tt, audio_feat, emotion, intensity)
        last = k + 1 == len(ts)
        eps = None if last else (x - ab[t].sqrt() * x0) / (1 - ab[t]).sqrt()
        if correct is not None:
            x0 = correct(x0, k)
        if last:
            return x0
        a_next = ab[ts[k + 1]]
        x = a_next.sqrt() * x0 + (1 - a_next).sqrt() * eps
    return x
