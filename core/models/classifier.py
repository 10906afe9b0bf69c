"""LSTM expression classifier (evaluation, paper Table 3) and the LSTM generator baseline.

Both work on *normalised* landmark sequences (:func:`normalize_sequences`): each sequence
``(T, K, 3)`` minus its frame 0, divided by the RMS radius of its frame-0 landmarks
(:func:`core.models.normalization.landmark_scale`), flattened to ``(T, D)``, ``D = 3K``; so a
sequence reads the same on faces of any size and position.

- :class:`ExpressionClassifier`: one LSTM layer (hidden 512) + one FC layer to the label logits;
  the last hidden state ``h_T`` (512) is the feature vector of the FID.
- :class:`LSTMBaseline`: the deterministic LSTM generator of the paper's comparison (after
  Pham et al.): a per-frame code (label one-hot + time ``t / (T - 1)``) -> LSTM -> FC -> the
  normalised displacement of every frame; frame 0 is forced to 0. One motion per label.

Training loops are :func:`fit_classifier` and :func:`fit_baseline` (Adam, seeded, minibatches).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from core.errors import InvalidInputError, S2DError
from core.glossary import N_LANDMARKS
from core.models.normalization import landmark_scale

__all__ = [
    "CLASSIFIER_KIND", "BASELINE_KIND", "SequenceModelConfig", "SequenceTrainConfig",
    "normalize_sequences", "ExpressionClassifier", "LSTMBaseline", "fit_classifier",
    "fit_baseline", "save_sequence_model",
]  # fmt: skip

CLASSIFIER_KIND = "expression-classifier"
BASELINE_KIND = "lstm-baseline"


@dataclass(frozen=True)
class SequenceModelConfig:
    """Config of both LSTM models (saved beside the weights).

    labels : label names in output / one-hot order; n_frames : ``T``; n_landmarks : ``K``;
    hidden : LSTM width; input_gain : factor applied to normalised displacements (classifier
    input, baseline output) so that they have unit RMS on the training data.
    """

    labels: tuple[str, ...]
    n_frames: int = 30
    n_landmarks: int = N_LANDMARKS
    hidden: int = 512
    input_gain: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(self.labels))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SequenceTrainConfig:
    """Minibatch Adam training of an LSTM model."""

    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    seed: int = 0


def normalize_sequences(landmarks) -> torch.Tensor:
    """Landmark sequences (B, T, K, 3) (any units) -> (B, T, 3K) float32 scale-free displacements.

    ``(X_t - X_0) / s`` with ``s`` the RMS radius of ``X_0`` (frame 0 is all zeros).
    """
    x = torch.as_tensor(
        np.asarray(landmarks) if not isinstance(landmarks, torch.Tensor) else landmarks
    ).float()
    if x.ndim != 4 or x.shape[-1] != 3:
        raise InvalidInputError(
            f"landmarks: expected sequences of shape (B, T, K, 3), found {tuple(x.shape)}"
        )
    s = landmark_scale(x[:, 0]).clamp_min(1e-12)  # (B,)
    return ((x - x[:, :1]) / s[:, None, None, None]).flatten(2)  # (B, T, 3K)


class ExpressionClassifier(nn.Module):
    """One LSTM layer + FC: normalised sequences (B, T, 3K) -> label logits (B, n_labels)."""

    def __init__(self, config: SequenceModelConfig) -> None:
        super().__init__()
        self.config = config
        self.lstm = nn.LSTM(3 * config.n_landmarks, config.hidden, batch_first=True)
        self.fc = nn.Linear(config.hidden, len(config.labels))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Last LSTM hidden state (B, hidden) of normalised sequences (B, T, 3K) (FID features)."""
        _, (h, _) = self.lstm(x * self.config.input_gain)
        return h[-1]  # (B, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))  # (B, n_labels)

    @torch.no_grad()
    def predict(self, landmarks, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """Labels (B,) int64 and features (B, hidden) float32 of (B, T, K, 3)."""
        x = normalize_sequences(landmarks)
        dev = next(self.parameters()).device
        feats = torch.cat(
            [self.features(x[s : s + batch].to(dev)).cpu() for s in range(0, len(x), batch)]
        )
        return self.fc(feats.to(dev)).argmax(1).cpu().numpy(), feats.numpy()


class LSTMBaseline(nn.Module):
    """Deterministic LSTM motion generator: labels (B,) -> normalised displacements (B, T, 3K)."""

    def __init__(self, config: SequenceModelConfig) -> None:
        super().__init__()
        self.config = config
        self.lstm = nn.LSTM(len(config.labels) + 1, config.hidden, batch_first=True)
        self.fc = nn.Linear(config.hidden, 3 * config.n_landmarks)

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        t_n, n_lab = self.config.n_frames, len(self.config.labels)
        dev = self.fc.weight.device
        c = nn.functional.one_hot(labels.long().to(dev), n_lab).float()  # (B, C)
        t = torch.linspace(0, 1, t_n, device=dev)  # (T,)
        code = torch.cat(
            [c[:, None].expand(-1, t_n, -1), t[None, :, None].expand(len(c), -1, 1)], dim=2
        )  # (B, T, C + 1)
        y = self.fc(self.lstm(code)[0])  # (B, T, 3K)
        return (y - y[:, :1]) / self.config.input_gain  # frame 0 is exactly 0

    @torch.no_grad()
    def generate(self, labels, neutral_landmarks) -> np.ndarray:
        """Landmark sequences (B, T, K, 3) for labels (B,) on neutral landmarks (B, K, 3)."""
        lm0 = torch.as_tensor(np.asarray(neutral_landmarks), dtype=torch.float32)
        d = self(torch.as_tensor(np.asarray(labels))).cpu()  # (B, T, 3K)
        s = landmark_scale(lm0)  # (B,)
        disp = d.reshape(len(d), d.shape[1], -1, 3) * s[:, None, None, None]
        return (lm0[:, None] + disp).numpy()


def _batches(n: int, size: int, gen: torch.Generator):
    perm = torch.randperm(n, generator=gen)
    return [perm[s : s + size] for s in range(0, n, size)]


def _fit(
    model: nn.Module, loss_fn: Callable, n: int, cfg: SequenceTrainConfig, log, name: str
) -> dict:
    torch.manual_seed(cfg.seed)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.epochs)
    gen = torch.Generator().manual_seed(cfg.seed)
    t0, hist = time.time(), []
    for ep in range(cfg.epochs):
        tot = 0.0
        for idx in _batches(n, cfg.batch_size, gen):
            loss = loss_fn(idx)
            if not bool(torch.isfinite(loss)):
                raise S2DError(f"non-finite {name} loss in epoch {ep}; lower the learning rate")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            tot += loss.item() * len(idx)
        sched.step()
        hist.append(tot / n)
        el = time.time() - t0
        log(
            f"{name} epoch {ep + 1}/{cfg.epochs} loss {tot / n:.4f} "
            f"({el:.0f}s, ETA {el / (ep + 1) * (cfg.epochs - ep - 1):.0f}s)"
        )
    return {"train_seconds": round(time.time() - t0, 1), "epochs": cfg.epochs, "loss": hist}


