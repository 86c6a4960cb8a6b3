"""One registry per family is the single source of names: adding an activation, loss, optimizer,
initializer or schedule to its registry makes it available to the command line (choices and
help), training configs, the recipe builders, experiments and model files, with no other edit."""

import functools
import json
import re

import numpy as np
import pytest

import barenet as bn
from barenet.activations import ACTIVATIONS
from barenet.digits.config import TrainConfig
from barenet.digits.recipe import build_model, build_optimizer
from barenet.initializers import INITIALIZERS
from barenet.losses import LOSSES
from barenet.optimizers import OPTIMIZERS
from barenet.schedules import SCHEDULES
from tests.helpers import invoke


class Softsign(bn.Layer):
    """``y = x / (1 + |x|)``; ``dx = dy / (1 + |x|)^2``."""

    def forward(self, x, training=False):
        self._x = x
        return x / (1 + np.abs(x))

    def backward(self, dy):
        return dy / (1 + np.abs(self._x)) ** 2


class MeanAbsoluteError(bn.Loss):
    name = "mean_absolute_error"

    def forward(self, y_pred, y_true):
        target = np.eye(y_pred.shape[1], dtype=y_pred.dtype)[y_true]
        self._sign = np.sign(y_pred - target) / y_pred.size
        return float(np.abs(y_pred - target).mean())

    def backward(self):
        return self._sign


NEW_NAMES = {
    "activation": "softsign",
    "loss": "mean_absolute_error",
    "optimizer": "heavy_ball",
    "init": "small_normal",
    "schedule": "linear",
}


@pytest.fixture
def registered(monkeypatch):
    """A new entry in each of the five registries, for this test only."""
    monkeypatch.setitem(ACTIVATIONS, "softsign", Softsign)
    monkeypatch.setitem(LOSSES, "mean_absolute_error", MeanAbsoluteError)
    monkeypatch.setitem(OPTIMIZERS, "heavy_ball", functools.partial(bn.SGD, momentum=0.5))
    monkeypatch.setitem(
        INITIALIZERS, "small_normal", lambda shape, rng: 0.05 * rng.standard_normal(shape)
    )
    monkeypatch.setitem(
        SCHEDULES, "linear", lambda rate, total, warmup: lambda step: rate * (1 - step / total)
    )
    return NEW_NAMES


def test_the_new_names_are_choices_in_the_help(registered):
    result = invoke("train", "--help")
    assert result.exit_code == 0
    help_text = " ".join(result.output.split())
    for name in registered.values():
        assert name in help_text


def test_configs_and_builders_accept_the_new_names(registered):
    config = TrainConfig(
        layers=[784, 16, 10],
        activation="softsign",
        loss="mean_absolute_error",
        optimizer="heavy_ball",
        init="small_normal",
        schedule="linear",
        learning_rate=0.1,
        epochs=2,
    )
    config.validate()
    model = build_model(config)
    assert any(isinstance(layer, Softsign) for layer in model.layers)
    assert abs(float(model.layers[2].weight.std()) - 0.05) < 0.01  # small_normal
    optimizer = build_optimizer(config, steps_per_epoch=10)
    assert isinstance(optimizer, bn.SGD) and optimizer.momentum == 0.5
    assert optimizer.current_learning_rate() == pytest.approx(0.1)
    optimizer.iterations = 10  # half way through 2 epochs of 10 steps
    assert optimizer.current_learning_rate() == pytest.approx(0.05)


def test_train_and_load_a_model_made_of_the_new_names(registered, tmp_path):
    options = [f"--{key}={value}" for key, value in registered.items()]
    out = tmp_path / "new.npz"
    result = invoke(
        "train", "--preset", "quick", "--train-limit", 500, "--epochs", 1, *options,
        "--out", out, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert np.isfinite(json.loads(result.stdout)["test_loss"])
    model = bn.load_model(out)
    assert isinstance(model.layers[3], Softsign)
    assert isinstance(model.loss, MeanAbsoluteError)
    saved = model.metadata["config"]
    assert {key: saved[key] for key in registered} == registered


def test_experiments_vary_over_the_new_names(registered):
    result = invoke(
        "experiment", "--preset", "quick", "--train-limit", 300, "--epochs", 1, "--runs", 1,
        "--vary", "optimizer=sgd,heavy_ball", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    variants = [run["variant"] for run in json.loads(result.stdout)["runs"]]
    assert variants == ["optimizer=sgd", "optimizer=heavy_ball"]


def test_an_unknown_name_lists_the_registry():
    result = invoke("train", "--optimizer", "heavy_ball")
    assert result.exit_code == 2
    assert "'heavy_ball' is not one of 'sgd', 'momentum'" in result.output
    with pytest.raises(ValueError, match=re.escape("--schedule must be constant | cosine.")):
        TrainConfig(schedule="linear").validate()
