"""The tutorials' backward-pass mistakes, reproduced on purpose so that their figures can be.

A quirk changes only how a network is *trained*: while ``reproduced(model, quirks)`` is active,
some activation layers are swapped for ``Activation(fn, derivative)`` layers with the tutorial's
derivative. The forward pass is the same function, so what the trained model predicts, and the
file it is saved to, use barenet's ordinary layers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from barenet.activations import Activation, ReLU
from barenet.configurable import lookup
from barenet.layers import Layer
from barenet.model import Sequential


def relu(x: np.ndarray) -> np.ndarray:
    """``max(0, x)``, elementwise."""
    return np.maximum(x, 0)


def relu_derivative_above_one(x: np.ndarray) -> np.ndarray:
    """The derivative one tutorial wrote for ReLU: ``1 if x > 1 else 0``. The true one is
    ``1 if x > 0``; units with ``0 < x <= 1`` are alive yet pass back no gradient."""
    return (x > 1).astype(x.dtype)


def no_derivative(x: np.ndarray) -> np.ndarray:
    """A derivative of 1 everywhere: the layer passes its output's gradient through unchanged."""
    return np.ones_like(x)


def _relu_above_one(layers: list[Layer]) -> None:
    for index, layer in enumerate(layers):
        if type(layer) is ReLU:
            layers[index] = Activation(relu, relu_derivative_above_one)


def _output_error(layers: list[Layer]) -> None:
    output = layers[-1]
    layers[-1] = Activation(output.forward, no_derivative)


@dataclass(frozen=True)
class Quirk:
    """A named mistake: what it is, and how it rewrites a list of layers for training."""

    description: str
    apply: Callable[[list[Layer]], None]


QUIRKS: dict[str, Quirk] = {
    "relu-derivative-above-1": Quirk(
        "ReLU's derivative written (x > 1) instead of (x > 0)", _relu_above_one
    ),
    "output-error": Quirk(
        "the output layer steps along (output - target), skipping its activation's derivative",
        _output_error,
    ),
}


def check_quirks(names: Sequence[str]) -> None:
    """Raise ValueError naming the valid quirks unless every name is one of them."""
    for name in names:
        lookup(QUIRKS, name, "quirk")


@contextmanager
def reproduced(model: Sequential, names: Sequence[str]) -> Iterator[Sequential]:
    """Train ``model`` with the named quirks in its backward pass; its layers are put back on
    exit, so predictions and saving see the ordinary network (the same forward function)."""
    check_quirks(names)
    originals = list(model.layers)
    for name in names:
        QUIRKS[name].apply(model.layers)
    try:
        yield model
    finally:
        model.layers[:] = originals
