"""Neural models: spiral convolution, the S2D-Dec mesh decoder and the weights checkpoint format.

Modules take topology as tensors (never file paths); weights and configs go through
``core.models.checkpoint``.
"""

from core.models.checkpoint import (
    CHECKPOINT_FORMAT_VERSION,
    load_checkpoint,
    save_checkpoint,
)
from core.models.s2d_decoder import DecoderConfig, S2DDecoder
from core.models.spiral_conv import ACTIVATIONS, SpiralConv, spiral_gather, upsample_features

__all__ = [
    "ACTIVATIONS",
    "CHECKPOINT_FORMAT_VERSION",
    "DecoderConfig",
    "S2DDecoder",
    "SpiralConv",
    "load_checkpoint",
    "save_checkpoint",
    "spiral_gather",
    "upsample_features",
]
