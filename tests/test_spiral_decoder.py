"""SpiralConv against a plain loop, barycentric up-sampling, and the S2D decoder's contract."""

import numpy as np
import pytest
import torch
import trimesh

from core.config import config_from_dict
from core.errors import InvalidInputError, TopologyMismatchError
from core.mesh import build_hierarchy, upsample
from core.models import DecoderConfig, S2DDecoder, SpiralConv, spiral_gather, upsample_features
from core.runtime import pick_device, tune_malloc

K = 68


@pytest.fixture(scope="module")
def hier():
    head = trimesh.creation.icosphere(subdivisions=2)  # 162 vertices
    eye = trimesh.creation.icosphere(subdivisions=0, radius=0.2)  # 12 vertices
    eye.vertices += [0.5, 0.0, 1.2]
    m = trimesh.util.concatenate([head, eye])
    return build_hierarchy(m.vertices * 0.1, m.faces, factors=(4, 4), spiral_length=7)


def _loop_reference(x, spirals, weight, bias, act):
    """y[b, v] = act(W @ concat_l x[b, spirals[v, l]] + bias), one vertex at a time."""
    b, v = x.shape[0], spirals.shape[0]
    out = torch.empty(b, v, weight.shape[0], dtype=x.dtype)
    for bi in range(b):
        for vi in range(v):
            feat = torch.cat([x[bi, int(s)] for s in spirals[vi]])
            out[bi, vi] = act(weight @ feat + bias)
    return out


@pytest.mark.parametrize("c_in,c_out", [(4, 6), (6, 3), (5, 5)])
@pytest.mark.parametrize("activation", ["identity", "elu"])
def test_spiral_conv_equals_the_loop_reference_with_and_without_autograd(c_in, c_out, activation):
    torch.manual_seed(0)
    v, length = 40, 7
    spirals = torch.randint(0, v, (v, length))
    spirals[:, 0] = torch.arange(v)
    conv = SpiralConv(c_in, c_out, spirals, activation)
    with torch.no_grad():
        conv.linear.bias.normal_()
    x = torch.randn(3, v, c_in)
    act = torch.nn.functional.elu if activation == "elu" else (lambda t: t)
    ref = _loop_reference(x, spirals, conv.linear.weight.detach(), conv.linear.bias.detach(), act)
    torch.testing.assert_close(conv(x), ref, atol=1e-5, rtol=1e-5)  # dense (autograd) path
    with torch.inference_mode():
        torch.testing.assert_close(conv(x), ref, atol=1e-5, rtol=1e-5)  # CPU inference path
    with torch.inference_mode():
        y64 = conv.double()(x.double())
    assert y64.dtype == torch.float64
    torch.testing.assert_close(y64.float(), ref, atol=1e-5, rtol=1e-5)


def test_upsample_features_autograd_and_inference_paths_agree(hier):
    x = torch.randn(3, hier.sizes[1], 4)
    idx = torch.from_numpy(hier.up_idx[0].copy())
    w = torch.from_numpy(hier.up_w[0].copy())
    dense = upsample_features(x.requires_grad_(), idx, w)
    dense.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    with torch.inference_mode():
        torch.testing.assert_close(upsample_features(x, idx, w), dense.detach())


def test_spiral_gather_layout():
    x = torch.arange(2 * 4 * 3, dtype=torch.float32).reshape(2, 4, 3)
    spirals = torch.tensor([[0, 1], [1, 2], [2, 3], [3, 0]])
    g = spiral_gather(x, spirals)
    assert g.shape == (2, 4, 6)
    torch.testing.assert_close(g[1, 3], torch.cat([x[1, 3], x[1, 0]]))


def test_upsample_features_matches_numpy(hier):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, hier.sizes[1], 5)).astype(np.float32)
    ref = upsample(x, hier.up_idx[0], hier.up_w[0])
    out = upsample_features(
        torch.from_numpy(x),
        torch.from_numpy(hier.up_idx[0].copy()),
        torch.from_numpy(hier.up_w[0].copy()),
    )
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-6)


