"""Tutorial quirks: the mistakes are in the backward pass while training, and nowhere else."""

import numpy as np
import pytest

import barenet as bn
from barenet.digits.config import TrainConfig
from barenet.digits.presets import get_preset
from barenet.digits.quirks import QUIRKS, relu_derivative_above_one, reproduced
from barenet.digits.recipe import train


def relu_sigmoid_model(rng):
    return bn.Sequential(
        [bn.Dense(4, 6, rng=rng), bn.ReLU(), bn.Dense(6, 3, rng=rng), bn.Sigmoid()]
    ).compile("mse", "sgd")


def test_the_tutorials_relu_derivative_is_zero_up_to_one():
    x = np.array([-1.0, 0.0, 0.5, 1.0, 1.5], np.float32)
    assert relu_derivative_above_one(x).tolist() == [0, 0, 0, 0, 1]


def test_the_quirks_change_the_backward_pass_only_and_are_undone(rng):
    model = relu_sigmoid_model(rng)
    X = rng.normal(size=(8, 4)).astype(np.float32)
    dY = rng.normal(size=(8, 3)).astype(np.float32)
    layers = list(model.layers)
    expected_out = model.forward(X, training=True)
    expected_dx = model.backward(dY)
    with reproduced(model, ["relu-derivative-above-1", "output-error"]):
        assert [type(layer).__name__ for layer in model.layers] == [
            "Dense", "Activation", "Dense", "Activation"
        ]  # fmt: skip
        out = model.forward(X, training=True)
        np.testing.assert_array_equal(out, expected_out)
        # The output layer passes dY through; units with 0 < x <= 1 pass nothing back.
        assert np.array_equal(model.layers[3].backward(dY), dY)
        hidden = model.layers[0].forward(X)
        model.layers[1].forward(hidden)
        dh = model.layers[1].backward(np.ones_like(hidden))
        assert np.array_equal(dh, (hidden > 1).astype(np.float32))
        assert not np.allclose(model.backward(dY), expected_dx)
    assert model.layers == layers


def test_the_layers_come_back_even_when_training_is_interrupted(rng):
    model = relu_sigmoid_model(rng)
    layers = list(model.layers)
    with pytest.raises(KeyboardInterrupt), reproduced(model, ["output-error"]):
        raise KeyboardInterrupt
    assert model.layers == layers


def test_an_unknown_quirk_lists_the_known_ones(rng):
    model = relu_sigmoid_model(rng)
    with (
        pytest.raises(
            ValueError, match="Unknown quirk 'typo'. Expected one of: output-error, relu-deriv"
        ),
        reproduced(model, ["typo"]),
    ):
        pass
    with pytest.raises(ValueError, match="Unknown quirk"):
        TrainConfig(quirks=["typo"]).validate()


def test_a_model_trained_with_quirks_saves_and_loads_as_an_ordinary_one(tiny_digits, tmp_path):
    config = get_preset("tutorial-relu-sigmoid").config.replace(epochs=1, train_limit=300)
    run = train(config, tiny_digits)
    assert [type(layer).__name__ for layer in run.model.layers][-2:] == ["Dense", "Sigmoid"]
    run.model.save(tmp_path / "quirky.npz")
    loaded = bn.load_model(tmp_path / "quirky.npz")
    np.testing.assert_array_equal(
        loaded.predict(tiny_digits.x_test), run.model.predict(tiny_digits.x_test)
    )
    assert loaded.metadata["config"]["quirks"] == ["relu-derivative-above-1", "output-error"]


def test_quirks_change_what_is_learned(tiny_digits):
    config = get_preset("tutorial-relu-sigmoid").config.replace(epochs=1, train_limit=300)
    quirky = train(config, tiny_digits).model
    fixed = train(config.replace(quirks=[]), tiny_digits).model
    assert not np.allclose(quirky.layers[2].weight, fixed.layers[2].weight)


def test_the_faithful_preset_matches_the_tutorials_code():
    config = get_preset("tutorial-relu-sigmoid").config
    assert set(config.quirks) == set(QUIRKS)
    assert config.shuffle is False  # it loops over x_train in order every epoch
    assert (config.layers, config.output, config.init, config.batch_size) == (
        [784, 128, 64, 10], "sigmoid", "he", 1
    )  # fmt: skip
    # lr 0.005 x MSE's 2 / 10 = the tutorial's 0.001 along (output - onehot).
    assert config.learning_rate * 2 / 10 == pytest.approx(0.001)
    fixed = get_preset("tutorial-relu-sigmoid-fixed").config
    assert (fixed.quirks, fixed.loss) == ([], "binary_cross_entropy")
    assert fixed.learning_rate / 10 == pytest.approx(0.001)  # BCE: (sigmoid - onehot) / 10
