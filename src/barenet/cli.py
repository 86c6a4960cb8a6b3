"""The ``barenet`` command: train, evaluate, predict, experiment, presets.

This module only wires things together and renders them; the work happens in the library.
Errors a user can cause become one line on stderr and exit code 1; Ctrl-C during training keeps
what was trained and exits with 130.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console
from rich.table import Column, Table

from barenet import __version__
from barenet.atomic import atomic_write_text
from barenet.datasets import load_data
from barenet.errors import DataError, ImageError
from barenet.presets import DEFAULT_PRESET, PRESETS, get_preset
from barenet.recipe import (
    TrainConfig,
    TrainedRun,
    describe_architecture,
    parse_widths,
    steps_per_epoch,
    train,
)
from barenet.saving import ModelFileError
from barenet.training import TrainingDiverged

USER_ERRORS = (ValueError, OSError, DataError, ImageError, ModelFileError, TrainingDiverged)
INTERRUPTED = 130  # the shell's code for "stopped by Ctrl-C"
stdout = Console(highlight=False)
stderr = Console(stderr=True, highlight=False)


class FriendlyGroup(click.Group):
    """Turns the library's exceptions into click's one-line ``Error: ...`` and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as error:
            raise click.ClickException(str(error)) from None


def emit_json(payload: Any) -> None:
    click.echo(json.dumps(payload, indent=2))


@click.group(cls=FriendlyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="barenet")
def cli() -> None:
    """barenet: neural networks from scratch in NumPy, on MNIST digits and your own."""


# -- training options, shared by train and experiment -------------------------------------------


def parse_layers(_ctx: Any, _param: Any, value: str | None) -> list[int] | None:
    if value is None:
        return None
    try:
        return parse_widths(value)
    except ValueError:
        raise click.BadParameter(f"expected widths like 784,128,64,10, got {value!r}") from None


def parse_batch_size(_ctx: Any, _param: Any, value: str | None) -> int | str | None:
    if value is None:
        return None
    if value.lower() in ("full", "0"):
        return "full"
    try:
        return int(value)
    except ValueError:
        raise click.BadParameter(f"expected a number or 'full', got {value!r}") from None


TRAINING_OPTIONS: list[Callable[[Any], Any]] = [
    click.option(
        "--preset",
        default=None,
        help=f"Start from a named set-up (default {DEFAULT_PRESET}); see `barenet presets`.",
    ),
    click.option(
        "--layers", callback=parse_layers, help="Layer widths, input to output, e.g. 784,128,64,10."
    ),
    click.option(
        "--conv",
        callback=parse_layers,
        help="Channels of convolution blocks before the dense layers, e.g. 32,64 ('' for none).",
    ),
    click.option("--kernel-size", type=int, help="Side of every convolution kernel."),
    click.option(
        "--batch-norm/--no-batch-norm",
        default=None,
        help="Batch normalization after each convolution and hidden dense layer.",
    ),
    click.option(
        "--augment/--no-augment",
        default=None,
        help="Randomly shift, rotate and scale the training images.",
    ),
    click.option("--activation", help="Hidden activation: relu, leaky_relu, tanh, sigmoid."),
    click.option(
        "--output",
        type=click.Choice(["softmax", "sigmoid", "tanh", "none"]),
        help="Output activation.",
    ),
    click.option("--loss", type=click.Choice(["cross_entropy", "mse"]), help="Loss function."),
    click.option(
        "--optimizer",
        type=click.Choice(["sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop"]),
        help="Optimizer.",
    ),
    click.option("--learning-rate", type=float, help="Step size."),
    click.option(
        "--schedule", type=click.Choice(["constant", "cosine"]), help="Learning-rate schedule."
    ),
    click.option("--epochs", type=int, help="Passes over the training data."),
    click.option(
        "--batch-size",
        callback=parse_batch_size,
        help="Samples per update: 1 = per sample, 'full' = full batch.",
    ),
    click.option("--init", help="Weight initializer: he, xavier, lecun, uniform, normal."),
    click.option("--dropout", type=float, help="Dropout rate after each hidden layer."),
    click.option("--weight-decay", type=float, help="Weight decay (decoupled for adamw)."),
    click.option("--seed", type=int, help="Random seed: same seed, same run."),
    click.option(
        "--data",
        "data_path",
        type=click.Path(),
        help="IDX folder, Keras .npz or CSV (default: the shipped MNIST).",
    ),
    click.option("--train-limit", type=int, help="Train on the first N images only."),
    click.option(
        "--validation-split",
        type=float,
        help="Fraction of training images held out for validation.",
    ),
]


def training_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(TRAINING_OPTIONS):
        command = option(command)
    return command


