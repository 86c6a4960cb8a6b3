"""Initializers: their scales, their use of the generator, fans of dense and conv shapes."""

import numpy as np
import pytest

import barenet as bn
from barenet.initializers import fans


@pytest.mark.parametrize(
    "name, std",
    [
        ("he", np.sqrt(2 / 400)),
        ("lecun", np.sqrt(1 / 400)),
        ("normal", 1.0),
        ("xavier", np.sqrt(2 / 600)),
        ("uniform", np.sqrt(1 / 12)),
    ],
)
def test_initializer_scales(name, std, rng):
    weights = bn.get_initializer(name)((400, 200), rng)
    assert abs(weights.std() - std) / std < 0.02
    assert abs(weights.mean()) < 0.01


def test_initializers_use_the_generator():
    first = bn.get_initializer("he")((5, 5), np.random.default_rng(3))
    np.testing.assert_array_equal(first, bn.get_initializer("he")((5, 5), np.random.default_rng(3)))
    assert not bn.get_initializer("zeros")((2, 2), np.random.default_rng(3)).any()
    assert bn.get_initializer("uniform")((1000,), np.random.default_rng(3)).max() < 0.5


def test_fans_for_dense_and_conv_shapes():
    assert fans((784, 128)) == (784, 128)
    assert fans((32, 1, 5, 5)) == (25, 800)
