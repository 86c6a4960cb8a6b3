"""Presets: every one is a valid config that builds, and an unknown name lists them."""

import pytest

from barenet.digits.presets import DEFAULT_PRESET, PRESETS, get_preset
from barenet.digits.recipe import build_model


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_builds_its_network(name):
    preset = get_preset(name)
    preset.config.validate()
    model = build_model(preset.config)
    assert model.layers[-1].__class__.__name__ in ("Softmax", "Sigmoid", "Tanh")
    assert preset.description


def test_the_default_and_unknown_names():
    assert DEFAULT_PRESET in PRESETS
    with pytest.raises(ValueError, match="Unknown preset 'fast'. Expected one of: tutorial-"):
        get_preset("fast")
