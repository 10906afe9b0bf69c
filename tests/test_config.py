"""config_from_dict: the one reader of saved dataclass configs refuses unknown keys."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from core.config import config_from_dict
from core.errors import InvalidInputError


@dataclass(frozen=True)
class _Cfg:
    size: int
    channels: tuple[int, ...] = (4, 2)


def test_round_trip_and_defaults():
    assert config_from_dict(_Cfg, {"size": 3}) == _Cfg(3)
    assert config_from_dict(_Cfg, {"size": 3, "channels": (1,)}).channels == (1,)


def test_unknown_keys_are_refused_with_the_fields_and_the_hint():
    with pytest.raises(
        InvalidInputError,
        match=r"expected _Cfg fields \['channels', 'size'\], found unknown "
        r"\['bogus'\]; retrain",
    ):
        config_from_dict(_Cfg, {"size": 3, "bogus": 1}, "retrain")


def test_not_a_mapping_is_refused():
    with pytest.raises(InvalidInputError, match="expected a _Cfg as a JSON object, found list"):
        config_from_dict(_Cfg, [1, 2])


@pytest.mark.parametrize(
    "module, cls",
    [
        ("core.models.s2d_decoder", "DecoderConfig"),
        ("core.models.motion_gan", "MotionGANConfig"),
        ("core.models.classifier", "SequenceModelConfig"),
        ("core.train.gan_train", "GANTrainConfig"),
    ],
)
def test_no_config_class_has_its_own_from_dict(module, cls):
    import importlib

    assert not hasattr(getattr(importlib.import_module(module), cls), "from_dict")
