"""Losses: ``loss = forward(y_pred, y_true)`` and ``dy_pred = backward()``, averaged over the batch.

Labels may be integer class ids ``(N,)`` or one-hot / target rows ``(N, C)``. Cross-entropy is
computed from logits with log-sum-exp and a fused softmax gradient ``(softmax - onehot) / N``.
Every ``backward`` is the exact gradient of what ``forward`` computed, for every target it
accepts. ``fit`` and ``evaluate`` check the labels once (``check_labels``); ``forward`` checks
only the shapes, and calling a loss, ``loss(y_pred, y_true)``, checks both.
"""

from __future__ import annotations

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
    """Raise ValueError unless the shapes of ``y_true`` suit predictions ``y_pred`` ``(N, C)``:
    ``(N,)`` class ids or ``(N, C)`` rows (their values are ``check_labels``'s business)."""
    if y_pred.ndim != 2:
        raise ValueError(f"Loss expected predictions of shape (N, C), got {y_pred.shape}.")
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"Got {len(y_pred)} predictions but {len(y_true)} labels; they must match."
        )
    if y_true.ndim not in (1, 2) or (y_true.ndim == 2 and y_true.shape[1] != y_pred.shape[1]):
        check_labels(y_true, y_pred.shape[1])  # raises, saying which shapes it takes


def targets_as_rows(y_true: np.ndarray, classes: int, dtype: np.dtype) -> np.ndarray:
    """Integer class ids -> one-hot rows ``(N, C)``; rows pass through (cast to ``dtype``).

    The ids' range is ``check_labels``'s business, done once where they enter (``fit``,
    ``evaluate``, or calling a loss)."""
    if y_true.ndim == 1:
        if not np.issubdtype(y_true.dtype, np.integer):
            check_labels(y_true, classes)  # raises, saying that class ids are integers
        return np.eye(classes, dtype=dtype)[y_true]  # row i of the identity is the one-hot of i
    return y_true.astype(dtype, copy=False)


class Loss(Configurable):
    """Base class: a scalar loss of a batch and its gradient with respect to the predictions.

    ``forward`` computes the loss and keeps what ``backward`` needs; ``backward`` then returns
    ``dLoss/dy_pred``, the gradient a model backpropagates through its layers.
    """

    name = "loss"  # the key of this loss in LOSSES, saved in model files

    def forward(self, y_pred: np.ndarray, y_true: np.ndarray) -> float:
        """The loss of a batch, averaged over its samples. The labels' values are taken as
        checked (``fit`` and ``evaluate`` check them once; calling the loss checks them).

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

    def check_labels(self, y_true: np.ndarray, outputs: int) -> None:
        """Raise ValueError unless ``y_true`` holds labels this loss takes for a model with
        ``outputs`` outputs (``fit`` and ``evaluate`` ask once, before the first batch)."""
        check_labels(y_true, outputs)

    def __call__(self, y_pred: np.ndarray, y_true: np.ndarray) -> float:
        """``forward``, after checking the labels' values as ``fit`` does."""
        y_true = np.asarray(y_true)
        if y_pred.ndim == 2:
            self.check_labels(y_true, y_pred.shape[1])
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
    """Categorical cross-entropy ``-mean_n sum_c t[n, c] log p[n, c]`` (``-mean_n log p[n, y_n]``
    for class ids, whose rows ``t`` are one-hot).

    Args:
        from_logits: if True (default), predictions are raw scores ``z`` and ``p = softmax(z)``
            is fused into the loss: the value uses log-sum-exp and the gradient is
            ``(softmax(z) * sum_c t[n, c] - t) / N``, which is ``(softmax - onehot) / N`` for
            rows that sum to 1 and stays exact for any others (multi-hot, all zero). If False,
            predictions are probabilities, clipped to ``[eps, 1]`` before the log; the gradient
            is ``-t / p / N`` and 0 where the clip holds a prediction at a bound it crossed.
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
        t = targets_as_rows(y_true, classes, y_pred.dtype)  # (N, C)
        if self.from_logits:
            log_p = log_softmax(y_pred)
            loss = -(t * log_p).sum(axis=1).mean()
            # d/dz of -sum_c t_c log softmax(z)_c is softmax(z) * sum_c t_c - t.
            grad = np.exp(log_p) * t.sum(axis=1, keepdims=True) - t
        else:
            p = np.clip(y_pred, self.eps, 1.0)
            loss = -(t * np.log(p)).sum(axis=1).mean()
            passed = (y_pred >= self.eps) & (y_pred <= 1.0)  # where the clip is the identity
            grad = np.where(passed, -t / p, 0.0).astype(y_pred.dtype)
        self._grad = grad / grad.dtype.type(n)
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
            If False, predictions are probabilities, clipped to ``[eps, 1 - eps]``; the
            gradient is ``(p - t) / (p (1 - p)) / size``, and 0 where the clip holds a
            prediction at a bound it crossed.

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
            passed = (y_pred >= self.eps) & (y_pred <= 1.0 - self.eps)  # the clip is the identity
            grad = np.where(passed, (p - t) / (p * (1 - p)), 0.0)
        self._grad = (grad / grad.dtype.type(grad.size)).astype(y_pred.dtype, copy=False)
        return float(loss)

    def backward(self) -> np.ndarray:
        assert self._grad is not None, "backward() called before forward()"
        return self._grad

    def check_labels(self, y_true: np.ndarray, outputs: int) -> None:
        # One output takes class ids 0 and 1 (or rows of one 0/1 target).
        if y_true.ndim == 1:
            check_labels(y_true, max(outputs, 2))
        else:
            check_labels(y_true, outputs)

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
