"""Losses: ``loss = forward(y_pred, y_true)`` and ``dy_pred = backward()``, averaged over the batch.

Labels may be integer class ids ``(N,)`` or one-hot / target rows ``(N, C)``. Cross-entropy is
computed from logits with log-sum-exp and a fused softmax gradient ``(softmax - onehot) / N``.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from barenet.activations import log_softmax, sigmoid
from barenet.configurable import Configurable, lookup


def check_labels(y_true: np.ndarray, classes: int) -> None:
    """Raise ValueError unless ``y_true`` is ``(N,)`` integer ids in ``0..classes-1`` or
    ``(N, classes)`` target rows."""
    if y_true.ndim == 1:
        if not np.issubdtype(y_true.dtype, np.integer):
            raise ValueError(
                f"Class labels of shape (N,) must be integers, got dtype {y_true.dtype}. "
                "Pass integer class ids or one-hot rows of shape (N, C)."
            )
        low, high = int(y_true.min(initial=0)), int(y_true.max(initial=0))
        if low < 0 or high >= classes:
            raise ValueError(
                f"Labels must be class ids in 0..{classes - 1} for a model with {classes} "
                f"outputs. Received a label of {low if low < 0 else high}."
            )
    elif y_true.ndim != 2 or y_true.shape[1] != classes:
        raise ValueError(
            f"Labels must have shape (N,) or (N, {classes}) for a model with {classes} "
            f"output{'s' if classes != 1 else ''}. "
            f"Received labels of shape {y_true.shape}."
        )
    elif np.issubdtype(y_true.dtype, np.inexact) and not np.isfinite(y_true).all():
        raise ValueError("Targets contain NaN or infinite values; clean them first.")


def check_targets(y_pred: np.ndarray, y_true: np.ndarray) -> None:
    """Raise ValueError unless ``y_true`` suits predictions ``y_pred`` of shape ``(N, C)``."""
    if y_pred.ndim != 2:
        raise ValueError(f"Loss expected predictions of shape (N, C), got {y_pred.shape}.")
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"Got {len(y_pred)} predictions but {len(y_true)} labels; they must match."
        )
    check_labels(y_true, y_pred.shape[1])


@functools.lru_cache(maxsize=8)
def _identity(classes: int, dtype: np.dtype) -> np.ndarray:
    identity = np.eye(classes, dtype=dtype)
    identity.flags.writeable = False  # shared between calls
    return identity


def targets_as_rows(y_true: np.ndarray, classes: int, dtype: np.dtype) -> np.ndarray:
    """Integer class ids -> one-hot rows ``(N, C)``; rows pass through (cast to ``dtype``)."""
    if y_true.ndim == 1:
        return _identity(classes, np.dtype(dtype))[y_true]  # row i of I is the one-hot of i
    return y_true.astype(dtype, copy=False)


class Loss(Configurable):
    """Base class: a scalar loss of a batch and its gradient with respect to the predictions.

    ``forward`` computes the loss and keeps what ``backward`` needs; ``backward`` then returns
    ``dLoss/dy_pred``, the gradient a model backpropagates through its layers.
    """

    name = "loss"  # the key of this loss in LOSSES, saved in model files

    def forward(self, y_pred: np.ndarray, y_true: np.ndarray) -> float:
        """The loss of a batch, averaged over its samples.

        Shape:
            - y_pred: ``(N, C)``, the model's outputs.
            - y_true: ``(N,)`` integer class ids or ``(N, C)`` target rows.
            - Returns: a Python float.
        """
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        """``dLoss/dy_pred`` for the batch of the last ``forward``.

        Shape:
            - Returns: ``(N, C)``, the shape of that ``y_pred``.
        """
        raise NotImplementedError

    def __call__(self, y_pred: np.ndarray, y_true: np.ndarray) -> float:
        return self.forward(y_pred, y_true)


class MeanSquaredError(Loss):
    """Mean squared error over every element: ``mean((y_pred - y_true)^2)``.

    Gradient: ``2 (y_pred - y_true) / y_pred.size``. Integer labels are one-hot encoded, as the
    tutorials that pair a tanh or sigmoid output with MSE do.
    """

    name = "mse"

    def __init__(self) -> None:
        self._diff: np.ndarray | None = None

    def forward(self, y_pred: np.ndarray, y_true: np.ndarray) -> float:
        check_targets(y_pred, y_true)
        self._diff = y_pred - targets_as_rows(y_true, y_pred.shape[1], y_pred.dtype)
        return float(np.mean(self._diff * self._diff))

    def backward(self) -> np.ndarray:
        assert self._diff is not None, "backward() called before forward()"
        return self._diff * self._diff.dtype.type(2.0 / self._diff.size)


class CrossEntropy(Loss):
    """Categorical cross-entropy ``-mean_n log p[n, y_n]``.

    Args:
        from_logits: if True (default), predictions are raw scores; softmax is fused into the loss,
            the value uses log-sum-exp and the gradient is ``(softmax - onehot) / N``. If False,
            predictions are probabilities, clipped to ``[eps, 1]`` before the log.
        eps: the clip floor for probabilities.
    """

    name = "cross_entropy"

    def __init__(self, from_logits: bool = True, eps: float = 1e-7) -> None:
        self.from_logits = from_logits
        self.eps = eps
        self._grad: np.ndarray | None = None

    def forward(self, y_pred: np.ndarray, y_true: np.ndarray) -> float:
        check_targets(y_pred, y_true)
        n, classes = y_pred.shape
        rows = np.arange(n)
        if self.from_logits:
            log_p = log_softmax(y_pred)
            grad = np.exp(log_p)  # softmax, reusing the stable log
            if y_true.ndim == 1:
                loss = -log_p[rows, y_true].mean()
                grad[rows, y_true] -= 1.0  # softmax - onehot, without building the one-hot
            else:
                loss = -(y_true * log_p).sum(axis=1).mean()
                grad -= y_true
        else:
            p = np.clip(y_pred, self.eps, 1.0)
            target = targets_as_rows(y_true, classes, y_pred.dtype)
            loss = -(target * np.log(p)).sum(axis=1).mean()
            # d/dp of -t log p, zero where the clip is active.
            grad = np.where(y_pred >= self.eps, -target / p, 0.0).astype(y_pred.dtype)
        grad /= grad.dtype.type(n)
        self._grad = grad
        return float(loss)

    def backward(self) -> np.ndarray:
        assert self._grad is not None, "backward() called before forward()"
        return self._grad

    def get_config(self) -> dict[str, Any]:
        return {"from_logits": self.from_logits}


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy ``-mean(t log p + (1 - t) log(1 - p))`` over every element.

    Args:
        from_logits: if True (default), predictions are raw scores and the loss uses the stable
            form ``max(x, 0) - x t + log(1 + exp(-|x|))`` with gradient ``(sigmoid(x) - t) / size``.
            If False, predictions are probabilities, clipped to ``[eps, 1 - eps]``.

    Targets have the predictions' shape, or are class ids ``(N,)``: one-hot encoded for several
    outputs (one sigmoid per class, one-vs-rest), 0 or 1 for a single output.
    """

    name = "binary_cross_entropy"

    def __init__(self, from_logits: bool = True, eps: float = 1e-7) -> None:
        self.from_logits = from_logits
        self.eps = eps
        self._grad: np.ndarray | None = None

    def forward(self, y_pred: np.ndarray, y_true: np.ndarray) -> float:
        if y_true.ndim == 1 and y_pred.ndim == 2 and len(y_true) == len(y_pred):
            # Class ids: one output is a 0/1 target; several are one-vs-rest, one-hot encoded.
            classes = max(y_pred.shape[1], 2)
            check_labels(y_true, classes)
            y_true = y_true.reshape(-1, 1) if y_pred.shape[1] == 1 else y_true
            y_true = targets_as_rows(y_true, classes, y_pred.dtype)
        if y_true.shape != y_pred.shape:
            raise ValueError(
                f"BinaryCrossEntropy expected targets of the predictions' shape {y_pred.shape} "
                f"or class ids of shape ({len(y_pred)},). Received targets of shape "
                f"{y_true.shape}."
            )
        t = y_true.astype(y_pred.dtype, copy=False)
        if self.from_logits:
            x = y_pred
            loss = np.mean(np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x))))
            grad = sigmoid(x) - t
        else:
            p = np.clip(y_pred, self.eps, 1.0 - self.eps)
            loss = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
            grad = (p - t) / (p * (1 - p))
        self._grad = (grad / grad.dtype.type(grad.size)).astype(y_pred.dtype, copy=False)
        return float(loss)

    def backward(self) -> np.ndarray:
        assert self._grad is not None, "backward() called before forward()"
        return self._grad

    def get_config(self) -> dict[str, Any]:
        return {"from_logits": self.from_logits}


LOSSES: dict[str, type[Loss]] = {
    "mse": MeanSquaredError,
    "cross_entropy": CrossEntropy,
    "binary_cross_entropy": BinaryCrossEntropy,
}


def get_loss(loss: str | Loss) -> Loss:
    """A loss object from a name (or the object itself); an unknown name lists the valid ones."""
    if isinstance(loss, Loss):
        return loss
    return lookup(LOSSES, loss, "loss")()
