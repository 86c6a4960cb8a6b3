"""``TrainConfig``: everything that defines a training run of a digit model, as plain data.

One field per ``barenet train`` option; it is saved inside every model file it trains. Names are
checked against the library's registries, the single source of the valid ones.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from barenet.activations import ACTIVATIONS
from barenet.augment import NO_AUGMENTATION, augmentation_names
from barenet.digits.quirks import check_quirks
from barenet.initializers import INITIALIZERS
from barenet.losses import LOSSES
from barenet.optimizers import OPTIMIZERS
from barenet.schedules import SCHEDULES

PIXELS_SIDE = 28
PIXELS = PIXELS_SIDE * PIXELS_SIDE
MAX_PARAMETERS = 100_000_000  # 0.4 GB of float32 weights, 1.6 GB with gradients and Adam's state
MAX_THREADS = 256  # each thread holds a replica of the network's caches: bounded
MAX_CONVS_PER_BLOCK = 10  # 1x1 convolutions never shrink the image: bound them otherwise
NO_OUTPUT_ACTIVATION = "none"


def parse_widths(text: str) -> list[int]:
    """``"784,128,10"`` or ``"784-128-10"`` -> ``[784, 128, 10]``; ValueError if not integers.

    With commas a minus sign stays a sign (``"784,-5,10"`` is refused later, not read as 5).
    """
    separator = "," if "," in text else "-"
    return [int(part) for part in text.split(separator) if part.strip()]


def output_names() -> list[str]:
    """What may follow the last layer: any activation, or ``"none"`` for raw scores."""
    return [*ACTIVATIONS, NO_OUTPUT_ACTIVATION]


def one_of(names: Iterable[str]) -> str:
    """``"relu | tanh | ..."``: the valid names, for an error message."""
    return " | ".join(names)


@dataclass
class TrainConfig:
    """Everything that defines a training run; saved inside the model file."""

    layers: list[int] = field(default_factory=lambda: [784, 128, 64, 10])  # widths, in to out
    conv: list[int] = field(default_factory=list)  # channels of conv blocks after the input
    kernel_size: int = 5  # of every convolution (no padding, stride 1; 2x2 max pooling after)
    convs_per_block: int = 1  # convolutions in each block, before its pooling
    batch_norm: bool = False  # after every convolution and hidden dense layer
    augment: str = NO_AUGMENTATION  # training images moved at random: augmentation_names()
    activation: str = "relu"  # after every hidden layer: a name in ACTIVATIONS
    output: str = "softmax"  # after the last layer: a name in ACTIVATIONS, or "none"
    loss: str = "cross_entropy"  # a name in LOSSES
    optimizer: str = "adam"  # a name in OPTIMIZERS
    learning_rate: float = 1e-3
    schedule: str = "constant"  # a name in SCHEDULES (cosine: decay to 0, after warm-up)
    warmup_epochs: float = 0.0  # linear warm-up, for the cosine schedule
    epochs: int = 10
    batch_size: int | None = 128  # 1 = per-sample SGD, None = full-batch gradient descent
    steps_per_epoch: int | None = None  # draw this many random batches per epoch ("rounds")
    init: str = "he"  # weight initializer: a name in INITIALIZERS
    bias_init: str = "zeros"
    dropout: float = 0.0  # after every hidden activation
    conv_dropout: float = 0.0  # after every conv block's pooling
    weight_decay: float = 0.0
    seed: int = 0  # initial weights, dropout masks and shuffling
    threads: int | None = None  # threads sharing each batch; None: one per core for a CNN
    train_limit: int | None = None  # use only the first N training images
    validation_split: float = 0.0  # held out from the end of the training images
    test_every: int = 0  # also record test accuracy every N epochs (as the tutorials did)
    shuffle: bool = True  # a new random order each epoch (False: the data's order, every epoch)
    quirks: list[str] = field(default_factory=list)  # tutorial mistakes to reproduce: QUIRKS

    def __post_init__(self) -> None:
        # Model files from before elastic distortions stored augment as a yes/no (yes: affine).
        if isinstance(self.augment, bool):
            self.augment = "affine" if self.augment else NO_AUGMENTATION

    def validate(self) -> None:
        """Raise ValueError with the offending option when a value is out of range.

        Names (activation, output, loss, optimizer, schedule, init) are checked against the
        library's registries, so a name added there is valid here too.
        """
        checks = self._range_checks()
        for ok, option, expected in checks:
            if not ok:
                value = getattr(self, option.replace("-", "_"))
                raise ValueError(f"--{option} must be {expected}. Received: {value!r}")
        check_quirks(self.quirks)
        if self.layers[0] != PIXELS:
            raise ValueError(
                f"--layers must start with {PIXELS} (28x28 pixels). Received: {self.layers[0]}"
            )
        if self.conv and self.conv_output_side() < 1:
            raise ValueError(
                f"--conv {','.join(map(str, self.conv))} with --kernel-size "
                f"{self.kernel_size} and --convs-per-block {self.convs_per_block} shrinks 28x28 "
                "images to nothing; use fewer blocks or convolutions, or a smaller kernel."
            )
        if self.parameter_count() > MAX_PARAMETERS:
            raise ValueError(
                f"This network would have {self.parameter_count():,} parameters, over barenet's "
                f"limit of {MAX_PARAMETERS:,}; use narrower --layers or fewer --conv channels."
            )

    def _range_checks(self) -> list[tuple[bool, str, str]]:
        """Each option's check: (whether it holds, the option, what it must be)."""
        return [
            (
                len(self.layers) >= 2 and all(w >= 1 for w in self.layers),
                "layers",
                "two or more positive widths, e.g. 784,128,10",
            ),
            (self.activation in ACTIVATIONS, "activation", one_of(ACTIVATIONS)),
            (self.output in output_names(), "output", one_of(output_names())),
            (self.loss in LOSSES, "loss", one_of(LOSSES)),
            (self.optimizer in OPTIMIZERS, "optimizer", one_of(OPTIMIZERS)),
            (self.schedule in SCHEDULES, "schedule", one_of(SCHEDULES)),
            (self.init in INITIALIZERS, "init", one_of(INITIALIZERS)),
            (self.augment in augmentation_names(), "augment", one_of(augmentation_names())),
            (self.bias_init in INITIALIZERS, "bias-init", one_of(INITIALIZERS)),
            (all(c >= 1 for c in self.conv), "conv", "positive channel counts, e.g. 32,64"),
            (self.kernel_size >= 1, "kernel-size", "at least 1"),
            (
                1 <= self.convs_per_block <= MAX_CONVS_PER_BLOCK,
                "convs-per-block",
                f"1 to {MAX_CONVS_PER_BLOCK}",
            ),
            (self.epochs >= 1, "epochs", "at least 1"),
            (
                self.batch_size is None or self.batch_size >= 1,
                "batch-size",
                "at least 1, or 'full'",
            ),
            (self.train_limit is None or self.train_limit >= 1, "train-limit", "at least 1"),
            (
                self.steps_per_epoch is None or self.steps_per_epoch >= 1,
                "steps-per-epoch",
                "at least 1",
            ),
            (self.seed >= 0, "seed", "0 or more"),
            (
                self.threads is None or 1 <= self.threads <= MAX_THREADS,
                "threads",
                f"1 to {MAX_THREADS}",
            ),
            (0 <= self.dropout < 1, "dropout", "in [0, 1)"),
            (0 <= self.conv_dropout < 1, "conv-dropout", "in [0, 1)"),
            (self.learning_rate > 0, "learning-rate", "greater than 0"),
            (self.weight_decay >= 0, "weight-decay", "0 or more"),
            (0 <= self.validation_split < 1, "validation-split", "in [0, 1)"),
            (self.warmup_epochs >= 0, "warmup-epochs", "0 or more"),
            (self.test_every >= 0, "test-every", "0 (never) or more"),
        ]

    def parameter_count(self) -> int:
        """Weights and biases of the network ``build_model`` makes (batch norm's included)."""
        # A layer followed by batch norm has no bias; batch norm has a weight and a bias.
        per_output = 1 + self.batch_norm
        count, channels = 0, 1
        for out_channels in self.conv:
            for _ in range(self.convs_per_block):
                count += out_channels * (channels * self.kernel_size**2 + per_output)
                channels = out_channels
        widths = self.layers
        if self.conv:
            widths = [channels * max(self.conv_output_side(), 0) ** 2, *self.layers[1:]]
        for fan_in, fan_out in itertools.pairwise(widths):
            count += fan_in * fan_out + fan_out * per_output
        return count - widths[-1] * self.batch_norm  # the output layer has no batch norm

    def conv_output_side(self) -> int:
        """Side of the images after the conv blocks (each: valid convolutions, then 2x2
        pooling); 0 or less when they shrink to nothing."""
        side = PIXELS_SIDE
        for _ in self.conv:
            side = (side - self.convs_per_block * (self.kernel_size - 1)) // 2
        return side

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # JSON's true is no number


