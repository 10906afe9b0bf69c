"""Stage 1 of the speech model: a local-to-global VQ-VAE over face-parameter motion.

The motion (B, T, P) is split into a *local* part (mouth, jaw, cheeks: lips follow the speech)
and a *global* part (brows, eyes, cheek squint, nose: the emotion). Each part has a temporal
convolutional encoder; the local latents are quantised with one shared codebook, the global
latents with a codebook **partitioned per emotion** (quantisation only searches the slice of the
given emotion, as in LG-LDM's EVQ-VAE). One decoder maps both quantised latents back to the
whole motion. Codebooks are learned with straight-through gradients plus codebook/commitment
losses; unused codes are re-seeded from encoder outputs during training.

Shapes: B batch, T frames, P parameters, D_l / D_g latent widths, K codes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["SpeechVQConfig", "SpeechVQVAE", "quantise"]


@dataclass(frozen=True)
class SpeechVQConfig:
    """Sizes of the VQ-VAE (``local_idx`` / ``global_idx``: which parameters are which)."""

    n_params: int = 53
    local_idx: tuple = ()
    global_idx: tuple = ()
    n_emotions: int = 7
    hidden: int = 128
    d_local: int = 32
    d_global: int = 16
    k_local: int = 256
    k_global: int = 32  # codes per emotion

    def validate(self) -> SpeechVQConfig:
        idx = sorted(tuple(self.local_idx) + tuple(self.global_idx))
        if idx != list(range(self.n_params)):
            raise ValueError("local_idx and global_idx must partition range(n_params)")
        for name in ("hidden", "d_local", "d_global", "k_local", "k_global", "n_emotions"):
            v = getattr(self, name)
            if not (isinstance(v, int) and 0 < v <= 4096):
                raise ValueError(f"{name} must be an integer in 1..4096, got {v!r}")
        return self


def _encoder(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(n_in, hidden, 5, padding=2),
        nn.LeakyReLU(0.2),
        nn.Conv1d(hidden, hidden, 5, padding=2),
        nn.LeakyReLU(0.2),
        nn.Conv1d(hidden, n_out, 3, padding=1),
    )


def quantise(z: torch.Tensor, book: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest codes: z (B, T, D), book (B, K, D) or (K, D) → (zq (B, T, D), index (B, T))."""
    if book.dim() == 2:
        book = book.expand(z.shape[0], -1, -1)
    d = torch.cdist(z, book)  # (B, T, K)
    idx = d.argmin(-1)
    zq = torch.gather(book, 1, idx[..., None].expand(-1, -1, z.shape[-1]))
    return zq, idx


class SpeechVQVAE(nn.Module):
    """Local + global VQ-VAE (see module docstring)."""

    def __init__(self, cfg: SpeechVQConfig):
        super().__init__()
        self.cfg = cfg.validate()
        self.register_buffer("local_idx", torch.tensor(cfg.local_idx, dtype=torch.long))
        self.register_buffer("global_idx", torch.tensor(cfg.global_idx, dtype=torch.long))
        self.enc_local = _encoder(len(cfg.local_idx), cfg.hidden, cfg.d_local)
        self.enc_global = _encoder(len(cfg.global_idx), cfg.hidden, cfg.d_global)
        self.emotion = nn.Embedding(cfg.n_emotions, cfg.d_global)
        self.book_local = nn.Parameter(torch.randn(cfg.k_local, cfg.d_local) * 0.5)
        self.book_global = nn.Parameter(
            torch.randn(cfg.n_emotions, cfg.k_global, cfg.d_global) * 0.5
        )
        self.dec = nn.Sequential(
            nn.Conv1d(cfg.d_local + cfg.d_global, cfg.hidden, 5, padding=2),
            nn.LeakyReLU(0.2),
            nn.Conv1d(cfg.hidden, cfg.hidden, 5, padding=2),
            nn.LeakyReLU(0.2),
            nn.Conv1d(cfg.hidden, cfg.n_params, 3, padding=1),
        )

    def encode(self, x: torch.Tensor, emotion: torch.Tensor) -> torch.Tensor:
        """Continuous latents: x (B, T, P) normalised motion, emotion (B,) → (B, T, D_l + D_g)."""
        xl = x[..., self.local_idx].transpose(1, 2)  # (B, P_l, T)
        xg = x[..., self.global_idx].transpose(1, 2)
        zl = self.enc_local(xl).transpose(1, 2)  # (B, T, D_l)
        zg = self.enc_global(xg).transpose(1, 2) + self.emotion(emotion)[:, None]
        return torch.cat([zl, zg], -1)

    def quantise(self, z: torch.Tensor, emotion: torch.Tensor):
        """z (B, T, D) → (zq (B, T, D), local index (B, T), global index (B, T))."""
        dl = self.cfg.d_local
        ql, il = quantise(z[..., :dl], self.book_local)
        qg, ig = quantise(z[..., dl:], self.book_global[emotion])
        return torch.cat([ql, qg], -1), il, ig

    def decode(self, zq: torch.Tensor) -> torch.Tensor:
        """zq (B, T, D) → normalised motion (B, T, P)."""
        return self.dec(zq.transpose(1, 2)).transpose(1, 2)

    def forward(self, x: torch.Tensor, emotion: torch.Tensor, beta: float = 0.25):
        """(reconstruction (B, T, P), vq loss, z (B, T, D), local index (B, T))."""
        z = self.encode(x, emotion)
        zq, il, _ = self.quantise(z, emotion)
        vq = F.mse_loss(zq, z.detach()) + beta * F.mse_loss(z, zq.detach())
        zst = z + (zq - z).detach()  # straight-through
        return self.decode(zst), vq, z, il

    @torch.no_grad()
    def reseed_unused(self, z: torch.Tensor, used_local: torch.Tensor) -> int:
        """Move local codes never used (``used_local`` (K,) bool) onto random latents z (N, D);
        returns how many were moved."""
        dead = (~used_local).nonzero().flatten()
        if len(dead) and len(z):
            pick = torch.randint(len(z), (len(dead),), device=z.device)
            self.book_local[dead] = z[pick, : self.cfg.d_local]
        return int(len(dead))
