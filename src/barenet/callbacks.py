"""Callbacks: objects that watch training through Keras-named hooks and may ask it to stop.

``fit`` calls, in order: ``on_train_begin()``, then per epoch ``on_epoch_begin(epoch)``,
``on_batch_end(batch, logs)`` after each update, ``on_epoch_end(epoch, logs)``, and finally
``on_train_end()``. A callback stops training by setting ``model.stop_training = True``.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from barenet.saving import write_model_file

if TYPE_CHECKING:
    from barenet.model import Sequential


class History:
    """Per-epoch metrics: ``history.history["loss"][e]`` is the training loss of epoch ``e``.

    ``fit`` fills one and returns it; it is also kept as ``model.history`` and saved with the
    model.
    """

    def __init__(self, history: dict[str, list[float | None]] | None = None) -> None:
        self.history: dict[str, list[float | None]] = dict(history or {})
        self.epoch: list[int] = list(range(len(next(iter(self.history.values()), []))))

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        """Record one epoch; every list stays aligned with ``epoch`` (None where not measured)."""
        for key in logs:
            if key not in self.history:
                self.history[key] = [None] * len(self.epoch)
        self.epoch.append(epoch)
        for key, values in self.history.items():
            values.append(logs.get(key))

    @classmethod
    def joined(cls, first: History, then: History) -> History:
        """The epochs of ``first``, then those of ``then`` (a fine-tuning run after its start)."""
        joined = cls()
        for history in (first, then):
            for index in range(len(history.epoch)):
                logs = {key: values[index] for key, values in history.history.items()}
                joined.append(len(joined.epoch), {k: v for k, v in logs.items() if v is not None})
        return joined

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"


class Callback:
    """Base class with no-op hooks; ``self.model`` is set before training starts."""

    def __init__(self) -> None:
        self.model: Sequential | None = None

    def set_model(self, model: Sequential) -> None:
        self.model = model

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None: ...

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None: ...

    def on_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None: ...

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None: ...

    def on_train_end(self, logs: dict[str, float] | None = None) -> None: ...


def _monitored(logs: dict[str, float] | None, monitor: str) -> float:
    if not logs or monitor not in logs:
        available = ", ".join(sorted(logs or {})) or "none"
        raise ValueError(
            f"Cannot monitor {monitor!r}: the epoch logs have {available}. Pass validation data "
            "to fit() to get val_loss and val_accuracy."
        )
    return logs[monitor]


class _Improvement:
    """Tracks the best value of a metric; lower is better unless the metric is an accuracy."""

    def __init__(self, monitor: str, mode: str, min_delta: float) -> None:
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max'. Received: mode={mode!r}")
        self.sign = -1.0 if mode == "max" or (mode == "auto" and "acc" in monitor) else 1.0
        self.min_delta = abs(min_delta)
        self.best = np.inf

    def update(self, value: float) -> bool:
        """Record ``value``; True when it beats the best so far by more than ``min_delta``."""
        improved = self.sign * value < self.best - self.min_delta
        if improved:
            self.best = self.sign * value
        return bool(improved)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs.

    Args:
        monitor: a key of the epoch logs, e.g. ``"val_loss"`` or ``"val_accuracy"``.
        patience: epochs without improvement to allow before stopping.
        min_delta: the smallest change that counts as an improvement.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (max for accuracies, min otherwise).
        restore_best_weights: at the end of training, put back the weights of the best epoch.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 0,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = True,
    ) -> None:
        super().__init__()
        if patience < 0:
            raise ValueError(f"patience must be >= 0. Received: patience={patience!r}")
        self.monitor, self.patience, self.mode = monitor, patience, mode
        self.min_delta = min_delta
        self.restore_best_weights = restore_best_weights
        self.stopped_epoch: int | None = None
        self.best_epoch: int | None = None

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        self._tracker = _Improvement(self.monitor, self.mode, self.min_delta)
        self._wait = 0
        self._best_weights: list[np.ndarray] | None = None
        self.stopped_epoch = self.best_epoch = None

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        assert self.model is not None
        if self._tracker.update(_monitored(logs, self.monitor)):
            self._wait, self.best_epoch = 0, epoch
            if self.restore_best_weights:
                self._best_weights = self.model.get_weights()
            return
        self._wait += 1
        if self._wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        if self.restore_best_weights and self._best_weights is not None and self.model:
            self.model.set_weights(self._best_weights)

    def __repr__(self) -> str:
        return f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience})"


class ModelCheckpoint(Callback):
    """Save the model to ``path`` after each epoch, or only when ``monitor`` improves."""

    def __init__(
        self,
        path: str | Path,
        monitor: str = "val_loss",
        save_best_only: bool = True,
        mode: str = "auto",
    ) -> None:
        super().__init__()
        self.path, self.monitor, self.save_best_only = Path(path), monitor, save_best_only
        self.mode = mode

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        self._tracker = _Improvement(self.monitor, self.mode, 0.0)

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        assert self.model is not None
        if not self.save_best_only or self._tracker.update(_monitored(logs, self.monitor)):
            self.model.save(self.path, metadata={"checkpoint_epoch": epoch + 1, **(logs or {})})


class TrainingCheckpoint(Callback):
    """Save all that a run needs to go on to ``path``, atomically, every ``every`` epochs and
    when training ends: weights and buffers, the optimizer and its state, the history, and the
    state of every random generator (``capture_training_state``).

    It saves between two epochs (as the next one begins), never in the middle of one, so that
    ``load_model(path).fit(..., initial_epoch=model.training_state["epoch"])`` goes on exactly
    as the run would have, interrupted or not. ``metadata`` is saved with it. With
    ``min_seconds``, a save is skipped until that long has passed since the last one (runs of
    hundreds of tiny epochs would otherwise spend a third of their time saving).

    A finished epoch that was not saved (it was not the ``every``-th, or came too soon) is kept
    in memory instead, and ``save_finished_epoch`` writes it: call it when training stops early
    (Ctrl-C), so that the last finished epoch is never lost.
    """

    def __init__(
        self,
        path: str | Path,
        every: int = 1,
        metadata: dict[str, Any] | None = None,
        min_seconds: float = 0.0,
    ) -> None:
        super().__init__()
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"TrainingCheckpoint expected every >= 1. Received: {every!r}")
        self.path, self.every, self.metadata = Path(path), every, metadata or {}
        self.min_seconds = float(min_seconds)
        self._first: int | None = None
        self._last_save = 0.0
        self.saved_epoch: int | None = None  # epochs done at the last save
        # The last finished epoch not yet saved: its epoch count, arrays and description.
        self._unsaved: tuple[int, dict[str, np.ndarray], dict[str, Any]] | None = None

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        if self._first is None:
            self._first = epoch  # where this fit() started: nothing new to save yet
            self._last_save = time.monotonic()
        elif epoch % self.every == 0 and time.monotonic() - self._last_save >= self.min_seconds:
            self.save()
        else:
            self._keep_unsaved()

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        self.save()

    def save(self) -> None:
        """Write the checkpoint now (call it between epochs)."""
        assert self.model is not None
        state = self.model.capture_training_state()
        self.model.save(self.path, metadata=self.metadata, training_state=state)
        self.saved_epoch = state["epoch"]
        self._last_save = time.monotonic()
        self._unsaved = None

    def save_finished_epoch(self) -> int | None:
        """After an early stop, write the last finished epoch that was kept in memory instead of
        saved (if any); the epochs that this callback's checkpoint on disk now holds (None: it
        wrote none, as when no epoch finished in this ``fit``)."""
        if self._unsaved is not None:
            epoch, arrays, description = self._unsaved
            write_model_file(self.path, arrays, description)
            self.saved_epoch, self._unsaved = epoch, None
        return self.saved_epoch

    def _keep_unsaved(self) -> None:
        """Copy what a save would write now, to write it later if training stops early."""
        assert self.model is not None
        state = self.model.capture_training_state()
        metadata = {**self.model.metadata, **self.metadata}
        arrays, description = self.model.file_contents(metadata, training_state=state)
        copies = {name: array.copy() for name, array in arrays.items()}
        self._unsaved = (state["epoch"], copies, copy.deepcopy(description))


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch: ``lr = schedule(epoch, lr)``."""

    def __init__(self, schedule: Callable[[int, float], float]) -> None:
        super().__init__()
        self.schedule = schedule

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        assert self.model is not None and self.model.optimizer is not None
        optimizer = self.model.optimizer
        learning_rate = float(self.schedule(epoch, optimizer.current_learning_rate()))
        if not learning_rate > 0:
            raise ValueError(f"Invalid learning rate: {learning_rate} (from the schedule)")
        optimizer.learning_rate = learning_rate


