"""The engine's batch normalization: sums in one pass over the input's own memory layout, the
normalized input never stored, and per-feature sums added over every shard of a sharded step.

The same formulas as ``barenet.normalization``: ``x_hat = (x - mean) / sqrt(var + eps)``, ``y =
weight * x_hat + bias``, and ``dx = scale * (dy - mean(dy) - x_hat * mean(dy * x_hat))`` with
``scale = weight / sqrt(var + eps)``; here ``x_hat`` is rebuilt from the cached ``x - mean``
where it is needed, and the sums run through ``einsum``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from barenet.engine.layers import _own_array
from barenet.normalization import _BatchNorm

TEXTBOOK_BACKWARD = _BatchNorm.backward  # for a forward pass that the textbook made


def _per_feature(self: Any, values: np.ndarray) -> np.ndarray:
    """``(F,)`` -> a shape that broadcasts along axis 1 of the input."""
    return values.reshape((1, -1) + (1,) * (self.ndim - 2))


def _subscripts(self: Any) -> str:
    """einsum subscripts of the input, ``c`` the feature axis: ``nc`` or ``nchw``."""
    return "nc" if self.ndim == 2 else "nchw"


def _sum(self: Any, *factors: np.ndarray) -> np.ndarray:
    """``sum(prod(factors))`` per feature, ``(F,)``: one pass, in whatever memory layout the
    input has (einsum walks it in memory order, where ``x.sum(axis=(0, 2, 3))`` of a
    channels-last image would stride across it)."""
    s = _subscripts(self)
    return np.einsum(",".join([s] * len(factors)) + "->c", *factors)


def _over_batch(self: Any, sums: np.ndarray, count: int) -> tuple[np.ndarray, int]:
    """Per-feature sums and the number of values they add, over the whole batch: this
    input's own, or in sharded training every shard's (``barenet.engine.sharding`` sets
    ``_across_shards`` on each replica's layers during a step)."""
    across = getattr(self, "_across_shards", None)
    if across is None:
        return sums, count
    totals = across(np.append(sums.astype(np.float64), count))
    return totals[:-1].astype(sums.dtype), int(totals[-1])


def forward(self: Any, x: np.ndarray, training: bool = False) -> np.ndarray:
    """``_BatchNorm.forward`` with one-pass sums, summed over every shard of a sharded step."""
    self._check(x.shape)
    self._training = training
    if training:
        sums, count = _over_batch(self, _sum(self, x), x.size // self.num_features)
        if count < 2:
            raise ValueError(
                f"{type(self).__name__} needs more than one value per feature to train; got "
                f"input of shape {x.shape}. Use a batch size of at least 2."
            )
        mean = sums / count
        centered = np.subtract(x, _per_feature(self, mean))
        squares, _ = _over_batch(self, _sum(self, centered, centered), count)
        var = squares / count  # two passes: no cancellation
        m = self.momentum
        self.buffers["running_mean"] *= 1 - m
        self.buffers["running_mean"] += m * mean
        self.buffers["running_var"] *= 1 - m
        self.buffers["running_var"] += m * var * (count / (count - 1))  # unbiased, as PyTorch
    else:
        var = self.buffers["running_var"]
        centered = np.subtract(x, _per_feature(self, self.buffers["running_mean"]))
    inv_std = 1.0 / np.sqrt(var + x.dtype.type(self.eps))
    self._centered, self._inv_std = centered, inv_std
    self._x_hat = None  # the textbook's cache: not this forward pass's
    # y = x_hat * weight + bias with x_hat = centered * inv_std, in one product and one
    # in-place sum: x_hat itself is never stored (backward rebuilds what it needs of it).
    y = np.multiply(centered, _per_feature(self, self.params["weight"] * inv_std))
    y += _per_feature(self, self.params["bias"])
    return y


def backward(self: Any, dy: np.ndarray) -> np.ndarray:
    """``_BatchNorm.backward`` from the cached ``x - mean``, its sums over every shard (the
    textbook's own backward after a forward pass that the textbook made)."""
    if self._x_hat is not None:
        return TEXTBOOK_BACKWARD(self, dy)
    centered, inv_std = getattr(self, "_centered", None), self._inv_std
    assert centered is not None and inv_std is not None, "backward() called before forward()"
    # dL/dweight = sum(dy * x_hat) = inv_std * sum(dy * centered); dL/dbias = sum(dy).
    sum_dy_centered = _sum(self, dy, centered)
    np.multiply(sum_dy_centered, inv_std, out=_own_array(self, "weight"))
    np.copyto(_own_array(self, "bias"), _sum(self, dy))
    scale = self.params["weight"] * inv_std
    if not self._training:
        return np.multiply(dy, _per_feature(self, scale))  # fixed statistics: affine
    # The batch mean and variance depend on every x too; with m values per feature:
    # dx = scale * (dy - mean(dy) - x_hat * mean(dy * x_hat)), and
    # x_hat * mean(dy * x_hat) = centered * inv_std^2 * sum(dy * centered) / m.
    # (Sums over the whole batch: in sharded training this shard's gradients are its part.)
    sums, count = _over_batch(
        self, np.concatenate([sum_dy_centered, self.grads["bias"]]), dy.size // self.num_features
    )
    sum_dy_centered, sum_dy = np.split(sums, 2)
    dx = np.multiply(centered, _per_feature(self, -(inv_std**2) * sum_dy_centered / count))
    dx += dy
    dx -= _per_feature(self, sum_dy / count)
    dx *= _per_feature(self, scale)
    return dx


REPLACEMENTS: dict[tuple[type, str], Callable[..., Any]] = {
    (_BatchNorm, "forward"): forward,
    (_BatchNorm, "backward"): backward,
}
