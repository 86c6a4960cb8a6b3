"""The engine's training step: the textbook's forward, loss and backward, whose backward pass
stops at the first layer with parameters, run on one thread or shared among several.

``Trainer.forward_backward`` backpropagates down to the input, as the chain rule reads; in
training nothing uses the input's gradient, so the engine stops at the first layer that has
parameters and asks it for its parameter gradients alone (for a Dense or Conv2D layer, a whole
product saved). A batch of a network with a convolution is shared among threads, one per core
(``barenet.engine.sharding``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import barenet.engine.sharding as sharding
from barenet.engine.conv import PARAMETERS_ONLY as CONVOLUTIONS
from barenet.engine.layers import PARAMETERS_ONLY as DENSE
from barenet.model import Sequential
from barenet.training import Trainer

# Layers that can compute their parameter gradients without their input gradient.
PARAMETERS_ONLY: dict[type, Callable[[Any, np.ndarray], None]] = {**DENSE, **CONVOLUTIONS}


def gradients(
    model: Sequential, X: np.ndarray, y: np.ndarray, weight: float = 1.0
) -> tuple[float, np.ndarray]:
    """``Trainer.forward_backward`` with the loss gradient scaled by ``weight`` (a shard's
    share of its batch) and the backward pass stopped at the first layer with parameters."""
    assert model.loss is not None
    scores = model.forward(X, training=True, logits=True)  # forward
    loss = model.loss.forward(scores, y)  # loss
    dY = model.loss.backward()
    if weight != 1.0:
        dY = dY * dY.dtype.type(weight)  # a new array: the loss keeps its own
    backward_to_parameters(model, dY)  # backward
    return loss, scores


def backward_to_parameters(model: Sequential, dY: np.ndarray) -> None:
    """``model.backward(dY, logits=True)`` down to the first layer with parameters, which sets
    its parameter gradients alone when it can (``PARAMETERS_ONLY``)."""
    stack = model.layers[:-1] if model.head.fused else model.layers
    first = next((i for i, layer in enumerate(stack) if layer.params), None)
    if first is None:
        return  # nothing to train
    for layer in reversed(stack[first + 1 :]):
        dY = layer.backward(dY)
    parameters_only = PARAMETERS_ONLY.get(type(stack[first]))
    if parameters_only is not None:
        parameters_only(stack[first], dY)
    else:
        stack[first].backward(dY)


TEXTBOOK_FORWARD_BACKWARD = Trainer.forward_backward


def forward_backward(self: Trainer, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """``Trainer.forward_backward`` on this thread, or shared among threads; the textbook's
    own for a model whose class has passes of its own (the engine knows Sequential's)."""
    model = self
    own_passes = type(model).forward is Sequential.forward
    own_passes &= type(model).backward is Sequential.backward
    if not isinstance(model, Sequential) or not own_passes:
        return TEXTBOOK_FORWARD_BACKWARD(self, X, y)
    shards = sharding.shards_for(model, len(X))
    if shards == 1:
        return gradients(model, X, y)
    return sharding.step_for(model, shards, gradients)(model, X, y)


REPLACEMENTS: dict[tuple[type, str], Callable[..., Any]] = {
    (Trainer, "forward_backward"): forward_backward,
}
