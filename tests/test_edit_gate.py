"""The per-edit gate (``ResidualDecoder.edit``, ``S2DPipeline.decode_edit``): a drag on top of
an expression keeps the expression's learned detail away from the drag.

Before it, the studio decoded an edit as ``base + D(edited) − D(base)``, and the gate of ``D``
saw the whole edited input: a 15 mm drag of the lower lip on a surprised apex closed it and
faded the expression's learned detail over the whole face (0.8-0.9 mm far from the drag,
``python tests/benchmarks/bench_edit_drag.py``).
"""

import numpy as np
import pytest
import torch

from core.edit.residual import check_edit_gate, decode_edited_motion, pipeline_edit
from core.errors import InvalidInputError
from core.models.residual_decoder import ResidualDecoder, fit_gate


class _Learned(torch.nn.Module):
    """A tiny nonlinear 'learned part': (B, K, 3) -> (B, V, 3)."""

    def __init__(self, k: int, v: int) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(3 * k, 3 * v)
        self.n_vertices = v

    def forward(self, x):
        return torch.tanh(self.lin(x.reshape(len(x), -1))).reshape(len(x), -1, 3)


class _Residual(torch.nn.Module):
    def __init__(self, basis):
        super().__init__()
        self.basis = basis

    def forward(self, r):
        return torch.einsum("vk,bkc->bvc", self.basis, r)


def test_edit_reduces_to_forward_and_to_its_reference():
    torch.manual_seed(0)
    k, v = 4, 9
    rng = np.random.default_rng(0)
    gate = fit_gate(rng.normal(0, 0.1, (200, k, 3)) * rng.uniform(0.2, 1, (1, k, 3)), 0.99)
    m = ResidualDecoder(_Learned(k, v), _Residual(torch.rand(v, k)), np.arange(k), gate).eval()
    x = torch.randn(3, k, 3) * 0.1
    zeros = torch.zeros(3, v, 3)
    with torch.no_grad():
        y, learned, g = m.edit(x, torch.zeros_like(x), zeros, torch.zeros(3))
        torch.testing.assert_close(y, m(x), rtol=0, atol=0)  # the plain decode, bit for bit
        torch.testing.assert_close(learned, m.learned(x))
        torch.testing.assert_close(g, gate(x))
        same, _, _ = m.edit(x, x, learned, g)  # no edit: the reference itself
        torch.testing.assert_close(same, y, rtol=0, atol=0)
        big = x.clone()
        big[:, 0] += 5.0  # an edit far outside the gate's inputs: its learned change is faded
        assert gate(big - x).max() == 0
        e, _, _ = m.edit(big, x, learned, g)
        d = g[:, None, None] * learned  # the reference's own learned part, kept
        torch.testing.assert_close(e, d + m.residual(big - d[:, m.landmark_idx]))


def test_decode_edited_motion_uses_the_edit_decode_and_checks_its_name():
    calls = []

    def decode(nv, lm):
        calls.append("decode")
        return np.repeat(nv[None], len(lm), 0)

    def edit(nv, lm, ref):
        calls.append("edit")
        return np.repeat(nv[None], len(lm), 0) + 1, np.repeat(nv[None], len(lm), 0)

    base_v, base_lm = np.zeros((3, 5, 3), np.float32), np.zeros((3, 68, 3), np.float32)
    offsets = np.zeros_like(base_lm)
    offsets[1, 0, 0] = 0.01
    nv = np.zeros((5, 3), np.float32)
    out = decode_edited_motion(decode, nv, base_v, base_lm, offsets, edit)
    assert calls == ["edit"] and out[1].min() == 1 and out[0].max() == out[2].max() == 0
    assert check_edit_gate("whole") == "whole"
    with pytest.raises(InvalidInputError, match="edit gate: expected one of"):
        check_edit_gate("bogus")


@pytest.fixture(scope="module")
def shipped():
    from core.generate import DEFAULT_GAN, MotionGenerator
    from core.pipeline import DEFAULT_DECODER

    if not (DEFAULT_DECODER.is_file() and DEFAULT_GAN.is_file()):
        pytest.skip("no shipped decoder or generator")
    torch.set_num_threads(1)
    gen = MotionGenerator.load(device="cpu")
    v0 = gen.pipeline.face.vertices
    m = gen.generate("surprised", 0, n_frames=30, neutral=v0)
    t = int(np.argmax(np.linalg.norm(m.landmarks - m.landmarks[0], axis=-1).mean(-1)))
    return gen.pipeline, m.vertices[t], m.landmarks[t]


LIP = 57  # lower lip, dragged 15 mm down


def _drag(lm, mm=15.0):
    out = np.array(lm, np.float32)[None]
    out[0, LIP, 2] -= mm / 1000
    return out


def test_a_large_drag_on_an_expression_keeps_its_detail_far_from_the_drag(shipped):
    pipe, base_v, base_lm = shipped
    v0 = pipe.face.vertices
    far = np.linalg.norm(base_v - base_lm[LIP], axis=-1) > 0.03  # (V,) 3 cm from the drag
    target = _drag(base_lm)
    old = decode_edited_motion(pipe.decode, v0, base_v[None], base_lm[None], target - base_lm)
    new = decode_edited_motion(
        pipe.decode, v0, base_v[None], base_lm[None], target - base_lm, pipeline_edit(pipe)
    )
    moved_old = np.linalg.norm(old[0] - base_v, axis=-1)[far].mean()
    moved_new = np.linalg.norm(new[0] - base_v, axis=-1)[far].mean()
    assert moved_old > 5e-4  # the whole-input gate faded the expression (measured 0.85 mm)
    assert moved_new < 5e-5  # the per-edit gate keeps it (measured 0.006 mm)
    lip = new[0, pipe.landmarks.indices[LIP]]
    assert np.linalg.norm(lip - target[0, LIP]) < 5e-4  # the landmark still lands


def test_a_drag_on_the_neutral_face_decodes_as_before(shipped):
    pipe, _, _ = shipped
    v0 = pipe.face.vertices
    nl = pipe.face_landmarks(v0)
    ref = pipe.edit_reference(v0, nl[None])
    np.testing.assert_array_equal(ref.dense, pipe.decode(v0, nl[None]))
    assert ref.gate[0] == 1.0
    target = _drag(nl)
    new = pipe.decode_edit(v0, target, ref) - ref.dense
    old = pipe.decode(v0, target) - pipe.decode(v0, nl[None])
    # the same gate value; only the learned part's tiny output at rest (<= 0.05 mm, measured
    # 0.046) now fades with the rest of the learned part
    assert np.abs(new - old).max() < 1e-4
    np.testing.assert_array_equal(pipe.decode_edit(v0, nl[None], ref), ref.dense)
