"""Batch normalization: standardize each feature (or channel) over the batch, then scale and shift.

In training, a batch is normalized with its own mean and variance, and running averages of both
are kept; at inference those running statistics are used instead, so a prediction does not depend
on what else is in the batch. The running statistics are *buffers*: saved with the model, restored
by early stopping, but never touched by an optimizer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from barenet.configurable import check_positive_int
from barenet.layers import Layer, shape_text


class _BatchNorm(Layer):
    """``y = weight * x_hat + bias``, ``x_hat = (x - mean) / sqrt(var + eps)``, per feature.

    Features lie along axis 1. In training ``mean`` and ``var`` are the batch's (over the
    samples, and the pixels of an image); backward, with sums and means over the same values,
    ``dweight = sum(dy * x_hat)``, ``dbias = sum(dy)`` and ``dx = weight / sqrt(var + eps) *
    (dy - mean(dy) - x_hat * mean(dy * x_hat))``, since the batch's mean and variance depend on
    every input too.

    Args:
        num_features: size of axis 1 (features of ``(N, F)`` or channels of ``(N, C, H, W)``).
        momentum: weight of the newest batch in the running averages (PyTorch's convention).
        eps: added to the variance, so that a constant feature does not divide by zero.
    """

    ndim = 2  # of the input; BatchNorm2d overrides

    def __init__(self, num_features: int, *, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__()
        name = type(self).__name__
        check_positive_int(name, num_features=num_features)
        if not 0.0 < momentum <= 1.0:
            raise ValueError(f"{name} expected momentum in (0, 1]. Received: {momentum!r}")
        if not eps > 0:
            raise ValueError(f"{name} expected eps > 0. Received: {eps!r}")
        self.num_features, self.momentum, self.eps = int(num_features), float(momentum), float(eps)
        self.params["weight"] = np.ones(self.num_features)
        self.params["bias"] = np.zeros(self.num_features)
        self.buffers["running_mean"] = np.zeros(self.num_features)
        self.buffers["running_var"] = np.ones(self.num_features)
        self.astype(np.float32)
        self._x_hat: np.ndarray | None = None  # (x - mean) / sqrt(var + eps), for backward
        self._inv_std: np.ndarray | None = None  # 1 / sqrt(var + eps), (F,)
        self._training = False

    def _check(self, shape: tuple[Any, ...]) -> None:
        if len(shape) != self.ndim or shape[1] != self.num_features:
            expected = "(N, {})" if self.ndim == 2 else "(N, {}, H, W)"
            raise ValueError(
                f"{type(self).__name__}(num_features={self.num_features}) expected input of "
                f"shape {expected.format(self.num_features)}, got {shape_text(shape)}."
            )

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        self._check(("N", *input_shape))
        return tuple(input_shape)

    @property
    def axes(self) -> tuple[int, ...]:
        """The axes a feature's statistics run over: the batch, and the pixels of an image."""
        return (0,) if self.ndim == 2 else (0, 2, 3)

    def _per_feature(self, values: np.ndarray) -> np.ndarray:
        """``(F,)`` -> a shape that broadcasts along axis 1 of the input."""
        return values.reshape((1, -1) + (1,) * (self.ndim - 2))

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._check(x.shape)
        self._training = training
        if training:
            count = x.size // self.num_features  # values per feature
            if count < 2:
                raise ValueError(
                    f"{type(self).__name__} needs more than one value per feature to train; got "
                    f"input of shape {x.shape}. Use a batch size of at least 2."
                )
            mean = x.mean(axis=self.axes)
            var = ((x - self._per_feature(mean)) ** 2).mean(axis=self.axes)  # biased, as used
            m = self.momentum
            unbiased = var * (count / (count - 1))  # the running variance, as PyTorch keeps it
            self.buffers["running_mean"][...] = (1 - m) * self.buffers["running_mean"] + m * mean
            self.buffers["running_var"][...] = (1 - m) * self.buffers["running_var"] + m * unbiased
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        self._inv_std = 1.0 / np.sqrt(var + x.dtype.type(self.eps))  # (F,)
        self._x_hat = (x - self._per_feature(mean)) * self._per_feature(self._inv_std)
        weight, bias = (self._per_feature(self.params[name]) for name in ("weight", "bias"))
        return weight * self._x_hat + bias

    def backward(self, dy: np.ndarray) -> np.ndarray:
        assert self._x_hat is not None and self._inv_std is not None, "backward() before forward()"
        x_hat, axes = self._x_hat, self.axes
        self.grads["weight"] = (dy * x_hat).sum(axis=axes)
        self.grads["bias"] = dy.sum(axis=axes)
        scale = self._per_feature(self.params["weight"] * self._inv_std)  # weight / sqrt(var+eps)
        if not self._training:
            return dy * scale  # fixed statistics: an affine map
        # The batch mean and variance depend on every x too; with m values per feature:
        # dx = scale * (dy - mean(dy) - x_hat * mean(dy * x_hat)), where the sums are the
        # parameter gradients just computed.
        count = dy.dtype.type(dy.size // self.num_features)
        mean_dy = self._per_feature(self.grads["bias"]) / count
        mean_dy_x_hat = self._per_feature(self.grads["weight"]) / count
        return scale * (dy - mean_dy - x_hat * mean_dy_x_hat)

    def label(self) -> str:
        return f"{type(self).__name__}({self.num_features})"

    def get_config(self) -> dict[str, Any]:
        return {"num_features": self.num_features, "momentum": self.momentum, "eps": self.eps}


class BatchNorm1d(_BatchNorm):
    """Batch normalization of each feature of ``(N, F)`` input (after a Dense layer).

    Shape:
        - Input: ``(N, num_features)``; Output: same.
        - weight, bias, running_mean, running_var: ``(num_features,)``
    """

    ndim = 2


class BatchNorm2d(_BatchNorm):
    """Batch normalization of each channel of ``(N, C, H, W)`` input, over samples and pixels.

    Shape:
        - Input: ``(N, num_features, H, W)``; Output: same.
        - weight, bias, running_mean, running_var: ``(num_features,)``
    """

    ndim = 4
