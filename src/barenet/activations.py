"""Activation layers: elementwise nonlinearities and Softmax, each with its derivative beside it.

``Activation(fn, derivative)`` lets a learner plug in their own function exactly as the classic
tutorials write it (``derivative`` takes the layer's *input*). The built-in ones write their
derivative in terms of their output ``y`` where the maths allows (sigmoid: ``y (1 - y)``), so
the layer keeps ``y`` alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from barenet.configurable import lookup
from barenet.layers import Layer


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-x))`` that never overflows: exp only sees ``-|x| <= 0``."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise softmax exp(x_i) / sum_j exp(x_j), shifted by the row maximum so exp <= 1.

    Shape:
        - Input: ``(N, C)``; Output: ``(N, C)``, rows sum to 1.
    """
    shifted = x - x.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    e /= e.sum(axis=1, keepdims=True)
    return e


def logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    """``log sum_axis exp(x)``, without overflow: ``m + log sum exp(x - m)``, ``m`` the largest
    term along ``axis``.

    Shape:
        - Input: any; Output: the input's shape without ``axis``.
    """
    top = x.max(axis=axis, keepdims=True)
    return np.squeeze(top + np.log(np.exp(x - top).sum(axis=axis, keepdims=True)), axis=axis)


def log_softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise log softmax x_i - logsumexp(x), stable for any magnitude of x.

    Shape:
        - Input: ``(N, C)``; Output: ``(N, C)``.
    """
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


class Activation(Layer):
    """A custom elementwise activation ``y = fn(x)`` with ``dx = dy * derivative(x)``.

    Args:
        fn: the function, applied elementwise.
        derivative: its derivative, as a function of the input ``x``.

    Shape:
        - Input: any; Output: same as input.

    Example:
        >>> tanh = Activation(np.tanh, lambda x: 1 - np.tanh(x) ** 2)
    """

    def __init__(
        self,
        fn: Callable[[np.ndarray], np.ndarray],
        derivative: Callable[[np.ndarray], np.ndarray],
    ) -> None:
        super().__init__()
        for name, value in (("fn", fn), ("derivative", derivative)):
            if not callable(value):
                raise ValueError(
                    f"Activation expected a function {name}, e.g. np.tanh. Received: {value!r}"
                )
        self.fn = fn
        self.derivative = derivative
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._x = x
        return self.fn(x)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        assert self._x is not None, "backward() called before forward()"
        return dy * self.derivative(self._x)

    def label(self) -> str:
        return f"Activation({getattr(self.fn, '__name__', '?')})"

    def get_config(self) -> dict[str, Any]:
        return {"fn": getattr(self.fn, "__name__", "?"), "derivative": "..."}

    def describe(self) -> dict[str, Any]:
        if type(self) is Activation:  # a subclass may be an ordinary, registered layer
            raise ValueError(
                "Cannot save a model with a custom Activation(fn, derivative): a file stores "
                "no Python functions. Use a built-in activation layer instead."
            )
        return super().describe()

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        raise ValueError(
            "A custom Activation(fn, derivative) holds Python functions, which a model file "
            "cannot store. Use a built-in activation (relu, leaky_relu, sigmoid, tanh, softmax) "
            "in models you save."
        )


class ReLU(Layer):
    """Rectified linear unit: ``y = max(0, x)``; ``dx = dy * (y > 0)`` (y > 0 exactly where x > 0,
    so only the output is kept and inference computes no mask)."""

    def __init__(self) -> None:
        super().__init__()
        self._y: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._y = np.maximum(x, 0)
        return self._y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        assert self._y is not None, "backward() called before forward()"
        return dy * (self._y > 0)


class LeakyReLU(Layer):
    """Leaky ReLU: ``y = x`` for x > 0, else ``negative_slope * x``."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        if negative_slope < 0:
            raise ValueError(
                f"LeakyReLU expected a non-negative negative_slope. Received: {negative_slope!r}"
            )
        self.negative_slope = float(negative_slope)
        self._slope: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._slope = np.where(x > 0, 1.0, self.negative_slope).astype(x.dtype)
        return x * self._slope

    def backward(self, dy: np.ndarray) -> np.ndarray:
        assert self._slope is not None, "backward() called before forward()"
        return dy * self._slope

    def label(self) -> str:
        return f"LeakyReLU({self.negative_slope:g})"

    def get_config(self) -> dict[str, Any]:
        return {"negative_slope": self.negative_slope}


class Sigmoid(Layer):
    """Logistic sigmoid ``y = 1 / (1 + exp(-x))``; ``dx = dy * y * (1 - y)``."""

    def __init__(self) -> None:
        super().__init__()
        self._y: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._y = sigmoid(x)
        return self._y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        assert self._y is not None, "backward() called before forward()"
        return dy * self._y * (1 - self._y)


class Tanh(Layer):
    """Hyperbolic tangent ``y = tanh(x)``; ``dx = dy * (1 - y^2)``."""

    def __init__(self) -> None:
        super().__init__()
        self._y: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._y = np.tanh(x)
        return self._y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        assert self._y is not None, "backward() called before forward()"
        return dy * (1 - self._y * self._y)


class Softmax(Layer):
    """Row-wise softmax. Backward is the Jacobian-vector product ``y * (dy - sum(dy * y))``.

    Trained with ``CrossEntropy(from_logits=True)``, a final Softmax is fused into the loss (see
    ``Sequential.compile``): the loss then takes the scores before it, and its gradient
    ``(softmax - onehot) / N`` is exact and stable.

    Shape:
        - Input: ``(N, C)``; Output: ``(N, C)``.
    """

    def __init__(self) -> None:
        super().__init__()
        self._y: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._y = softmax(x)
        return self._y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        assert self._y is not None, "backward() called before forward()"
        # J = diag(y) - y y^T, so J @ dy = y * dy - y * (y . dy), one row at a time.
        return self._y * (dy - np.sum(dy * self._y, axis=1, keepdims=True))


ACTIVATIONS: dict[str, type[Layer]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "softmax": Softmax,
}


def get_activation(name: str) -> Layer:
    """A new activation layer by name; an unknown name lists the valid ones."""
    return lookup(ACTIVATIONS, name, "activation")()