# The data an epoch's figures were measured on, by the prefix of their keys in the logs.
SPLITS = {"": "train", "val_": "validation", "test_": "test"}


def describe_epoch(logs: dict[str, float]) -> str:
    """An epoch's logs in words, each figure named by the data it was measured on.

    With held-out data: ``train loss 0.1234  accuracy: train 96.50%, validation 97.10%``.
    With none: ``train loss 0.1234  train accuracy 96.50%``. The held-out losses are left to
    the history, so that a line fits 80 columns; metrics that a callback added follow as
    ``name value``, and ``seconds`` is left to the caller.
    """
    accuracies = [
        (split, logs[prefix + "accuracy"])
        for prefix, split in SPLITS.items()
        if logs.get(prefix + "accuracy") is not None
    ]
    parts = [f"train loss {logs['loss']:.4f}"] if "loss" in logs else []
    if len(accuracies) == 1:
        split, value = accuracies[0]
        parts.append(f"{split} accuracy {value:.2%}")
    elif accuracies:
        parts.append(
            "accuracy: " + ", ".join(f"{split} {value:.2%}" for split, value in accuracies)
        )
    described = {prefix + metric for prefix in SPLITS for metric in ("loss", "accuracy")}
    described.add("seconds")
    parts += [f"{key} {value:.4f}" for key, value in logs.items() if key not in described]
    return "  ".join(parts)


class ProgressLogger(Callback):
    """Print one line per epoch, each figure named by the data it was measured on:

    ``Epoch 3/10  train loss 0.1234  accuracy: train 96.50%, validation 97.10%  1.2 s``
    """

    def __init__(self, epochs: int, print_fn: Callable[[str], Any] = print) -> None:
        super().__init__()
        self.epochs, self.print_fn = epochs, print_fn

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        logs = logs or {}
        seconds = logs.get("seconds", 0.0)
        self.print_fn(f"Epoch {epoch + 1}/{self.epochs}  {describe_epoch(logs)}  {seconds:.1f} s")
