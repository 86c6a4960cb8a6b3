"""Training: ``Trainer`` gives a model ``compile``, ``fit`` and ``evaluate``.

``Sequential`` inherits it (the ``Model(Trainer)`` pattern of Keras), so the model and its training
loop never import each other. One epoch reads top to bottom: shuffle -> forward -> loss ->
backward -> step -> metrics, then evaluate -> callbacks. Inputs and labels are checked once,
where they enter ``fit`` or ``evaluate``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np

from barenet.callbacks import Callback, History, ProgressLogger
from barenet.configurable import check_positive_int
from barenet.losses import Loss, get_loss
from barenet.metrics import count_correct
from barenet.optimizers import Optimizer, get_optimizer

if TYPE_CHECKING:
    from barenet.heads import Head
    from barenet.model import Sequential

# A training-time transformation of a batch of inputs, given fit's random generator.
Augmentation = Callable[[np.ndarray, np.random.Generator], np.ndarray]
TrainerT = TypeVar("TrainerT", bound="Trainer")
# A loss this many times its first value (or 1, if larger) means training blew up, even while
# it is still finite: no working run climbs a million-fold (Adam at a learning rate of 1e9 does).
BLOW_UP = 1e6


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the model keeps its last finite weights."""


class Trainer:
    """The training half of a model: a loss and an optimizer, ``fit`` and ``evaluate``.

    A subclass provides the model half: ``forward``, ``backward``, ``parameters``, the weights
    and batching (see ``Sequential``).
    """

    def __init__(self) -> None:
        self.loss: Loss | None = None
        self.optimizer: Optimizer | None = None
        self.history: History | None = None
        self.input_shape: tuple[int, ...] | None = None  # per sample, learned from the data
        self.stop_training = False  # set by a callback to end fit() after this epoch
        # Where a run stands (see capture_training_state); set by load_model from a checkpoint.
        self.training_state: dict[str, Any] | None = None
        self._fit_rng: np.random.Generator | None = None
        self._loss_ceiling: float | None = None

    def compile(self: TrainerT, loss: str | Loss, optimizer: str | Optimizer = "adam") -> TrainerT:
        """Choose the loss and the optimizer, by name or as objects; returns self.

        The loss and the last layer decide, once, what the model's outputs mean (its
        ``head``, see ``barenet.heads``): a final ``Softmax`` trained with
        ``CrossEntropy(from_logits=True)`` (or a final ``Sigmoid`` with
        ``BinaryCrossEntropy(from_logits=True)``) is fused into the loss, so training feeds the
        loss the scores before that layer and the gradient is the exact, stable
        ``(softmax - onehot) / N``. Predictions still pass through the layer.
        """
        self.loss = get_loss(loss)
        self.optimizer = get_optimizer(optimizer)
        return self

    def fit(
        self,
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
        initial_epoch: int = 0,
    ) -> History:
        """Train on (X, y) with mini-batch gradient descent.

        Args:
            epochs: passes over the data (or of ``steps_per_epoch`` batches).
            batch_size: samples per update; 1 is per-sample SGD, None is full-batch descent.
            validation_data: ``(X_val, y_val)`` evaluated after each epoch.
            validation_split: fraction of (X, y), taken from the end before shuffling, to hold
                out for validation when ``validation_data`` is not given.
            shuffle: visit the samples in a new random order each epoch.
            callbacks: objects whose hooks (``on_epoch_end(epoch, logs)``, ...) observe training.
            verbose: 1 prints one line per epoch; 0 is silent.
            seed: seeds shuffling and augmentation, and any Dropout made without a generator
                (as a loaded model's); the same seed and initial weights give the same run
                (where the engine shares each batch among threads, each shard draws its own
                Dropout masks: the same run for the same number of threads).
            steps_per_epoch: if given, each epoch is this many batches drawn at random (the
                tutorials' "rounds of 256 randomly drawn samples").
            augment: called as ``augment(X_batch, rng)`` on each training batch before it is
                converted, e.g. ``barenet.augment.RandomAffine()``; validation data is left as is.
            initial_epoch: the epoch to start from (Keras' convention: ``epochs`` is the last).
                On a model loaded from a checkpoint written after that many epochs, training
                goes on exactly as the run would have: its random generators, optimizer state
                and history come back (``seed`` is then not used).

        Shape:
            - X: ``(N, *input_shape)``, any numeric dtype (converted one batch at a time).
            - y: ``(N,)`` class ids or ``(N, C)`` targets.

        Returns:
            A ``History``; also kept as ``self.history``.

        Raises:
            TrainingDiverged: the loss became NaN or infinite, or grew a million-fold.
        """
        check_positive_int("fit", epochs=epochs)
        if steps_per_epoch is not None:
            check_positive_int("fit", steps_per_epoch=steps_per_epoch)
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise ValueError(f"fit expected batch_size >= 1 or None. Received: {batch_size!r}")
        if not 0 <= initial_epoch < epochs:
            raise ValueError(
                f"fit expected 0 <= initial_epoch < epochs={epochs}. Received: {initial_epoch!r}"
            )
        X, y, validation_data = self._fit_data(X, y, validation_data, validation_split)
        batch = len(X) if batch_size is None else min(batch_size, len(X))
        self.input_shape = X.shape[1:]
        rng, history = self._begin(seed, initial_epoch)
        callbacks = [*callbacks, *([ProgressLogger(epochs)] if verbose else [])]
        for callback in callbacks:
            callback.set_model(cast("Sequential", self))  # fit runs on a model
            callback.on_train_begin()
        with np.errstate(over="ignore", invalid="ignore"):  # divergence is caught per batch
            for epoch in range(initial_epoch, epochs):
                for callback in callbacks:
                    callback.on_epoch_begin(epoch)
                started = time.perf_counter()
                order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
                if steps_per_epoch is not None:
                    order = order[: steps_per_epoch * batch]
                logs = self._train_epoch(X, y, order, batch, epoch, rng, augment, callbacks)
                if validation_data is not None:
                    measured = self.evaluate(*validation_data)
                    logs |= {"val_loss": measured["loss"], "val_accuracy": measured["accuracy"]}
                logs["seconds"] = time.perf_counter() - started
                for callback in callbacks:
                    callback.on_epoch_end(epoch, logs)  # may add metrics to logs
                history.append(epoch, logs)
                if self.stop_training:
                    break
        for callback in callbacks:
            callback.on_train_end()
        return history

    def forward_backward(self, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Forward, loss and backward on one batch: sets every parameter's gradient
        ``grads[k] = dLoss/dparams[k]``; returns the mean loss and the scores (the outputs
        before a fused final layer, which the loss takes; see ``compile``).

        Shape:
            - X: ``(N, *input_shape)`` in the model's dtype; y: ``(N,)`` or ``(N, C)``.
            - Returns the mean loss (a float) and the scores ``(N, C)``.
        """
        assert self.loss is not None
        scores = self.forward(X, training=True, logits=True)  # forward
        loss = self.loss.forward(scores, y)  # loss
        self.backward(self.loss.backward(), logits=True)  # backward
        return loss, scores

    def _begin(self, seed: int | None, initial_epoch: int) -> tuple[np.random.Generator, History]:
        """The run's generator and history: new ones, or those of the checkpoint resumed."""
        self.stop_training = False
        if initial_epoch and self.training_state is not None:
            rng = self._resume(initial_epoch)
        else:
            rng = np.random.default_rng(seed)
            self._loss_ceiling = None  # set from the first batch's loss
            if seed is not None:
                self.seed_generators(seed)
        self._fit_rng = rng
        history = self.history  # a resumed run goes on with the history it had
        if history is None or not 0 < initial_epoch == len(history.epoch):
            history = History()
        self.history = history
        return rng, history

    def random_generators(self) -> dict[str, np.random.Generator]:
        """The generators the model's layers draw from in training (Dropout's), by name."""
        return {}

    def seed_generators(self, seed: int) -> None:
        """Seed, from ``seed``, the layers' generators that were made without one."""

    def capture_training_state(self) -> dict[str, Any]:
        """Where this run stands between two epochs, as JSON: epochs done, the states of fit's
        generator and of the layers', and the divergence ceiling. With the weights, optimizer
        state and history, it is everything ``fit(initial_epoch=...)`` needs to go on."""
        if self._fit_rng is None:
            raise ValueError("capture_training_state() is for a model that fit() has trained.")
        return {
            "epoch": len(self.history.epoch) if self.history else 0,
            "rng": self._fit_rng.bit_generator.state,
            "generators": {
                name: generator.bit_generator.state
                for name, generator in self.random_generators().items()
            },
            "loss_ceiling": self._loss_ceiling,
        }

    def _resume(self, initial_epoch: int) -> np.random.Generator:
        """Put back the random state of a checkpoint; fit's generator."""
        state = self.training_state
        assert state is not None
        if state.get("epoch") != initial_epoch:
            raise ValueError(
                f"This model's checkpoint was written after epoch {state.get('epoch')}; resume "
                f"with initial_epoch={state.get('epoch')}. Received: {initial_epoch}"
            )
        generators = self.random_generators()
        if set(state["generators"]) != set(generators):
            raise ValueError("The checkpoint's random generators do not match the model's.")
        for name, generator in generators.items():
            generator.bit_generator.state = state["generators"][name]
        rng = np.random.default_rng()
        rng.bit_generator.state = state["rng"]
        self._loss_ceiling = state.get("loss_ceiling")
        return rng

    def _fit_data(
        self,
        X: np.ndarray,
        y: np.ndarray,
        validation_data: tuple[np.ndarray, np.ndarray] | None,
        validation_split: float,
    ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        """Check the training data against the model and split off the validation part."""
        if self.loss is None or self.optimizer is None:
            raise ValueError("fit() needs a loss and an optimizer: call model.compile(...) first.")
        X, y = check_inputs(X), np.asarray(y)
        check_lengths(X, y)
        if len(X) == 0:
            raise ValueError("fit() received no samples (X has length 0).")
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"validation_split must be in [0, 1). Received: {validation_split!r}")
        if validation_data is None and validation_split > 0:
            held_out = max(1, int(len(X) * validation_split))
            validation_data = (X[-held_out:], y[-held_out:])
            X, y = X[:-held_out], y[:-held_out]
        outputs = self.output_size(X.shape[1:])  # and X's shape fits the layers
        self.loss.check_labels(y, outputs)
        if validation_data is not None:
            X_val, y_val = check_inputs(validation_data[0]), np.asarray(validation_data[1])
            check_lengths(X_val, y_val)
            self.loss.check_labels(y_val, self.output_size(X_val.shape[1:]))
            validation_data = (X_val, y_val)
        return X, y, validation_data

    def _train_epoch(
        self,
        X: np.ndarray,
        y: np.ndarray,
        order: np.ndarray,
        batch: int,
        epoch: int,
        rng: np.random.Generator,
        augment: Augmentation | None,
        callbacks: Sequence[Callback],
    ) -> dict[str, float]:
        """One pass over the samples in ``order``, ``batch`` at a time; the epoch's mean loss
        and accuracy."""
        assert self.loss is not None and self.optimizer is not None
        last_good = self.get_weights()
        loss_sum, correct = 0.0, 0
        for index, start in enumerate(range(0, len(order), batch)):
            rows = order[start : start + batch]
            X_batch, y_batch = X[rows], y[rows]
            if augment is not None:
                X_batch = augment(X_batch, rng)
            # Forward, loss and backward: every parameter's gradient for this batch.
            loss, scores = self.forward_backward(self.as_batch(X_batch), y_batch)
            if self._loss_ceiling is None:
                self._loss_ceiling = BLOW_UP * max(loss, 1.0)
            if not math.isfinite(loss) or loss > self._loss_ceiling:
                raise self._diverged(epoch, index, loss, last_good)
            # Step: the optimizer moves each parameter against its gradient.
            parameters = list(self.parameters())
            self.optimizer.step([p for _, p, _ in parameters], [g for _, _, g in parameters])
            # Metrics.
            loss_sum += loss * len(rows)
            correct += count_correct(scores, y_batch, self.head.threshold)
            for callback in callbacks:
                callback.on_batch_end(index, {"loss": loss_sum / (start + len(rows))})
        return {"loss": loss_sum / len(order), "accuracy": correct / len(order)}

    def _diverged(
        self, epoch: int, step: int, loss: float, last_good: list[np.ndarray]
    ) -> TrainingDiverged:
        """Roll back to the epoch's start if a weight is no longer finite; the error to raise."""
        assert self.optimizer is not None
        if not all(np.isfinite(param).all() for _, param, _ in self.parameters()):
            self.set_weights(last_good)
        return TrainingDiverged(
            f"Training diverged in epoch {epoch + 1}, batch {step + 1}: the loss became {loss:g}. "
            f"Try a smaller learning rate (it was {self.optimizer.current_learning_rate():g}); "
            "the model keeps its last finite weights."
        )

    def evaluate(
        self, X: np.ndarray, y: np.ndarray, batch_size: int | None = None
    ) -> dict[str, float]:
        """Mean loss and accuracy over (X, y), computed in batches: ``{"loss", "accuracy"}``."""
        if self.loss is None:
            raise ValueError("evaluate() needs a loss: call model.compile(loss, optimizer) first.")
        X, y = check_inputs(X), np.asarray(y)
        check_lengths(X, y)
        if len(y) == 0:
            raise ValueError("evaluate() received no samples (X has length 0).")
        self.loss.check_labels(y, self.output_size(X.shape[1:]))
        threshold = self.head.threshold
        total_loss, correct = 0.0, 0
        for rows, batch in self.batches(X, batch_size):
            scores = self.forward(batch, logits=True)
            total_loss += self.loss.forward(scores, y[rows]) * len(scores)
            correct += count_correct(scores, y[rows], threshold)
        return {"loss": total_loss / len(X), "accuracy": correct / len(X)}

    # -- the model half, provided by a subclass (see Sequential) --------------------------------

    def forward(self, X: np.ndarray, training: bool = False, *, logits: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dY: np.ndarray, *, logits: bool = False) -> np.ndarray:
        raise NotImplementedError

    def parameters(self) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        raise NotImplementedError

    def get_weights(self) -> list[np.ndarray]:
        raise NotImplementedError

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        raise NotImplementedError

    def as_batch(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def batches(
        self, X: np.ndarray, batch_size: int | None = None
    ) -> Iterator[tuple[slice, np.ndarray]]:
        raise NotImplementedError

    def output_size(self, input_shape: tuple[int, ...] | None = None) -> int:
        raise NotImplementedError

    @property
    def head(self) -> Head:
        raise NotImplementedError


def check_inputs(X: np.ndarray) -> np.ndarray:
    """Return X as an array, or raise ValueError when it is not a batch ``(N, ...)``, not
    numeric or not finite."""
    X = np.asarray(X)
    if X.ndim < 2:
        raise ValueError(f"Expected X of shape (N, features...), got {X.shape}.")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise ValueError(f"Expected numeric X, got dtype {X.dtype}.")
    if np.issubdtype(X.dtype, np.inexact) and not np.isfinite(X).all():
        bad = int((~np.isfinite(X)).sum())
        raise ValueError(f"X contains {bad} NaN or infinite values; clean or impute them first.")
    return X


def check_lengths(X: np.ndarray, y: np.ndarray) -> None:
    """Raise ValueError unless X and y hold the same number of samples."""
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)} labels; they must match.")