# What a JSON value must be for each type a TrainConfig field declares.
_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "int": _is_int,
    "float": lambda value: (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and abs(value) < 1e300  # a whole number too large for a float is none either
        and math.isfinite(value)
    ),
    "bool": lambda value: isinstance(value, bool),
    "str": lambda value: isinstance(value, str),
    "None": lambda value: value is None,
    "list[int]": lambda value: (
        isinstance(value, list) and all(_JSON_TYPES["int"](v) for v in value)
    ),
    "list[str]": lambda value: isinstance(value, list) and all(isinstance(v, str) for v in value),
}

_JSON_WORDS = {
    "int": "a whole number",
    "float": "a finite number",
    "bool": "true or false",
    "str": "a name",
    "None": "null",
    "list[int]": "a list of whole numbers",
    "list[str]": "a list of names",
}


def config_from_json(values: Any) -> TrainConfig:
    """The ``TrainConfig`` that JSON data (a model's or checkpoint's ``config``) describes, each
    value of its field's type and every option in range (``validate``); a missing option takes
    its default, as in files written before it existed.

    Raises:
        ValueError: the first unknown option or wrong value, in a phrase ("its option epochs is
            '66', not a whole number").
    """
    if not isinstance(values, dict):
        raise ValueError(f"its options are {type(values).__name__}, not a JSON object")
    declared = {field.name: str(field.type) for field in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise ValueError(f"it has unknown options {unknown}")
    for name, value in values.items():
        kinds = declared[name].split(" | ")
        if name == "augment":  # files from before elastic distortions stored a yes/no
            kinds.append("bool")
        if not any(_JSON_TYPES[kind](value) for kind in kinds):
            shown = repr(value) if len(repr(value)) <= 40 else f"{repr(value)[:37]}..."
            expected = " or ".join(_JSON_WORDS[kind] for kind in kinds)
            raise ValueError(f"its option {name} is {shown}, not {expected}")
    config = TrainConfig(**values)
    config.validate()
    return config
