"""A training recipe for digit images: the config (saved with the model), and one run of it.

``TrainConfig`` is plain data, one field per ``barenet train`` option; ``build_model`` turns it
into a network that takes raw 28x28 uint8 pixels; ``train`` runs it on a ``Dataset``.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from barenet.activations import get_activation
from barenet.augment import RandomAffine
from barenet.callbacks import Callback
from barenet.conv import Conv2D, MaxPool2D
from barenet.datasets import Dataset
from barenet.layers import Dense, Dropout, Flatten, Rescaling, Reshape
from barenet.losses import get_loss
from barenet.model import Sequential
from barenet.normalization import BatchNorm1d, BatchNorm2d
from barenet.optimizers import SGD, Adam, AdamW, Optimizer, RMSprop
from barenet.schedules import CosineDecay

OUTPUTS = ("softmax", "sigmoid", "tanh", "none")
OPTIMIZER_NAMES = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop")
SCHEDULES = ("constant", "cosine")
PIXELS_SIDE = 28
PIXELS = PIXELS_SIDE * PIXELS_SIDE


def parse_widths(text: str) -> list[int]:
    """``"784,128,10"`` or ``"784-128-10"`` -> ``[784, 128, 10]``; ValueError if not integers."""
    return [int(part) for part in text.replace("-", ",").split(",") if part.strip()]


@dataclass
class TrainConfig:
    """Everything that defines a training run; saved inside the model file."""

    layers: list[int] = field(default_factory=lambda: [784, 128, 64, 10])  # widths, in to out
    conv: list[int] = field(default_factory=list)  # channels of conv blocks after the input
    kernel_size: int = 5  # of every convolution (no padding, stride 1; 2x2 max pooling after)
    batch_norm: bool = False  # after every convolution and hidden dense layer
    augment: bool = False  # random shifts, rotations and scalings of the training images
    activation: str = "relu"  # after every hidden layer
    output: str = "softmax"  # after the last layer: softmax | sigmoid | tanh | none
    loss: str = "cross_entropy"  # cross_entropy | mse
    optimizer: str = "adam"  # sgd | momentum | nesterov | adam | adamw | rmsprop
    learning_rate: float = 1e-3
    schedule: str = "constant"  # constant | cosine (decay to 0 over the run, after warm-up)
    warmup_epochs: float = 0.0  # linear warm-up, for the cosine schedule
    epochs: int = 10
    batch_size: int | None = 128  # 1 = per-sample SGD, None = full-batch gradient descent
    steps_per_epoch: int | None = None  # draw this many random batches per epoch ("rounds")
    init: str = "he"  # weight initializer
    bias_init: str = "zeros"
    dropout: float = 0.0  # after every hidden activation
    weight_decay: float = 0.0
    seed: int = 0  # initial weights, dropout masks and shuffling
    train_limit: int | None = None  # use only the first N training images
    validation_split: float = 0.0  # held out from the end of the training images
    test_every: int = 0  # also record test accuracy every N epochs (as the tutorials did)

    def validate(self) -> None:
        """Raise ValueError with the offending option when a value is out of range."""
        checks = [
            (
                len(self.layers) >= 2 and all(w >= 1 for w in self.layers),
                "layers",
                "two or more positive widths, e.g. 784,128,10",
            ),
            (self.output in OUTPUTS, "output", " | ".join(OUTPUTS)),
            (self.optimizer in OPTIMIZER_NAMES, "optimizer", " | ".join(OPTIMIZER_NAMES)),
            (self.schedule in SCHEDULES, "schedule", " | ".join(SCHEDULES)),
            (all(c >= 1 for c in self.conv), "conv", "positive channel counts, e.g. 32,64"),
            (self.kernel_size >= 1, "kernel-size", "at least 1"),
            (self.epochs >= 1, "epochs", "at least 1"),
            (
                self.batch_size is None or self.batch_size >= 1,
                "batch-size",
                "at least 1, or 'full'",
            ),
            (0 <= self.dropout < 1, "dropout", "in [0, 1)"),
            (self.learning_rate > 0, "learning-rate", "greater than 0"),
            (self.weight_decay >= 0, "weight-decay", "0 or more"),
            (0 <= self.validation_split < 1, "validation-split", "in [0, 1)"),
        ]
        for ok, option, expected in checks:
            if not ok:
                value = getattr(self, option.replace("-", "_"))
                raise ValueError(f"--{option} must be {expected}. Received: {value!r}")
        if self.layers[0] != PIXELS:
            raise ValueError(
                f"--layers must start with {PIXELS} (28x28 pixels). Received: {self.layers[0]}"
            )
        if self.conv and self.conv_output_side() < 1:
            raise ValueError(
                f"--conv {','.join(map(str, self.conv))} with --kernel-size "
                f"{self.kernel_size} shrinks 28x28 images to nothing; use fewer blocks or "
                "a smaller kernel."
            )
        get_loss(self.loss)  # unknown names list the valid ones
        get_activation(self.activation)

    def conv_output_side(self) -> int:
        """Side of the images after the conv blocks (each: a valid convolution, then 2x2
        pooling); 0 or less when they shrink to nothing."""
        side = PIXELS_SIDE
        for _ in self.conv:
            side = (side - self.kernel_size + 1) // 2
        return side

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)


def build_model(config: TrainConfig) -> Sequential:
    """The network for ``config``: pixels 0..255 -> scale to 0..1 -> [conv blocks] -> Dense
    layers. A conv block is Conv2D -> [BatchNorm2d] -> activation -> MaxPool2D(2)."""
    config.validate()
    rng = np.random.default_rng(config.seed)
    bias = not config.batch_norm  # batch norm subtracts the mean, and any bias with it
    if config.conv:
        model = Sequential([Reshape((1, PIXELS_SIDE, PIXELS_SIDE)), Rescaling(1 / 255)])
        channels = 1
        for out_channels in config.conv:
            model.add(Conv2D(channels, out_channels, config.kernel_size, bias=bias, rng=rng))
            if config.batch_norm:
                model.add(BatchNorm2d(out_channels))
            model.add(get_activation(config.activation))
            model.add(MaxPool2D(2))
            channels = out_channels
        model.add(Flatten())
        widths = [channels * config.conv_output_side() ** 2, *config.layers[1:]]
    else:
        model = Sequential([Flatten(), Rescaling(1 / 255)])
        widths = config.layers
    for index, (fan_in, fan_out) in enumerate(itertools.pairwise(widths)):
        hidden = index < len(widths) - 2
        model.add(
            Dense(
                fan_in,
                fan_out,
                init=config.init,
                bias=bias or not hidden,
                bias_init=config.bias_init,
                rng=rng,
            )
        )
        if hidden:
            if config.batch_norm:
                model.add(BatchNorm1d(fan_out))
            model.add(get_activation(config.activation))
            if config.dropout:
                model.add(Dropout(config.dropout, rng=rng))
    if config.output != "none":
        model.add(get_activation(config.output))
    return model


def describe_architecture(config: TrainConfig) -> str:
    """``"784-128-10"``, or ``"conv5x5x32-conv5x5x64 (bn), fc128-fc10"`` for a CNN."""
    if not config.conv:
        return "-".join(map(str, config.layers))
    k = config.kernel_size
    convs = "-".join(f"conv{k}x{k}x{channels}-maxpool" for channels in config.conv)
    dense = "-".join(f"fc{width}" for width in config.layers[1:])
    return f"{convs}-{dense}" + (" with batch norm" if config.batch_norm else "")


def build_optimizer(config: TrainConfig, steps_per_epoch: int) -> Optimizer:
    """The optimizer for ``config``, with its learning-rate schedule over the whole run."""
    learning_rate: Any = config.learning_rate
    if config.schedule == "cosine":
        total = config.epochs * steps_per_epoch
        warmup = min(total - 1, round(config.warmup_epochs * steps_per_epoch))
        learning_rate = CosineDecay(config.learning_rate, total, warmup)
    decay = config.weight_decay
    if config.optimizer == "sgd":
        return SGD(learning_rate, weight_decay=decay)
    if config.optimizer in ("momentum", "nesterov"):
        return SGD(learning_rate, 0.9, config.optimizer == "nesterov", decay)
    if config.optimizer == "adam":
        return Adam(learning_rate, weight_decay=decay)
    if config.optimizer == "adamw":
        return AdamW(learning_rate, weight_decay=decay)
    return RMSprop(learning_rate, weight_decay=decay)


class TestMonitor(Callback):
    """Adds ``test_loss`` and ``test_accuracy`` to the epoch logs every ``every`` epochs."""

    def __init__(self, X: np.ndarray, y: np.ndarray, every: int) -> None:
        super().__init__()
        self.X, self.y, self.every = X, y, every

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        assert self.model is not None and logs is not None
        if (epoch + 1) % self.every == 0:
            scores = self.model.evaluate(self.X, self.y)
            logs["test_loss"], logs["test_accuracy"] = scores["loss"], scores["accuracy"]


def steps_per_epoch(config: TrainConfig, train_samples: int) -> int:
    """Updates per epoch: the batches in the training part of ``train_samples`` images."""
    if config.train_limit is not None:
        train_samples = min(train_samples, config.train_limit)
    samples = train_samples - int(train_samples * config.validation_split)
    batch = samples if config.batch_size is None else min(config.batch_size, samples)
    return config.steps_per_epoch or math.ceil(samples / max(batch, 1))


@dataclass
class TrainedRun:
    """The outcome of ``train``: the model and what was measured."""

    model: Sequential
    config: TrainConfig
    test_accuracy: float
    test_loss: float
    train_seconds: float
    epochs: int  # epochs completed
    interrupted: bool  # stopped by Ctrl-C; the model holds what was trained so far


def train(
    config: TrainConfig,
    data: Dataset,
    callbacks: Sequence[Callback] = (),
    preset: str | None = None,
) -> TrainedRun:
    """Build the model for ``config``, fit it on ``data`` and measure it on the test split.

    Ctrl-C (KeyboardInterrupt) ends training early; the run is still evaluated and returned,
    with ``interrupted=True``.
    """
    data = data.limit_train(config.train_limit)
    model = build_model(config)
    model.compile(config.loss, build_optimizer(config, steps_per_epoch(config, len(data.x_train))))
    monitors = (
        [TestMonitor(data.x_test, data.y_test, config.test_every)] if config.test_every else []
    )
    started = time.perf_counter()
    interrupted = False
    try:
        model.fit(
            data.x_train,
            data.y_train,
            epochs=config.epochs,
            batch_size=config.batch_size,
            validation_split=config.validation_split,
            steps_per_epoch=config.steps_per_epoch,
            callbacks=[*monitors, *callbacks],
            verbose=0,
            seed=config.seed,
            augment=RandomAffine() if config.augment else None,
        )
    except KeyboardInterrupt:
        interrupted = True
    seconds = time.perf_counter() - started
    test = model.evaluate(data.x_test, data.y_test)
    epochs = len(model.history.epoch) if model.history else 0
    model.metadata = {
        "preset": preset,
        "config": dataclasses.asdict(config),
        "data": {
            "source": data.source,
            "sha256": data.checksum(),
            "train_samples": len(data.x_train),
            "test_samples": len(data.x_test),
            "notes": data.notes,
        },
        "metrics": {
            "test_accuracy": test["accuracy"],
            "test_loss": test["loss"],
            "train_seconds": seconds,
            "epochs": epochs,
        },
        "preprocessing": {
            "input": "28x28 uint8 pixels, light ink on black, centred by mass like MNIST",
            "scaling": "x / 255 (inside the model: the Rescaling layer)",
        },
        "interrupted": interrupted,
    }
    return TrainedRun(model, config, test["accuracy"], test["loss"], seconds, epochs, interrupted)
