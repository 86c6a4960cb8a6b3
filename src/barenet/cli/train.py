"""``barenet train``: train a network with a live progress bar, then save it and its history."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from barenet.atomic import atomic_open, check_writable
from barenet.callbacks import Callback, TrainingCheckpoint
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
    engine_option,
    json_option,
    plot_option,
    training_options,
)
from barenet.cli.progress import RichProgress
from barenet.datasets import Dataset
from barenet.digits.checkpoints import (
    checkpoint_metadata,
    checkpoint_path,
    read_checkpoint,
    resumed_model_path,
)
from barenet.digits.config import TrainConfig
from barenet.digits.data import load_digit_data
from barenet.digits.presets import DEFAULT_PRESET
from barenet.digits.recipe import TrainedRun, describe_architecture, steps_per_epoch, train
from barenet.digits.shipped import open_model
from barenet.model import Sequential
from barenet.saving import model_file_path

# By default a checkpoint follows every epoch, but no sooner than this after the last one:
# measured, saving after each of tutorial-tanh-mse's 500 short epochs made it 43% slower.
CHECKPOINT_SECONDS = 30.0


def run_with_progress(
    config: TrainConfig,
    data: Dataset,
    console: Console,
    preset: str | None,
    callbacks: Sequence[Callback] = (),
    **start: Sequential | None,
) -> TrainedRun:
    """Train ``config`` on ``data`` while drawing its progress on ``console``; ``start`` is
    ``resume=`` or ``init_from=`` (see ``recipe.train``)."""
    progress = RichProgress(config.epochs, steps_per_epoch(config, len(data.x_train)), console)
    try:
        return train(config, data, callbacks=[progress, *callbacks], preset=preset, **start)
    finally:
        progress.close()


def written_files(out: str, plot: str | None) -> list[Path]:
    """Every file a run writes: its model, history and checkpoint, and with --plot its curves
    (``--plot`` alone: ``model.curves.png``)."""
    model_path = model_file_path(out)
    files = [model_path, model_path.with_suffix(".history.json"), checkpoint_path(out)]
    if plot is not None:
        files.append(Path(plot) if plot else model_path.with_suffix(".curves.png"))
    return files


@click.command("train")
@training_options
@engine_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Where to save the model (default: <preset>.npz).",
)
@click.option(
    "--checkpoint-every",
    type=click.IntRange(min=1),
    metavar="N",
    help="Save a checkpoint beside --out every N epochs, to --resume after Ctrl-C or a crash "
    f"[default: every epoch, at most one per {CHECKPOINT_SECONDS:.0f} s].",
)
@click.option(
    "--resume",
    "resume_path",
    type=click.Path(dir_okay=False),
    metavar="CHECKPOINT",
    help="Go on with the run a checkpoint stopped, exactly as if it had never stopped.",
)
@click.option(
    "--init-from",
    "init_path",
    metavar="MODEL",
    help="Start from a trained model's weights (fine-tuning); its history is kept before ours.",
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
    checkpoint_every: int | None,
    resume_path: str | None,
    init_path: str | None,
    test_elsewhere: bool,
    as_json: bool,
    plot: str | None,
    **options: Any,
) -> None:
    """Train a network on MNIST (or --data) and save it.

    Prints a line per epoch, the test accuracy, and where the model and its history went.
    """
    if plot is not None:
        require_matplotlib()  # before training, not after it
    if resume_path:
        setup = resumed_setup(resume_path, preset, options, init_path, test_elsewhere)
        data_path = data_path or setup.data_path
    else:
        setup = new_setup(preset, options, init_path, test_elsewhere)
    config, name, start = setup.config, setup.name, setup.start
    test_elsewhere = setup.test_elsewhere
    out = out or setup.out or f"{name}.npz"
    for path in written_files(out, plot):  # each must be writable before training starts
        check_writable(path)
    with InterruptOnce() as interrupts:
        # train() applies --train-limit
        data = load_digit_data(data_path, test_elsewhere=test_elsewhere)
        describe_data(data, stderr)
        check_same_data(start, data)
        _announce(config, name, start)
        checkpoint = _checkpoint(setup, out, checkpoint_every, data_path, data)
        saving = [checkpoint] if checkpoint else []
        # The checkpoint first: it keeps a finished epoch before Ctrl-C stops the next one.
        run = run_with_progress(config, data, stderr, name, [*saving, interrupts], **start)
        interrupts.interruptible = False  # from here on, Ctrl-C waits for the files
        if checkpoint and run.interrupted:
            checkpoint.save_finished_epoch()  # first: the run can go on even if a save fails
        model_path, history_path, curves_path = _save(run, out, plot)
        if checkpoint:
            _tidy_checkpoint(run, checkpoint, resume_path)
        if as_json:
            history = run.model.history.history if run.model.history else {}
            emit_json(_summary(run, model_path, history, curves_path))
        else:
            _print_summary(run, model_path, history_path, curves_path)
    if run.interrupted or interrupts.interrupted:
        sys.exit(INTERRUPTED)


@dataclass
class Setup:
    """What a run trains: its options, its name, how its model starts (``resume=`` or
    ``init_from=``, for ``recipe.train``), and for a resumed run its data and where it saves."""

    config: TrainConfig
    name: str
    start: dict[str, Sequential]
    test_elsewhere: bool
    data_path: str | None = None
    out: str | None = None


def new_setup(
    preset: str | None, options: dict[str, Any], init_path: str | None, test_elsewhere: bool
) -> Setup:
    config = config_from_options(preset, options)
    start = {"init_from": open_model(init_path)[0]} if init_path else {}
    return Setup(config, preset or DEFAULT_PRESET, start, test_elsewhere)


def resumed_setup(
    path: str,
    preset: str | None,
    options: dict[str, Any],
    init_path: str | None,
    test_elsewhere: bool,
) -> Setup:
    """A checkpoint's run, set up as it was: its options and data come from the file, checked;
    it saves beside the checkpoint (whatever the file says), unless --out says otherwise."""
    given = [key for key, value in options.items() if value not in (None, ())]
    if preset or given or init_path or test_elsewhere:
        extra = ["--preset"] * bool(preset) + [f"--{key.replace('_', '-')}" for key in given]
        extra += ["--init-from"] * bool(init_path) + ["--no-test-split"] * test_elsewhere
        raise click.UsageError(
            f"--resume goes on with the run as it was set up; drop {', '.join(extra)}."
        )
    checkpoint = read_checkpoint(path)
    return Setup(
        checkpoint.config,
        checkpoint.preset,
        {"resume": checkpoint.model},
        checkpoint.test_elsewhere,
        checkpoint.data_path,
        str(resumed_model_path(path)),
    )


def check_same_data(start: dict[str, Sequential], data: Dataset) -> None:
    """A resumed run must see the very data it started on (compared by SHA256)."""
    if "resume" not in start:
        return
    expected = (start["resume"].metadata.get("data") or {}).get("sha256")
    if expected != data.checksum():
        raise ValueError(
            f"{data.source} is not the data this run started on (its SHA256 differs); pass "
            "--data with the same data to resume."
        )


def _announce(config: TrainConfig, name: str, start: dict[str, Sequential]) -> None:
    images = f", on the first {config.train_limit:,} images" if config.train_limit else ""
    begun = ""
    if "resume" in start:
        state = start["resume"].training_state or {}
        begun = f", resumed after epoch {state.get('epoch')}"
    elif "init_from" in start:
        begun = ", starting from a trained model's weights"
    stderr.print(
        f"Training {name}: {describe_architecture(config)}, {config.optimizer}, "
        f"{config.epochs} epoch{'s' * (config.epochs != 1)}{images}{begun}"
    )


def _checkpoint(
    setup: Setup, out: str, every: int | None, data_path: str | None, data: Dataset
) -> TrainingCheckpoint | None:
    """The run's checkpoints beside ``out``, with what ``--resume`` needs to set it up again;
    None for a --quirk run, which trains with Python-function layers that no file holds."""
    if "resume" not in setup.start:  # a checkpoint left by an earlier run is not this run's
        checkpoint_path(out).unlink(missing_ok=True)
    if setup.config.quirks:
        stderr.print("No checkpoints: a --quirk run trains with Python-function layers.")
        return None
    metadata = checkpoint_metadata(setup.name, setup.config, data_path, data)
    if every is None:  # every epoch, unless epochs are short: then every CHECKPOINT_SECONDS
        return TrainingCheckpoint(checkpoint_path(out), 1, metadata, CHECKPOINT_SECONDS)
    return TrainingCheckpoint(checkpoint_path(out), every, metadata)


def _tidy_checkpoint(
    run: TrainedRun, checkpoint: TrainingCheckpoint, resumed_from: str | None
) -> None:
    """A finished run's checkpoint is the model itself: removed. An interrupted run keeps its
    last finished epoch (``save_finished_epoch`` wrote it), and says how to go on."""
    if not run.interrupted:
        checkpoint.path.unlink(missing_ok=True)
    elif checkpoint.saved_epoch is not None:
        stderr.print(
            f"Checkpoint after epoch {checkpoint.saved_epoch}: go on with "
            f"barenet train --resume {checkpoint.path}"
        )
    elif resumed_from:  # stopped again before it finished an epoch of its own
        stderr.print(f"No new epoch finished: go on with barenet train --resume {resumed_from}")
    else:
        stderr.print(
            "Interrupted during the first epoch: no epoch has finished, so there is nothing to "
            "resume yet; run the command again to start over."
        )


def _save(run: TrainedRun, out: str, plot: str | None) -> tuple[Path, Path, Path | None]:
    """Save the model, its history and (with --plot) its learning curves; their paths.

    The history is written first but put in place last, so a disk that fills up leaves the old
    model and the old history together, never a new model beside an old history.
    """
    history = run.model.history.history if run.model.history else {}
    _, history_path, _, *curves = written_files(out, plot)  # curves: [the PNG] with --plot
    with atomic_open(history_path, "w") as handle:
        handle.write(json.dumps(history, indent=1))
        handle.flush()  # a full disk shows here, before the model is replaced
        model_path = run.model.save(out, include_optimizer=False)  # its state: in checkpoints
    curves_path = None
    if curves and history.get("loss"):
        from barenet.report.plots import learning_curves, save_png

        final_test = {"loss": run.test_loss, "accuracy": run.test_accuracy}
        figure = learning_curves(history, f"Learning curves: {model_path.name}", final_test)
        curves_path = save_png(figure, curves[0])
    return model_path, history_path, curves_path


def _summary(
    run: TrainedRun, model_path: Path, history: dict[str, Any], curves_path: Path | None
) -> dict[str, Any]:
    """What ``--json`` prints: stable keys, documented in docs/cli.md."""
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