def config_from_options(preset: str | None, options: dict[str, Any]) -> TrainConfig:
    """The preset's config with every option the user gave applied on top."""
    config = get_preset(preset or DEFAULT_PRESET).config
    changes = {key: value for key, value in options.items() if value is not None}
    if changes.get("batch_size") == "full":
        changes["batch_size"] = None
    config = config.replace(**changes)
    config.validate()
    return config


def describe_data(data: Any, console: Console) -> None:
    console.print(
        f"Data: {data.source} ({len(data.x_train):,} train / {len(data.x_test):,} test images)"
    )
    for note in data.notes:
        console.print(f"Note: {note}")


def run_with_progress(
    config: TrainConfig, data: Any, console: Console, preset: str | None
) -> TrainedRun:
    from barenet.progress import RichProgress

    steps = steps_per_epoch(config, len(data.x_train))
    progress = RichProgress(config.epochs, steps, console)
    try:
        return train(config, data, callbacks=[progress], preset=preset)
    finally:
        progress.close()


# -- commands -----------------------------------------------------------------------------------


@cli.command("train")
@training_options
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Where to save the model (default: <preset>.npz).",
)
@click.option("--json", "as_json", is_flag=True, help="Print only JSON on stdout.")
@click.option(
    "--plot",
    is_flag=False,
    flag_value="",
    type=click.Path(dir_okay=False),
    help="Save the learning curves as a PNG [FILE: beside the model, <model>.curves.png].",
)
def train_command(
    preset: str | None,
    data_path: str | None,
    out: str | None,
    as_json: bool,
    plot: str | None,
    **options: Any,
) -> None:
    """Train a network on MNIST (or --data) with a live progress bar, then save it."""
    if plot is not None:
        from barenet.cli_report import require_matplotlib

        require_matplotlib()  # before training, not after it
    config = config_from_options(preset, options)
    name = preset or DEFAULT_PRESET
    data = load_data(data_path).limit_train(config.train_limit)
    describe_data(data, stderr)
    stderr.print(
        f"Training {name}: {describe_architecture(config)}, {config.optimizer}, "
        f"{config.epochs} epochs"
    )
    run = run_with_progress(config, data, stderr, name)
    model_path = run.model.save(out or f"{name}.npz")
    history_path = model_path.with_suffix(".history.json")
    history = run.model.history.history if run.model.history else {}
    atomic_write_text(history_path, json.dumps(history, indent=1))
    curves_path = None
    if plot is not None and history.get("loss"):
        from barenet.plots import learning_curves, save_png

        curves_path = save_png(
            learning_curves(history, f"Learning curves: {model_path.name}"),
            plot or model_path.with_suffix(".curves.png"),
        )
    if as_json:
        emit_json(
            {
                "model": str(model_path),
                "test_accuracy": run.test_accuracy,
                "test_loss": run.test_loss,
                "epochs": run.epochs,
                "train_seconds": run.train_seconds,
                "history": history,
                "interrupted": run.interrupted,
                **({"plot": str(curves_path)} if curves_path else {}),
            }
        )
    else:
        if run.interrupted:
            stdout.print(
                f"Interrupted after {run.epochs} complete epochs; keeping what was trained."
            )
        epochs = f"{run.epochs} epoch" + ("" if run.epochs == 1 else "s")
        stdout.print(
            f"Test accuracy {run.test_accuracy:.2%}  loss {run.test_loss:.4f}  "
            f"trained in {run.train_seconds:.1f} s ({epochs})"
        )
        stdout.print(f"Saved the model to {model_path} and its history to {history_path}")
        if curves_path:
            stdout.print(f"Saved the learning curves to {curves_path}")
    if run.interrupted:
        sys.exit(INTERRUPTED)


@cli.command("presets")
def presets_command() -> None:
    """List the named training set-ups."""
    longest = max(len(name) for name in PRESETS)
    table = Table(
        Column("preset", no_wrap=True, min_width=longest), "what it is", "tutorial reported"
    )
    for preset in PRESETS.values():
        name = f"{preset.name}\n(default)" if preset.name == DEFAULT_PRESET else preset.name
        table.add_row(name, preset.description, preset.reported or "-")
    stdout.print(table)


def main() -> None:
    """Entry point of the ``barenet`` console script."""
    cli()


# These commands live in their own modules, which import this one, so they are attached last.
from barenet.cli_experiment import experiment_command  # noqa: E402
from barenet.cli_inspect import evaluate_command, predict_command  # noqa: E402
from barenet.cli_report import report_command  # noqa: E402
from barenet.cli_serve import serve_command  # noqa: E402

for command in (
    evaluate_command,
    predict_command,
    experiment_command,
    report_command,
    serve_command,
):
    cli.add_command(command)
