"""The engine's Dense layer: the textbook's products written into the gradients' own arrays, a
broadcast product for a single sample, and a backward pass that can stop at the weights.

``x^T @ dy`` with one sample is an outer product, which BLAS's matrix product handles slowly
(an inner dimension of 1); a broadcast multiply computes the same numbers. Writing the weight
gradient into its existing array (``out=``) saves an allocation, and its page faults, each step.
The first layer of a network needs no input gradient: nothing upstream uses it, and for a Dense
layer it is a whole matrix product (``parameter_gradients``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from barenet.layers import Dense


def forward(self: Dense, x: np.ndarray, training: bool = False) -> np.ndarray:
    """``Dense.forward``, the bias added in place."""
    self._check(x.shape)
    self._x = x
    y = x @ self.params["weight"]
    if self.use_bias:
        y += self.params["bias"]
    return y


def parameter_gradients(self: Dense, dy: np.ndarray) -> None:
    """``Dense.backward``'s parameter gradients alone, written into their arrays."""
    assert self._x is not None, "backward() called before forward()"
    weight_grad = _own_array(self, "weight")
    if len(dy) == 1:  # one sample: an outer product, as a broadcast
        np.multiply(self._x.T, dy, out=weight_grad)
    else:
        np.matmul(self._x.T, dy, out=weight_grad)
    if self.use_bias:
        np.sum(dy, axis=0, out=_own_array(self, "bias"))


def backward(self: Dense, dy: np.ndarray) -> np.ndarray:
    """``Dense.backward``: ``parameter_gradients``, then ``dx = dy @ weight^T``."""
    parameter_gradients(self, dy)
    return dy @ self.params["weight"].T


def _own_array(layer: Any, name: str) -> np.ndarray:
    """``layer.grads[name]``, made a contiguous array of its parameter's shape and dtype if it
    is not one (a textbook step may have left another)."""
    grad, param = layer.grads.get(name), layer.params[name]
    if (
        grad is None
        or grad.shape != param.shape
        or grad.dtype != param.dtype
        or not grad.flags.c_contiguous
    ):
        grad = layer.grads[name] = np.empty_like(param)
    return grad


REPLACEMENTS: dict[tuple[type, str], Callable[..., Any]] = {
    (Dense, "forward"): forward,
    (Dense, "backward"): backward,
}
# Layers whose gradients the engine can compute without the input gradient.
PARAMETERS_ONLY: dict[type, Callable[[Any, np.ndarray], None]] = {Dense: parameter_gradients}
