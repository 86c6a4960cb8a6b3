"""What every command shares: the consoles, JSON output, exit codes and a few messages."""

from __future__ import annotations

import json
import math
import signal
import threading
from typing import Any

import click
from rich.console import Console

from barenet.callbacks import Callback
from barenet.datasets import Dataset

INTERRUPTED = 130  # the shell's code for "stopped by Ctrl-C"
# Markup off: file names and messages are printed literally ("[red]x.png" stays as typed); the
# few styled lines ask for markup and escape what they interpolate.
# Soft wrap: a long line (a path, a prediction) is never broken in two when piped to a file.
stdout = Console(highlight=False, markup=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)


def unique_name(stem: str, suffix: str, taken: set[str]) -> str:
    """``stem + suffix``, or ``stem-2 + suffix`` and so on if that is ``taken``; added to it."""
    name, number = f"{stem}{suffix}", 1
    while name in taken:
        number += 1
        name = f"{stem}-{number}{suffix}"
    taken.add(name)
    return name


def emit_json(payload: Any) -> None:
    """Print ``payload`` as the only thing on standard output (for ``--json``); a NaN or an
    infinity becomes ``null``, since strict JSON parsers reject bare ``NaN``."""
    click.echo(json.dumps(_finite(payload), indent=2, allow_nan=False))


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def describe_data(data: Dataset, console: Console) -> None:
    """One line naming the data and its size, then any note its loader made."""
    console.print(
        f"Data: {data.source} ({len(data.x_train):,} train / {len(data.x_test):,} test images)"
    )
    for note in data.notes:
        console.print(f"Note: {note}")


class InterruptOnce(Callback):
    """Ctrl-C for a command that must not lose work. Pass it to training as a callback, after
    any ``TrainingCheckpoint``, so that it knows where training stands.

    The first Ctrl-C while the command may still stop raises KeyboardInterrupt: at once while
    data loads; during training, at the next safe point, the end of a batch or the start of
    the next epoch, once the checkpoint has kept the epoch that just finished (an epoch whose
    line was printed is never lost). Any later Ctrl-C, or one after training ended, only notes
    it; the command saves and then exits with 130.
    """

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.interruptible = True
        self.training = False
        self.previous: Any = None  # the SIGINT handler to put back

    def __enter__(self) -> InterruptOnce:
        if threading.current_thread() is threading.main_thread():  # only it gets signals
            self.previous = signal.signal(signal.SIGINT, self.handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.previous is not None:
            # Once interrupted, the command only has to exit (130): later presses are ignored.
            signal.signal(signal.SIGINT, signal.SIG_IGN if self.count else self.previous)

    def handle(self, signum: int, frame: object) -> None:
        self.count += 1
        if self.count == 1 and self.interruptible:
            if not self.training:
                raise KeyboardInterrupt
            return  # raised at the next safe point (see _stop_if_asked)
        stderr.print("Interrupted: saving what was trained first.")

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        self.training = True

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self._stop_if_asked()

    def on_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        self._stop_if_asked()

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        self.interruptible = self.training = False

    def _stop_if_asked(self) -> None:
        if self.count and self.interruptible:
            self.interruptible = False  # stop once; the command then saves what it has
            raise KeyboardInterrupt

    @property
    def interrupted(self) -> bool:
        return self.count > 0


def require_matplotlib() -> None:
    """Raise a one-line ClickException naming the extra to install when matplotlib is missing."""
    from barenet.report.plots import INSTALL_HINT

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise click.ClickException(INSTALL_HINT) from None
