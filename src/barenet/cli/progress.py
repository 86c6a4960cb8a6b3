"""Live training progress for the command line, drawn with rich on standard error.

Short runs get a bar per epoch (over its batches) and a summary line when each epoch ends. Long
runs of many tiny epochs (the tutorials' 350 full-batch iterations) get a single bar over epochs.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from barenet.callbacks import Callback, describe_epoch

PER_EPOCH_LIMIT = 30  # more epochs than this get one overall bar
REDRAWS_PER_EPOCH = 100  # update the bar at most this often: per-sample epochs have 60,000 steps


class RichProgress(Callback):
    """A progress bar with the running loss, and a line per finished epoch such as

    ``Epoch 3/10  train loss 0.1234  accuracy: train 96.50%, validation 97.10%  1.2 s``
    """

    def __init__(self, epochs: int, steps_per_epoch: int, console: Console) -> None:
        super().__init__()
        self.epochs, self.steps, self.console = epochs, steps_per_epoch, console
        self.per_epoch = epochs <= PER_EPOCH_LIMIT
        self.every = max(1, steps_per_epoch // REDRAWS_PER_EPOCH)
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[metrics]}"),
            TimeElapsedColumn(),
            console=console,
            transient=self.per_epoch,
        )
        self.task: Any = None

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        if self.console.is_terminal:  # a live bar only where one can be drawn (not in a log)
            self.progress.start()
        if not self.per_epoch:
            self.task = self.progress.add_task("Epochs", total=self.epochs, metrics="")

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        if self.per_epoch:
            description = f"Epoch {epoch + 1}/{self.epochs}"
            self.task = self.progress.add_task(description, total=self.steps, metrics="")

    def on_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        if self.per_epoch and (batch + 1) % self.every == 0:
            metrics = f"loss {logs['loss']:.4f}" if logs else ""
            self.progress.update(self.task, completed=batch + 1, metrics=metrics)

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        logs = logs or {}
        if self.per_epoch:
            self.progress.remove_task(self.task)
            seconds = logs.get("seconds", 0.0)
            self.console.print(
                f"Epoch {epoch + 1}/{self.epochs}  {describe_epoch(logs)}  {seconds:.1f} s"
            )
        else:
            self.progress.update(self.task, completed=epoch + 1, metrics=describe_epoch(logs))
            if not self.console.is_terminal and (epoch + 1) % max(1, self.epochs // 10) == 0:
                self.console.print(f"Epoch {epoch + 1}/{self.epochs}  {describe_epoch(logs)}")

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        self.close()

    def close(self) -> None:
        """Stop drawing (also after Ctrl-C, when on_train_end is never called)."""
        if self.progress.live.is_started:  # stopping a bar never started would print its frame
            self.progress.stop()
