"""The recipe: the network a config describes, its optimizer and schedule, and one run of it."""

import numpy as np
import pytest

import barenet as bn
from barenet.callbacks import Callback
from barenet.digits.config import TrainConfig
from barenet.digits.recipe import (
    build_model,
    build_optimizer,
    describe_architecture,
    steps_per_epoch,
    train,
)
from barenet.schedules import CosineDecay


def kinds(model):
    return [type(layer).__name__ for layer in model.layers]


def test_an_mlp_takes_raw_pixels():
    model = build_model(TrainConfig(layers=[784, 32, 10], dropout=0.2))
    assert kinds(model) == ["Flatten", "Rescaling", "Dense", "ReLU", "Dropout", "Dense", "Softmax"]
    assert model.predict(np.zeros((2, 28, 28), np.uint8)).shape == (2, 10)


def test_a_cnn_has_conv_blocks_and_no_bias_before_batch_norm():
    config = TrainConfig(layers=[784, 64, 10], conv=[4, 8], batch_norm=True, output="none")
    model = build_model(config)
    assert kinds(model)[:7] == [
        "Reshape", "Rescaling", "Conv2D", "BatchNorm2d", "MaxPool2D", "ReLU", "Conv2D",
    ]  # fmt: skip
    assert model.layers[2].bias is None and model.layers[-1].bias is not None
    assert model.layers[11].in_features == 8 * 4 * 4  # 28 -> 24 -> 12 -> 8 -> 4
    assert describe_architecture(config) == (
        "conv5x5x4-maxpool-conv5x5x8-maxpool-fc64-fc10 with batch norm"
    )
    assert describe_architecture(TrainConfig(layers=[784, 10])) == "784-10"


def test_conv_dropout_follows_every_pooling_and_dropout_every_hidden_dense_layer():
    config = TrainConfig(layers=[784, 16, 10], conv=[4, 8], conv_dropout=0.4, dropout=0.2)
    model = build_model(config)
    names = kinds(model)
    assert [names[i + 2] for i, name in enumerate(names) if name == "MaxPool2D"] == ["Dropout"] * 2
    rates = [layer.rate for layer in model.layers if isinstance(layer, bn.Dropout)]
    assert rates == [0.4, 0.4, 0.2]


def test_a_block_can_hold_several_convolutions_before_its_pooling():
    config = TrainConfig(layers=[784, 16, 10], conv=[4, 8], kernel_size=3, convs_per_block=2)
    model = build_model(config)
    assert kinds(model)[2:10] == [
        "Conv2D", "ReLU", "Conv2D", "MaxPool2D", "ReLU", "Conv2D", "ReLU", "Conv2D",
    ]  # fmt: skip
    assert config.conv_output_side() == 4  # 28 -> 26 -> 24 -> 12 -> 10 -> 8 -> 4
    assert model.predict(np.zeros((2, 28, 28), np.uint8)).shape == (2, 10)
    assert describe_architecture(config) == (
        "conv3x3x4-conv3x3x4-maxpool-conv3x3x8-conv3x3x8-maxpool-fc16-fc10"
    )


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "sigmoid", "tanh", "softmax"])
def test_pooling_before_a_nondecreasing_activation_changes_nothing_but_the_cost(activation, rng):
    """A nondecreasing activation commutes with max pooling, so the recipe pools first (a quarter
    of the values to activate): the same outputs and gradients as activating first."""
    config = TrainConfig(layers=[784, 8, 10], conv=[3, 4], activation=activation)
    model = bn.Sequential(build_model(config).layers, dtype="float64")
    names, activation_name = kinds(model), type(bn.get_activation(activation)).__name__
    pooled_first = [i for i, name in enumerate(names) if names[i - 1 : i + 1] == [
        "MaxPool2D", activation_name]]  # fmt: skip
    assert len(pooled_first) == (0 if activation == "softmax" else 2)  # softmax: not elementwise
    swapped = list(model.layers)
    for i in pooled_first:
        swapped[i - 1], swapped[i] = swapped[i], swapped[i - 1]
    textbook = bn.Sequential(swapped, dtype="float64")
    X = rng.integers(0, 256, (4, 28, 28)).astype(np.float64)
    dY = rng.standard_normal((4, 10))
    outputs, grads = [], []
    for network in (model, textbook):
        outputs.append(network.forward(X, training=True))
        grads.append([network.backward(dY), *(g.copy() for _, _, g in network.parameters())])
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-12)
    for ours, theirs in zip(*grads, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_same_seed_same_initial_weights():
    first, second = (build_model(TrainConfig(seed=3)).get_weights() for _ in range(2))
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_optimizer_and_its_schedule_cover_the_run():
    config = TrainConfig(
        optimizer="nesterov", schedule="cosine", warmup_epochs=0.5, epochs=4, learning_rate=0.1
    )
    optimizer = build_optimizer(config, steps_per_epoch=10)
    assert isinstance(optimizer, bn.SGD) and optimizer.nesterov and optimizer.momentum == 0.9
    assert optimizer.learning_rate == CosineDecay(0.1, 40, 5)
    constant = build_optimizer(config.replace(optimizer="adamw", schedule="constant"), 10)
    assert isinstance(constant, bn.AdamW) and constant.learning_rate == 0.1


def test_steps_per_epoch_count_the_training_part_only():
    config = TrainConfig(batch_size=100, train_limit=1000, validation_split=0.2)
    assert steps_per_epoch(config, 60_000) == 8
    assert steps_per_epoch(config.replace(batch_size=None), 60_000) == 1
    assert steps_per_epoch(config.replace(steps_per_epoch=3), 60_000) == 3


def test_a_run_records_what_it_did(tiny_digits):
    config = TrainConfig(layers=[784, 32, 10], epochs=2, train_limit=1500, test_every=1)
    run = train(config, tiny_digits, preset="mine")
    assert run.epochs == 2 and not run.interrupted and run.train_samples == 1500
    assert run.test_accuracy > 0.9  # the bars are easy to read
    meta = run.model.metadata
    assert meta["preset"] == "mine" and meta["config"]["train_limit"] == 1500
    assert meta["data"]["train_samples"] == 1500 and meta["data"]["test_samples"] == 200
    assert meta["metrics"]["test_accuracy"] == run.test_accuracy
    assert len(run.model.history.history["test_accuracy"]) == 2


def test_ctrl_c_keeps_the_finished_epochs(tiny_digits):
    class StopAfterOneEpoch(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    run = train(TrainConfig(layers=[784, 16, 10], epochs=5), tiny_digits, [StopAfterOneEpoch()])
    assert run.interrupted and run.epochs == 1
    assert run.model.metadata["interrupted"] is True
    assert run.test_accuracy == pytest.approx(run.model.metadata["metrics"]["test_accuracy"])


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(layers=[784, 64, 32, 10], batch_norm=True, dropout=0.1),
        TrainConfig(layers=[784, 10], conv=[8], kernel_size=3, batch_norm=True),
        TrainConfig(layers=[784, 128, 10], conv=[32, 64]),
        TrainConfig(layers=[784, 10], conv=[4, 8], kernel_size=3, convs_per_block=2),
    ],
)
def test_parameter_count_is_what_build_model_makes(config):
    built = sum(param.size for _, param, _ in build_model(config).parameters())
    assert config.parameter_count() == built
