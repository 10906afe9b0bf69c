"""Tiny randomly initialised Motion3DGAN and S2D-Dec weight files for CLI tests (seconds to
build, real shapes: 19 labels, 68 landmarks, the shipped topology)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from core.assets import RESOURCES, load_face, load_landmarks
from core.data.recipes import LABELS, ONE_SIDED_LABELS
from core.geometry.sphere import karcher_mean, log_map
from core.mesh.hierarchy import MeshHierarchy
from core.models.checkpoint import save_checkpoint
from core.models.motion_gan import Motion3DGAN, MotionGANConfig
from core.models.s2d_decoder import DECODER_KIND, DecoderConfig, S2DDecoder
from core.train.gan_train import GANTrainConfig, motion_set, save_gan
from core.train.s2d_train import S2DTrainConfig

__all__ = ["tiny_gan", "tiny_decoder", "save_tiny_decoder", "tiny_weight_files", "weight_args"]


def tiny_gan() -> Motion3DGAN:
    """Random generator over random smooth 30-frame landmark motions (real shapes, 19 labels)."""
    rng = np.random.default_rng(0)
    lm0 = load_landmarks().gather(load_face().vertices)  # (68, 3)
    seqs = []
    for _ in range(24):
        t = np.linspace(0, 1, 30)[:, None, None] ** rng.uniform(0.5, 2)
        seqs.append(lm0 + 0.005 * t * rng.normal(size=(1, 68, 3)))
    ms = motion_set(np.asarray(seqs, np.float32), np.arange(24) % len(LABELS))
    p = karcher_mean(ms.q, tol=1e-6).mean
    cfg = MotionGANConfig(
        labels=LABELS, n_components=8, g_hidden=(32,), d_hidden=(32,), one_sided=ONE_SIDED_LABELS
    )
    torch.manual_seed(0)
    return Motion3DGAN.from_data(cfg, p, log_map(p, ms.q), ms.length).eval()


def tiny_decoder() -> S2DDecoder:
    """S2D-Dec with 8-16 channels (random weights, seed 0)."""
    torch.manual_seed(0)
    h = MeshHierarchy.load(RESOURCES / "hierarchy.npz")
    cfg = DecoderConfig.from_hierarchy(h, channels=(16, 8, 8, 8, 8), output_scale=0.05)
    return S2DDecoder(cfg, h).eval()


def save_tiny_decoder(path: Path, state: dict | None = None) -> Path:
    """Write a tiny decoder checkpoint (``state`` replaces its weights, e.g. damaged ones)."""
    model = tiny_decoder()
    save_checkpoint(
        path,
        state if state is not None else model.state_dict(),
        model.config,
        DECODER_KIND,
        {"train_config": asdict(S2DTrainConfig())},
    )
    return path


def tiny_weight_files(folder: Path) -> tuple[Path, Path]:
    """(Motion3DGAN, S2D-Dec) weight files in ``folder``."""
    save_gan(folder / "gan.safetensors", tiny_gan(), GANTrainConfig())
    return folder / "gan.safetensors", save_tiny_decoder(folder / "dec.safetensors")


def weight_args(gan: Path, dec: Path) -> list[str]:
    """The command-line options that point a command at these (Motion3DGAN, S2D-Dec) files."""
    return ["--weights", str(gan), "--decoder-weights", str(dec)]


try:
    import pytest
except ImportError:  # pragma: no cover - only the tests import this module
    pytest = None

if pytest is not None:

    @pytest.fixture(scope="session")
    def tiny_weights(tmp_path_factory) -> tuple[Path, Path]:
        """Session-wide tiny (Motion3DGAN, S2D-Dec) weight files; import into a test module."""
        return tiny_weight_files(tmp_path_factory.mktemp("tiny_weights"))
