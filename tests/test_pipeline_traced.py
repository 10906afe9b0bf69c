"""S2DPipeline.use_traced: TorchScript decodes equal the eager ones, per batch size.

Why traces (a decode that does not wait for a thread holding the GIL) is measured by
``python tests/benchmarks/bench_gil.py``, not asserted here: it is a timing.
"""

import numpy as np
import pytest
import torch

from core.assets import load_face, load_landmarks
from core.errors import InvalidInputError
from core.mesh.hierarchy import MeshHierarchy
from core.models.linear_skip import SkipDecoder
from core.models.s2d_decoder import DecoderConfig, S2DDecoder
from core.paths import RESOURCES
from core.pipeline import S2DPipeline


@pytest.fixture(scope="module")
def pipe():
    torch.manual_seed(0)
    h = MeshHierarchy.load(RESOURCES / "hierarchy.npz")
    cfg = DecoderConfig.from_hierarchy(h, channels=(16, 8, 8, 8, 8), output_scale=0.05)
    dec = SkipDecoder(S2DDecoder(cfg, h)).eval()  # the shipped kind: spiral decoder + shortcut
    with torch.no_grad():
        for prm in dec.parameters():
            prm.normal_(0.0, 0.05)
    return S2DPipeline(dec, "scale", load_face(), load_landmarks(), torch.device("cpu"), {})


def _targets(pipe, n, seed=0):
    lm = pipe.face_landmarks(pipe.face.vertices)[None]
    rng = np.random.default_rng(seed)
    return (lm + 0.003 * rng.normal(size=(n, 68, 3))).astype(np.float32)


def test_traced_decodes_equal_eager_ones_for_every_batch_size(pipe):
    lm = _targets(pipe, 6)
    pipe.use_traced(())
    eager = {b: pipe.decode(pipe.face.vertices, lm[:b]) for b in (1, 3, 4, 6)}
    assert pipe.traced_sizes == () and pipe.trace_status() == {}
    pipe.use_traced((1, 4))
    assert pipe.traced_sizes == (1, 4) and pipe.trace_status() == {1: "pending", 4: "pending"}
    for b in (1, 3, 4, 6):  # 3 is padded to the B=4 trace, 6 runs eagerly
        np.testing.assert_allclose(
            pipe.decode(pipe.face.vertices, lm[:b]), eager[b], rtol=1e-5, atol=1e-7
        )
    assert pipe.trace_status() == {1: "traced", 4: "traced"}
    pipe.use_traced(())


def test_bad_sizes_and_untraceable_decoders_fall_back_to_eager(pipe, caplog):
    with pytest.raises(InvalidInputError, match="batch sizes >= 1"):
        pipe.use_traced((0, 2))

    class Odd(torch.nn.Module):  # traces fine but differs from the eager call afterwards
        def __init__(self, inner):
            super().__init__()
            self.inner, self.calls = inner, 0

        def forward(self, x):
            self.calls += 1
            return self.inner(x) * (1.0 if self.calls % 2 else 1.5)

    for module, message in (
        (Odd(pipe.decoder).eval(), "disagrees with the eager one"),
        (Odd(pipe.decoder).train(), "tracing failed"),
    ):  # no freeze
        odd = S2DPipeline(module, "scale", pipe.face, pipe.landmarks, pipe.device, {})
        odd.use_traced((1,))
        caplog.clear()
        with caplog.at_level("WARNING"):
            odd.decode(pipe.face.vertices, _targets(pipe, 1))
        assert odd.trace_status() == {1: "eager"} and message in caplog.text
