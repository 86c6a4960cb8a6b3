import numpy as np
import pytest

from barenet import (
    AvgPool2D,
    BatchNorm1d,
    BatchNorm2d,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    LeakyReLU,
    MaxPool2D,
    ReLU,
    Rescaling,
    Reshape,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    explain,
)
from barenet.gradcheck import numerical_gradient, relative_error


def cnn(rng, dtype="float64"):
    """A small CNN with every kind of image layer, batch norm with non-trivial statistics."""
    model = Sequential(
        [
            Reshape((1, 10, 10)),
            Rescaling(1 / 255),
            Conv2D(1, 4, 3, rng=rng),
            BatchNorm2d(4),
            LeakyReLU(0.1),
            MaxPool2D(2),
            Conv2D(4, 6, 2, padding=1, rng=rng),
            ReLU(),
            AvgPool2D(2),
            Flatten(),
            Dense(6 * 2 * 2, 12, rng=rng),
            BatchNorm1d(12),
            Tanh(),
            Dropout(0.5, rng=rng),
            Dense(12, 5, rng=rng),
            Softmax(),
        ],
        dtype=dtype,
    )
    for layer in model.layers:
        if isinstance(layer, (BatchNorm1d, BatchNorm2d)):
            size = layer.num_features
            layer.buffers["running_mean"][...] = rng.normal(0, 0.3, size)
            layer.buffers["running_var"][...] = rng.uniform(0.5, 2.0, size)
            layer.params["weight"][...] = rng.uniform(0.5, 1.5, size)
            layer.params["bias"][...] = rng.normal(0, 0.2, size)
    return model


def mlp(rng, last, dtype="float64"):
    layers = [Flatten(), Dense(100, 16, rng=rng), ReLU(), Dense(16, 4, rng=rng)]
    return Sequential(layers + ([last] if last is not None else []), dtype=dtype)


def digits(rng, count=3):
    return rng.integers(0, 256, (count, 10, 10)).astype(np.uint8)


@pytest.mark.parametrize(
    "build", [cnn, lambda rng: mlp(rng, Softmax()), lambda rng: mlp(rng, Sigmoid())]
)
def test_layer_outputs_are_the_forward_pass_and_probabilities_predict_proba(rng, build):
    model = build(rng)
    X = digits(rng)
    found = explain(model, X)
    values = X.astype(np.float64)
    assert [output.index for output in found.layers] == list(range(len(model.layers)))
    for output, layer in zip(found.layers, model.layers, strict=True):
        values = layer.forward(values)
        np.testing.assert_array_equal(output.values, values)
        assert output.layer is layer and output.shape == values.shape[1:]
        assert output.kind == type(layer).__name__ and output.name == layer.label()
    np.testing.assert_allclose(found.probabilities, model.predict_proba(X), rtol=1e-12)
    np.testing.assert_array_equal(found.targets, found.probabilities.argmax(axis=1))


@pytest.mark.parametrize(
    "build",
    [
        cnn,
        lambda rng: mlp(rng, Softmax()),
        lambda rng: mlp(rng, Tanh()),
        lambda rng: mlp(rng, None),
    ],
)
def test_saliency_is_the_gradient_of_the_class_score(rng, build):
    """Checked against central differences of the score, in float64, pixel by pixel."""
    model = build(rng)
    X = rng.uniform(0, 255, (2, 10, 10))
    targets = np.array([3, 1])
    found = explain(model, X, target=targets)
    last = len(model.layers) - 1
    squashed = isinstance(model.layers[-1], (Softmax, Sigmoid, Tanh))

    def score(row):
        values = X[row : row + 1]
        for layer in model.layers[: last if squashed else last + 1]:
            values = layer.forward(values)
        return float(values[0, targets[row]])

    for row in range(2):
        numeric = numerical_gradient(lambda row=row: score(row), X[row], eps=1e-3)
        assert relative_error(found.saliency[row], numeric) < 1e-6
        assert found.scores[row] == pytest.approx(score(row), rel=1e-12)
    assert found.saliency.shape == X.shape and np.abs(found.saliency).max() > 0


def test_float32_models_explain_in_float32(rng):
    model = cnn(rng, dtype="float32")
    found = explain(model, digits(rng))
    assert found.saliency.dtype == np.float32
    assert all(output.values.dtype == np.float32 for output in found.layers[1:])


def test_targets_one_for_all_or_one_each(rng):
    model = mlp(rng, Softmax())
    X = digits(rng, 4)
    assert explain(model, X, target=2).targets.tolist() == [2, 2, 2, 2]
    assert explain(model, X, target=np.array([0, 1, 2, 3])).targets.tolist() == [0, 1, 2, 3]
    # Different classes pull on different pixels.
    first, second = explain(model, X, target=0), explain(model, X, target=1)
    assert not np.allclose(first.saliency, second.saliency)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (4, r"targets in 0\.\.3"),
        (-1, r"targets in 0\.\.3"),
        (np.array([0, 1]), "received 2 targets for 3 inputs"),
        (1.5, "a class number or one per input"),
        (np.zeros((3, 1), int), "a class number or one per input"),
    ],
)
def test_bad_targets_are_refused(rng, target, message):
    with pytest.raises(ValueError, match=message):
        explain(mlp(rng, Softmax()), digits(rng), target=target)


def test_bad_inputs_and_models_are_refused(rng):
    with pytest.raises(ValueError, match="expected input of shape"):
        explain(mlp(rng, Softmax()), rng.uniform(size=(2, 9, 9)))
    with pytest.raises(ValueError, match="NaN"):
        explain(mlp(rng, Softmax()), np.full((1, 10, 10), np.nan))
    with pytest.raises(ValueError, match="needs a model with layers"):
        explain(Sequential(), digits(rng))
    with pytest.raises(ValueError, match=r"output is \(N, classes\)"):
        explain(Sequential([Reshape((1, 10, 10)), Conv2D(1, 2, 3, rng=rng)]), digits(rng))


def test_explaining_leaves_the_model_as_it_was(rng):
    """Inference mode: batch norm's statistics and every parameter stay; predictions too."""
    model = cnn(rng)
    X = digits(rng)
    before = model.get_weights()
    predictions = model.predict(X)
    explain(model, X)
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)
    np.testing.assert_array_equal(model.predict(X), predictions)
