"""Options shared by several commands. The choices of every named option are read from the
library's registries when the command runs, so a name added to a registry is accepted, and
listed in ``--help``, with no edit here."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click

from barenet import engine
from barenet.activations import ACTIVATIONS
from barenet.augment import NO_AUGMENTATION, augmentation_names
from barenet.digits.config import TrainConfig, output_names, parse_widths
from barenet.digits.presets import DEFAULT_PRESET, get_preset
from barenet.digits.quirks import QUIRKS
from barenet.digits.shipped import DEFAULT_MODEL, SHIPPED_MODELS
from barenet.initializers import INITIALIZERS
from barenet.losses import LOSSES
from barenet.optimizers import OPTIMIZERS
from barenet.schedules import SCHEDULES

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


class RegistryChoice(click.Choice):
    """A choice among names that are looked up each time they are needed (parsing, help,
    completion), so the names a registry holds when the command runs are the valid ones."""

    def __init__(self, names: Callable[[], Iterable[str]]) -> None:
        # click.Choice.__init__ would freeze the names into a tuple: keep the function instead.
        self.names = names
        self.case_sensitive = True

    @property
    def choices(self) -> Sequence[str]:  # type: ignore[override]
        return tuple(self.names())


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
    if value.lower() == "full":
        return "full"
    try:
        size = int(value)
    except ValueError:
        size = 0
    if size < 1:
        raise click.BadParameter(f"expected a positive number or 'full', got {value!r}")
    return size


def parse_quirks(_ctx: Any, _param: Any, value: tuple[str, ...]) -> list[str] | None:
    """Repeated ``--quirk`` options -> a list; none given -> None (keep the preset's)."""
    return list(value) or None


def data_option(purpose: str = "") -> Decorator:
    """``--data PATH``: where the digits come from (the shipped MNIST when omitted)."""
    return click.option(
        "--data",
        "data_path",
        type=click.Path(),
        help=f"IDX folder, Keras .npz, CSV or a folder of DIGIT/NAME.png{purpose} "
        "(default: the shipped MNIST).",
    )


MODEL_HELP = (
    f"Model: a shipped one ({', '.join(SHIPPED_MODELS)}; default {DEFAULT_MODEL}) or a model file."
)
model_option = click.option("--model", "model_path", help=MODEL_HELP)
json_option = click.option("--json", "as_json", is_flag=True, help="Print only JSON on stdout.")


def plot_option(default_file: str, help_text: str) -> Decorator:
    """``--plot [FILE]``: save a chart; ``--plot`` alone gives ``default_file`` ("" lets the
    command choose a name beside its output)."""
    return click.option(
        "--plot", is_flag=False, flag_value=default_file, type=click.Path(dir_okay=False),
        help=help_text,
    )  # fmt: skip


def use_engine(_ctx: Any, _param: Any, value: str | None) -> str | None:
    """Switch to the chosen engine at once; a missing compiler is a one-line error."""
    if value is None:
        return None
    try:
        engine.use(value, threads=engine.threads())
    except ImportError as error:
        raise click.ClickException(str(error)) from None
    return value


engine_option = click.option(
    "--engine",
    type=click.Choice(list(engine.ENGINES)),
    default=None,
    expose_value=False,
    callback=use_engine,
    help="What computes the formulas: 'reference' (the textbook's NumPy code alone), 'numpy' "
    "(with the engine's NumPy techniques) or 'numba' (and compiled kernels, the fast extra); "
    "the same numbers but for rounding. Default: the fastest installed.",
)


TRAINING_OPTIONS: list[Decorator] = [
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
        "--convs-per-block", type=int, help="Convolutions in each block, before its pooling."
    ),
    click.option(
        "--batch-norm/--no-batch-norm",
        default=None,
        help="Batch normalization after each convolution and hidden dense layer.",
    ),
    click.option(
        "--augment",
        type=RegistryChoice(augmentation_names),
        is_flag=False,
        flag_value="affine",
        help="Move the training images' pixels at random: affine (shifts, rotations, "
        "scalings; the default of a bare --augment), elastic (Simard's elastic distortions), "
        "both, or none.",
    ),
    click.option("--no-augment", is_flag=True, default=None, hidden=True),  # = --augment none
    click.option("--activation", type=RegistryChoice(ACTIVATIONS.keys), help="Hidden activation."),
    click.option("--output", type=RegistryChoice(output_names), help="Output activation."),
    click.option("--loss", type=RegistryChoice(LOSSES.keys), help="Loss function."),
    click.option("--optimizer", type=RegistryChoice(OPTIMIZERS.keys), help="Optimizer."),
    click.option("--learning-rate", type=float, help="Step size."),
    click.option("--schedule", type=RegistryChoice(SCHEDULES.keys), help="Learning-rate schedule."),
    click.option("--epochs", type=int, help="Passes over the training data."),
    click.option(
        "--batch-size",
        callback=parse_batch_size,
        help="Samples per update: 1 = per sample, 'full' = full batch.",
    ),
    click.option("--init", type=RegistryChoice(INITIALIZERS.keys), help="Weight initializer."),
    click.option("--dropout", type=float, help="Dropout rate after each hidden layer."),
    click.option(
        "--conv-dropout", type=float, help="Dropout rate after each convolution block's pooling."
    ),
    click.option("--weight-decay", type=float, help="Weight decay (decoupled for adamw)."),
    click.option("--seed", type=int, help="Random seed: same seed, same run."),
    click.option(
        "--threads",
        type=int,
        help="Threads that share each batch (default: one per core for a CNN, 1 for an MLP); "
        "a seed gives the same run for the same number.",
    ),
    click.option(
        "--shuffle/--no-shuffle",
        default=None,
        help="Visit the training images in a new random order each epoch (default) or in order.",
    ),
    click.option(
        "--quirk",
        "quirks",
        multiple=True,
        type=RegistryChoice(QUIRKS.keys),
        callback=parse_quirks,
        help="Reproduce a tutorial's mistake in the backward pass (repeatable).",
    ),
    data_option(),
    click.option("--train-limit", type=int, help="Train on the first N images only."),
    click.option(
        "--validation-split",
        type=float,
        help="Fraction of training images held out for validation.",
    ),
]


def training_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add every training option to ``command`` (for ``train`` and ``experiment``)."""
    for option in reversed(TRAINING_OPTIONS):
        command = option(command)
    return command


def config_from_options(preset: str | None, options: dict[str, Any]) -> TrainConfig:
    """The preset's config with every option the user gave applied on top."""
    config = get_preset(preset or DEFAULT_PRESET).config
    changes = {key: value for key, value in options.items() if value is not None}
    if changes.pop("no_augment", False):
        changes["augment"] = NO_AUGMENTATION
    if changes.get("batch_size") == "full":
        changes["batch_size"] = None
    config = config.replace(**changes)
    config.validate()
    return config