def _decoder(hier, **kw):
    torch.manual_seed(0)
    cfg = DecoderConfig.from_hierarchy(hier, channels=(16, 8, 8), **kw)
    model = S2DDecoder(cfg, hier)
    with torch.no_grad():  # non-zero biases so every path is exercised
        for p in model.parameters():
            if p.ndim == 1:
                p.normal_(0, 0.1)
    return model


def test_decoder_output_shape_dtype_and_input_layouts(hier):
    model = _decoder(hier)
    x = torch.randn(4, K, 3)
    y = model(x)
    assert y.shape == (4, hier.sizes[0], 3) and y.dtype == torch.float32
    torch.testing.assert_close(model(x.reshape(4, K * 3)), y)
    with torch.inference_mode():
        torch.testing.assert_close(model(x), y.detach(), atol=1e-5, rtol=1e-5)
    for bad in (torch.randn(4, K, 2), torch.randn(4, K * 3 + 1), torch.randn(K, 3)):
        with pytest.raises(InvalidInputError, match="landmark displacements"):
            model(bad)


def test_gradient_reaches_every_parameter(hier):
    model = _decoder(hier)
    model(torch.randn(2, K, 3)).square().mean().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_to_float64_moves_topology_buffers_and_keeps_the_result(hier):
    model = _decoder(hier)
    x = torch.randn(3, K, 3)
    with torch.inference_mode():
        y32 = model(x)
    model64 = model.to(torch.float64)
    assert model64.up_w_0.dtype == torch.float64 and model64.up_idx_0.dtype == torch.int64
    with torch.inference_mode():
        y64 = model64(x.double())
    assert y64.dtype == torch.float64
    torch.testing.assert_close(y64.float(), y32, atol=1e-5, rtol=1e-4)


def test_state_dict_holds_only_weights(hier):
    keys = set(_decoder(hier).state_dict())
    assert keys == {
        "fc.weight",
        "fc.bias",
        "convs.0.linear.weight",
        "convs.0.linear.bias",
        "convs.1.linear.weight",
        "convs.1.linear.bias",
        "head.linear.weight",
        "head.linear.bias",
    }
    sd = _decoder(hier).state_dict()
    assert sd["convs.0.linear.weight"].shape == (8, 7 * 16)  # L * C_in, SpiralNet++ layout
    assert sd["fc.weight"].shape == (hier.sizes[-1] * 16, K * 3)


def test_input_and_output_scales(hier):
    x = torch.randn(2, K, 3)
    base = _decoder(hier)
    scaled = _decoder(hier, input_scale=2.0, output_scale=0.5)
    with torch.inference_mode():
        torch.testing.assert_close(scaled(x), 0.5 * base(2.0 * x))


def test_config_checks_and_dict_round_trip(hier):
    cfg = DecoderConfig.from_hierarchy(hier, channels=(16, 8, 8))
    assert cfg.level_sizes == hier.sizes and cfg.spiral_lengths == (7, 7, 7)
    assert config_from_dict(DecoderConfig, cfg.to_dict()) == cfg
    as_json_lists = {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.to_dict().items()}
    assert config_from_dict(DecoderConfig, as_json_lists) == cfg
    with pytest.raises(InvalidInputError, match="unknown"):
        config_from_dict(DecoderConfig, {**cfg.to_dict(), "bogus": 1})
    with pytest.raises(InvalidInputError, match="one per level"):
        DecoderConfig.from_hierarchy(hier, channels=(16, 8))
    with pytest.raises(InvalidInputError, match="activation"):
        DecoderConfig.from_hierarchy(hier, channels=(16, 8, 8), activation="gelu")
    wrong = DecoderConfig(level_sizes=(10, 5, 2), spiral_lengths=(7, 7, 7), channels=(4, 4, 4))
    with pytest.raises(TopologyMismatchError, match="level sizes"):
        S2DDecoder(wrong, hier)


def test_runtime_helpers():
    first = tune_malloc()
    assert set(first) == {"mmap_threshold", "trim_threshold"}
    assert tune_malloc() == first  # idempotent
    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type in ("cpu", "cuda")
    with pytest.raises(InvalidInputError, match="prefer"):
        pick_device("tpu")
