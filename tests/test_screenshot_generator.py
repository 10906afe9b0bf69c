"""app.screenshots.ReplayGenerator: the screenshot generator honours the real one's protocol."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from core.assets import load_face, load_landmarks
from core.data.recipes import LABELS
from core.errors import InvalidInputError
from core.generate import MotionGenerator
from core.mesh.hierarchy import MeshHierarchy
from core.models.s2d_decoder import DecoderConfig, S2DDecoder
from core.paths import RESOURCES
from core.pipeline import S2DPipeline


@pytest.fixture(scope="module")
def replay():
    from app.screenshots import ReplayGenerator

    torch.manual_seed(0)
    h = MeshHierarchy.load(RESOURCES / "hierarchy.npz")
    dec = S2DDecoder(DecoderConfig.from_hierarchy(h, channels=(8, 8, 8, 8, 8)), h).eval()
    pipe = S2DPipeline(dec, "scale", load_face(), load_landmarks(), torch.device("cpu"), {})
    lm0 = load_landmarks().gather(load_face().vertices)  # (68, 3)
    ramp = np.linspace(0, 1, 30)[:, None, None]
    seqs, labels = [], []
    for dx in (0.004, -0.004, 0.003):  # contempt to the left, right, left
        d = np.zeros((68, 3), np.float32)
        d[48:68, 0] = dx
        seqs.append(lm0 + ramp * d)
        labels.append(LABELS.index("contempt"))
    data = SimpleNamespace(seq_label=np.array(labels), seq_landmarks=np.asarray(seqs, np.float32))
    return ReplayGenerator(pipe, data)


def test_generate_takes_the_real_generators_parameters(replay):
    want = list(inspect.signature(MotionGenerator.generate).parameters)
    assert list(inspect.signature(replay.generate).parameters) == want[1:]  # minus self


def test_side_picks_a_sequence_of_that_side(replay):
    for seed in range(3):
        assert replay.generate("contempt", seed, side="right").meta["side"] == "right"
        assert replay.generate("contempt", seed, side="left").meta["side"] == "left"
    assert replay.generate("contempt", 1).meta["side"] == "right"  # the second sequence
    with pytest.raises(InvalidInputError, match="not a one-sided label"):
        replay.generate("happy", 0, side="left")
