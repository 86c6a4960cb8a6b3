"""The fit loop: shuffle, forward, loss, backward, step, metrics, evaluate, callbacks."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from barenet.callbacks import Callback, ProgressLogger
from barenet.losses import check_labels
from barenet.model import check_inputs, check_lengths

# A training-time transformation of a batch of inputs, given fit's random generator.
Augmentation = Callable[[np.ndarray, np.random.Generator], np.ndarray]

if TYPE_CHECKING:
    from barenet.model import Sequential


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the model keeps its last finite weights."""


class History:
    """Per-epoch metrics: ``history.history["loss"][e]`` is the training loss of epoch ``e``."""

    def __init__(self) -> None:
        self.epoch: list[int] = []
        self.history: dict[str, list[float | None]] = {}

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        """Record one epoch; every list stays aligned with ``epoch`` (None where not measured)."""
        for key in logs.keys() - self.history.keys():
            self.history[key] = [None] * len(self.epoch)
        self.epoch.append(epoch)
        for key, values in self.history.items():
            values.append(logs.get(key))

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"


def count_correct(scores: np.ndarray, y: np.ndarray, threshold: float = 0.5) -> int:
    """How many rows of ``scores (N, C)`` pick the class of ``y`` ((N,) ids or (N, C) rows)."""
    if scores.shape[1] == 1:  # one output: a binary decision at the threshold
        return int(np.sum((scores[:, 0] > threshold) == (y.reshape(len(y), -1)[:, 0] > 0.5)))
    labels = y if y.ndim == 1 else y.argmax(axis=1)
    return int(np.sum(scores.argmax(axis=1) == labels))


def fit(
    model: Sequential,
    X: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    batch_size: int | None = 32,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    validation_split: float = 0.0,
    shuffle: bool = True,
    callbacks: Sequence[Callback] = (),
    verbose: int = 1,
    seed: int | None = None,
    steps_per_epoch: int | None = None,
    augment: Augmentation | None = None,
) -> History:
    """Train ``model`` on (X, y) with mini-batch gradient descent.

    Args:
        epochs: passes over the data (or of ``steps_per_epoch`` batches).
        batch_size: samples per update; 1 is per-sample SGD, None is full-batch gradient descent.
        validation_data: ``(X_val, y_val)`` evaluated after each epoch.
        validation_split: fraction of (X, y), taken from the end before shuffling, to hold out
            for validation when ``validation_data`` is not given.
        shuffle: visit the samples in a new random order each epoch.
        callbacks: objects whose hooks (``on_epoch_end(epoch, logs)``, ...) observe training.
        verbose: 1 prints one line per epoch; 0 is silent.
        seed: seeds the shuffling; the same seed and initial weights give the same run.
        steps_per_epoch: if given, each epoch is this many batches drawn at random (the
            tutorials' "rounds of 256 randomly drawn samples").
        augment: called as ``augment(X_batch, rng)`` on each training batch before it is
            converted, e.g. ``barenet.augment.RandomAffine()``; validation data is left as is.

    Shape:
        - X: ``(N, *input_shape)``, any numeric dtype (converted per batch).
        - y: ``(N,)`` class ids or ``(N, C)`` targets.

    Returns:
        A ``History``; also kept as ``model.history``.

    Raises:
        TrainingDiverged: the loss became NaN or infinite.
    """
    if model.loss is None or model.optimizer is None:
        raise ValueError("fit() needs a loss and an optimizer: call model.compile(...) first.")
    X, y = check_inputs(X), np.asarray(y)
    check_lengths(X, y)
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"fit expected a positive integer epochs. Received: epochs={epochs!r}")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"fit expected batch_size >= 1 or None. Received: {batch_size!r}")
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1). Received: {validation_split!r}")
    if validation_data is None and validation_split > 0:
        held_out = max(1, int(len(X) * validation_split))
        validation_data = (X[-held_out:], y[-held_out:])
        X, y = X[:-held_out], y[:-held_out]
    # One forward on a single sample checks the feature count and tells the number of outputs.
    outputs = model.forward(model.as_batch(X[:1]), logits=True).shape[1]
    check_labels(y, outputs)

    rng = np.random.default_rng(seed)
    n = len(X)
    batch = n if batch_size is None else min(batch_size, n)
    params = [param for _, param, _ in model.parameters()]
    grads = [grad for _, _, grad in model.parameters()]
    threshold = model.decision_threshold
    model.input_shape = X.shape[1:]
    model.history = history = History()
    model.stop_training = False
    callbacks = [*callbacks, *([ProgressLogger(epochs)] if verbose else [])]
    for callback in callbacks:
        callback.set_model(model)
        callback.on_train_begin()

    with np.errstate(over="ignore", invalid="ignore"):  # divergence is caught below
        for epoch in range(epochs):
            for callback in callbacks:
                callback.on_epoch_begin(epoch)
            started = time.perf_counter()
            order = rng.permutation(n) if shuffle else np.arange(n)
            if steps_per_epoch is not None:
                order = order[: steps_per_epoch * batch]
            last_good = model.get_weights()
            loss_sum, correct = 0.0, 0
            for step, start in enumerate(range(0, len(order), batch)):
                rows = order[start : start + batch]
                X_batch, y_batch = X[rows], y[rows]
                if augment is not None:
                    X_batch = augment(X_batch, rng)
                X_batch = model.as_batch(X_batch)
                scores = model.forward(X_batch, training=True, logits=True)
                loss = model.loss.forward(scores, y_batch)
                if not math.isfinite(loss):
                    _keep_finite_weights(model, params, last_good)
                    raise TrainingDiverged(
                        f"Training diverged in epoch {epoch + 1}, batch {step + 1}: the loss "
                        f"became {loss}. Try a smaller learning rate (it was "
                        f"{model.optimizer.current_learning_rate():g}); the model keeps its last "
                        "finite weights."
                    )
                model.backward(model.loss.backward(), logits=True, input_grad=False)
                model.optimizer.step(params, grads)
                loss_sum += loss * len(rows)
                correct += count_correct(scores, y_batch, threshold)
                for callback in callbacks:
                    callback.on_batch_end(step, {"loss": loss_sum / (start + len(rows))})
            logs = {"loss": loss_sum / len(order), "accuracy": correct / len(order)}
            if validation_data is not None:
                scores_val = model.evaluate(*validation_data)
                logs |= {"val_loss": scores_val["loss"], "val_accuracy": scores_val["accuracy"]}
            logs["seconds"] = time.perf_counter() - started
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs)  # may add metrics to logs
            history.append(epoch, logs)
            if model.stop_training:
                break
    for callback in callbacks:
        callback.on_train_end()
    return history


def _keep_finite_weights(
    model: Sequential, params: Sequence[np.ndarray], last_good: list[np.ndarray]
) -> None:
    """After a non-finite loss, roll back to the epoch's start if any weight is not finite."""
    if not all(np.isfinite(param).all() for param in params):
        model.set_weights(last_good)
