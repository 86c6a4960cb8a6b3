"""A training recipe for digit images: build the network and optimizer a ``TrainConfig`` names,
then run it on a ``Dataset``.

``build_model`` makes a network that takes raw 28x28 uint8 pixels; ``train`` fits it and
measures it on the test split, recording what it did in the model's metadata.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from barenet import engine
from barenet.activations import get_activation
from barenet.augment import get_augmentation
from barenet.callbacks import Callback, History
from barenet.conv import Conv2D, MaxPool2D
from barenet.datasets import Dataset
from barenet.digits.config import NO_OUTPUT_ACTIVATION, PIXELS_SIDE, TrainConfig
from barenet.digits.quirks import reproduced
from barenet.layers import Dense, Dropout, Flatten, Rescaling, Reshape
from barenet.model import Sequential
from barenet.normalization import BatchNorm1d, BatchNorm2d
from barenet.optimizers import Optimizer, get_optimizer
from barenet.schedules import get_schedule

# Nondecreasing activations: f(max(a, b)) = max(f(a), f(b)), so max pooling may come first.
COMMUTE_WITH_MAX_POOL = frozenset({"relu", "leaky_relu", "sigmoid", "tanh"})


def build_model(config: TrainConfig) -> Sequential:
    """The network for ``config``: pixels 0..255 -> scale to 0..1 -> [conv blocks] -> Dense
    layers. A conv block is ``convs_per_block`` times Conv2D -> [BatchNorm2d] -> activation,
    then MaxPool2D(2) -> [Dropout].

    The block's last activation follows the pooling instead when it commutes with it (ReLU and
    the other nondecreasing ones): the same outputs and gradients, with the activation and its
    derivative computed on a quarter of the values, those the 2x2 pooling keeps."""
    config.validate()
    rng = np.random.default_rng(config.seed)
    bias = not config.batch_norm  # batch norm subtracts the mean, and any bias with it
    if config.conv:
        model = Sequential([Reshape((1, PIXELS_SIDE, PIXELS_SIDE)), Rescaling(1 / 255)])
        channels = 1
        for out_channels in config.conv:
            for index in range(config.convs_per_block):
                if index:
                    model.add(get_activation(config.activation))
                model.add(Conv2D(channels, out_channels, config.kernel_size, bias=bias, rng=rng))
                if config.batch_norm:
                    model.add(BatchNorm2d(out_channels))
                channels = out_channels
            activation, pool = get_activation(config.activation), MaxPool2D(2)
            pool_first = config.activation in COMMUTE_WITH_MAX_POOL
            for layer in [pool, activation] if pool_first else [activation, pool]:
                model.add(layer)
            if config.conv_dropout:
                model.add(Dropout(config.conv_dropout, rng=rng))
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
    if config.output != NO_OUTPUT_ACTIVATION:
        model.add(get_activation(config.output))
    return model


def describe_architecture(config: TrainConfig) -> str:
    """``"784-128-10"``, or ``"conv5x5x32-conv5x5x64 (bn), fc128-fc10"`` for a CNN."""
    if not config.conv:
        return "-".join(map(str, config.layers))
    k = config.kernel_size
    convs = "-".join(
        "-".join([f"conv{k}x{k}x{channels}"] * config.convs_per_block) + "-maxpool"
        for channels in config.conv
    )
    dense = "-".join(f"fc{width}" for width in config.layers[1:])
    return f"{convs}-{dense}" + (" with batch norm" if config.batch_norm else "")


def build_optimizer(config: TrainConfig, steps_per_epoch: int) -> Optimizer:
    """The optimizer for ``config``, with its learning-rate schedule over the whole run."""
    total = config.epochs * steps_per_epoch
    warmup = round(config.warmup_epochs * steps_per_epoch)
    learning_rate = get_schedule(config.schedule, config.learning_rate, total, warmup)
    return get_optimizer(
        config.optimizer, learning_rate=learning_rate, weight_decay=config.weight_decay
    )


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
    test_accuracy: float | None  # None when the test set is elsewhere (--no-test-split)
    test_loss: float | None
    train_seconds: float
    epochs: int  # epochs completed
    interrupted: bool  # stopped by Ctrl-C; the model holds what was trained so far
    train_samples: int  # training images it saw (after train_limit, validation included)


def starting_model(
    config: TrainConfig,
    train_samples: int,
    resume: Sequential | None = None,
    init_from: Sequential | None = None,
) -> tuple[Sequential, int]:
    """The model a run trains, and the epoch it starts from: a new one for ``config``; or
    ``resume``, a checkpoint of this run, from its epoch; or a new one with the weights of
    ``init_from`` (fine-tuning), from epoch 0.

    Raises:
        ValueError: not a checkpoint, a run already finished, or layers that do not match.
    """
    if resume is not None:
        state = resume.training_state
        if state is None:
            raise ValueError(
                "--resume takes a checkpoint: the .checkpoint.npz file that barenet train writes "
                "beside --out while it trains. This model file has no training state."
            )
        if state["epoch"] >= config.epochs:
            raise ValueError(f"The run already trained all its {config.epochs} epochs.")
        return resume, int(state["epoch"])
    model = build_model(config)
    model.compile(config.loss, build_optimizer(config, steps_per_epoch(config, train_samples)))
    if init_from is not None:
        ours = [layer.label() for layer in model.layers]
        theirs = [layer.label() for layer in init_from.layers]
        if ours != theirs:
            raise ValueError(
                f"--init-from: its layers ({', '.join(theirs)}) differ from the ones these options "
                f"build ({', '.join(ours)}). Pass the options it was trained with."
            )
        model.set_weights(init_from.get_weights())
    return model, 0


def train(
    config: TrainConfig,
    data: Dataset,
    callbacks: Sequence[Callback] = (),
    preset: str | None = None,
    *,
    resume: Sequential | None = None,
    init_from: Sequential | None = None,
) -> TrainedRun:
    """Build the model for ``config``, fit it on ``data`` and measure it on the test split.

    ``config.train_limit`` is applied here, and only here: pass the whole data set. Ctrl-C
    (KeyboardInterrupt) ends training early; the run is still evaluated and returned, with
    ``interrupted=True``. ``resume`` and ``init_from``: see ``starting_model``; a fine-tuned
    model's history follows the one it started from.
    """
    data = data.limit_train(config.train_limit)
    model, initial_epoch = starting_model(config, len(data.x_train), resume, init_from)
    tested = len(data.x_test) > 0
    monitors = (
        [TestMonitor(data.x_test, data.y_test, config.test_every)]
        if config.test_every and tested
        else []
    )
    started = time.perf_counter()
    interrupted = False
    try:
        threads = config.threads if config.threads is not None else engine.threads()
        with reproduced(model, config.quirks), engine.using(engine.active(), threads=threads):
            model.fit(
                data.x_train,
                data.y_train,
                epochs=config.epochs,
                batch_size=config.batch_size,
                validation_split=config.validation_split,
                shuffle=config.shuffle,
                steps_per_epoch=config.steps_per_epoch,
                callbacks=[*monitors, *callbacks],
                verbose=0,
                seed=config.seed,
                augment=get_augmentation(config.augment),
                initial_epoch=initial_epoch,
            )
    except KeyboardInterrupt:
        interrupted = True
    seconds = time.perf_counter() - started
    epochs = len(model.history.epoch) if model.history else 0  # this run's, not its start's
    if init_from is not None and init_from.history is not None and model.history is not None:
        model.history = History.joined(init_from.history, model.history)
    test = model.evaluate(data.x_test, data.y_test) if tested else {}
    run = TrainedRun(
        model,
        config,
        test_accuracy=test.get("accuracy"),
        test_loss=test.get("loss"),
        train_seconds=seconds,
        epochs=epochs,
        interrupted=interrupted,
        train_samples=len(data.x_train),
    )
    model.metadata = _metadata(run, data, preset)
    return run


def _metadata(run: TrainedRun, data: Dataset, preset: str | None) -> dict[str, object]:
    """What a trained digit model records about how it was made (saved with it)."""
    return {
        "preset": preset,
        "config": dataclasses.asdict(run.config),
        "data": {
            "source": data.source,
            "sha256": data.checksum(),
            "train_samples": run.train_samples,
            "test_samples": len(data.x_test),
            "notes": data.notes,
        },
        "metrics": {
            "test_accuracy": run.test_accuracy,
            "test_loss": run.test_loss,
            "train_seconds": run.train_seconds,
            "epochs": run.epochs,
        },
        "preprocessing": {
            "input": "28x28 uint8 pixels, light ink on black, centred by mass like MNIST",
            "scaling": "x / 255 (inside the model: the Rescaling layer)",
        },
        "interrupted": run.interrupted,
    }