def _gain(x: torch.Tensor) -> float:
    return float(1.0 / x[:, 1:].square().mean().sqrt().clamp_min(1e-12))


def _setup(cls, landmarks, labels, config: SequenceModelConfig, cfg: SequenceTrainConfig, device):
    """(model, x, y) for a training run: normalised sequences x, long labels y, and a seeded
    ``cls`` model whose config carries the input gain of x, all on ``device``."""
    x = normalize_sequences(landmarks)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    config = SequenceModelConfig(**{**config.to_dict(), "input_gain": _gain(x)})
    torch.manual_seed(cfg.seed)
    model = cls(config).to(device)
    return model, x.to(device), y.to(device)


def fit_classifier(
    landmarks,
    labels,
    config: SequenceModelConfig,
    cfg: SequenceTrainConfig,
    device="cpu",
    log=print,
) -> tuple[ExpressionClassifier, dict]:
    """Train the classifier on sequences (N, T, K, 3) with labels (N,) (cross-entropy)."""
    model, x, y = _setup(ExpressionClassifier, landmarks, labels, config, cfg, device)
    summary = _fit(
        model,
        lambda i: nn.functional.cross_entropy(model(x[i]), y[i]),
        len(x),
        cfg,
        log,
        "classifier",
    )
    model.eval()
    with torch.no_grad():
        summary["train_accuracy"] = float((model(x).argmax(1) == y).float().mean())
    return model, summary


def fit_baseline(
    landmarks,
    labels,
    config: SequenceModelConfig,
    cfg: SequenceTrainConfig,
    device="cpu",
    log=print,
) -> tuple[LSTMBaseline, dict]:
    """Train the LSTM baseline: L1 to the real normalised sequences of each label."""
    model, x, y = _setup(LSTMBaseline, landmarks, labels, config, cfg, device)
    g = model.config.input_gain
    summary = _fit(
        model, lambda i: (model(y[i]) - x[i]).abs().mean() * g, len(x), cfg, log, "LSTM baseline"
    )
    model.eval()
    return model, summary


def save_sequence_model(path: Path, model: nn.Module, kind: str, meta: dict) -> None:
    """Weights + config of an LSTM model in one safetensors file."""
    from core.models.checkpoint import save_checkpoint

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_checkpoint(Path(path), state, model.config, kind, meta)
