"""``barenet train``: train a network with a live progress bar, then save it and its history."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from barenet.atomic import atomic_open, check_writable
from barenet.callbacks import Callback
from barenet.cli.common import (
    INTERRUPTED,
    InterruptOnce,
    describe_data,
    emit_json,
    require_matplotlib,
    stderr,
    stdout,
)
from barenet.cli.options import (
    config_from_options,
    json_option,
    plot_option,
    training_options,
)
from barenet.cli.progress import RichProgress
from barenet.datasets import Dataset, load_data
from barenet.digits.config import TrainConfig
from barenet.digits.presets import DEFAULT_PRESET
from barenet.digits.recipe import TrainedRun, describe_architecture, steps_per_epoch, train
from barenet.saving import model_file_path


def run_with_progress(
    config: TrainConfig,
    data: Dataset,
    console: Console,
    preset: str | None,
    callbacks: Sequence[Callback] = (),
) -> TrainedRun:
    """Train ``config`` on ``data`` while drawing its progress on ``console``."""
    progress = RichProgress(config.epochs, steps_per_epoch(config, len(data.x_train)), console)
    try:
        return train(config, data, callbacks=[progress, *callbacks], preset=preset)
    finally:
        progress.close()


@click.command("train")
@training_options
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Where to save the model (default: <preset>.npz).",
)
@click.option(
    "--no-test-split",
    "test_elsewhere",
    is_flag=True,
    help="Train on every row of a labelled CSV whose test set is elsewhere (Kaggle's train.csv): "
    "nothing is held out, so there is no test accuracy.",
)
@json_option
@plot_option("", "Save the learning curves as a PNG [FILE: beside the model, <model>.curves.png].")
def train_command(
    preset: str | None,
    data_path: str | None,
    out: str | None,
    test_elsewhere: bool,
    as_json: bool,
    plot: str | None,
    **options: Any,
) -> None:
    """Train a network on MNIST (or --data) with a live progress bar, then save it."""
    if plot is not None:
        require_matplotlib()  # before training, not after it
    config = config_from_options(preset, options)
    name = preset or DEFAULT_PRESET
    out = out or f"{name}.npz"
    for path in (out, plot):  # where the results go must be writable before training starts
        if path:
            check_writable(path)
    with InterruptOnce() as interrupts:
        data = load_data(data_path, test_elsewhere=test_elsewhere)  # train() applies --train-limit
        describe_data(data, stderr)
        images = f", on the first {config.train_limit:,} images" if config.train_limit else ""
        stderr.print(
            f"Training {name}: {describe_architecture(config)}, {config.optimizer}, "
            f"{config.epochs} epochs{images}"
        )
        run = run_with_progress(config, data, stderr, name, [interrupts])
        interrupts.interruptible = False  # from here on, Ctrl-C waits for the files
        model_path, history_path, curves_path = _save(run, out, plot)
        if as_json:
            history = run.model.history.history if run.model.history else {}
            emit_json(_summary(run, model_path, history, curves_path))
        else:
            _print_summary(run, model_path, history_path, curves_path)
    if run.interrupted or interrupts.interrupted:
        sys.exit(INTERRUPTED)


def _save(run: TrainedRun, out: str, plot: str | None) -> tuple[Path, Path, Path | None]:
    """Save the model, its history and (with --plot) its learning curves; their paths.

    The history is written first but put in place last, so a disk that fills up leaves the old
    model and the old history together, never a new model beside an old history.
    """
    history = run.model.history.history if run.model.history else {}
    history_path = model_file_path(out).with_suffix(".history.json")
    with atomic_open(history_path, "w") as handle:
        handle.write(json.dumps(history, indent=1))
        handle.flush()  # a full disk shows here, before the model is replaced
        model_path = run.model.save(out)
    curves_path = None
    if plot is not None and history.get("loss"):
        from barenet.report.plots import learning_curves, save_png

        figure = learning_curves(history, f"Learning curves: {model_path.name}")
        curves_path = save_png(figure, plot or model_path.with_suffix(".curves.png"))
    return model_path, history_path, curves_path


def _summary(
    run: TrainedRun, model_path: Path, history: dict[str, Any], curves_path: Path | None
) -> dict[str, Any]:
    """What ``--json`` prints: stable keys, documented in the README."""
    return {
        "model": str(model_path),
        "test_accuracy": run.test_accuracy,
        "test_loss": run.test_loss,
        "epochs": run.epochs,
        "train_seconds": run.train_seconds,
        "history": history,
        "interrupted": run.interrupted,
        **({"plot": str(curves_path)} if curves_path else {}),
    }


def _print_summary(
    run: TrainedRun, model_path: Path, history_path: Path, curves_path: Path | None
) -> None:
    epochs = f"{run.epochs} epoch" + ("" if run.epochs == 1 else "s")
    if run.interrupted:
        stdout.print(f"Interrupted after {epochs}; keeping what was trained.")
    if run.test_accuracy is None or run.test_loss is None:
        history = run.model.history.history if run.model.history else {}
        checked = history.get("val_accuracy")
        scores = f"Validation accuracy {checked[-1]:.2%}  " if checked else ""
        stdout.print(
            f"No test set (--no-test-split).  {scores}trained in {run.train_seconds:.1f} s "
            f"({epochs})"
        )
    else:
        stdout.print(
            f"Test accuracy {run.test_accuracy:.2%}  loss {run.test_loss:.4f}  "
            f"trained in {run.train_seconds:.1f} s ({epochs})"
        )
    stdout.print(f"Saved the model to {model_path} and its history to {history_path}")
    if curves_path:
        stdout.print(f"Saved the learning curves to {curves_path}")
