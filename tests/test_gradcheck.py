"""Every differentiable piece against central differences, in float64, random upstream gradient."""

import numpy as np
import pytest

import barenet as bn
from barenet.activations import softmax
from barenet.gradcheck import numerical_gradient, relative_error

# Every test here runs on the textbook alone and on the default engine.
pytestmark = pytest.mark.usefixtures("wing")

TOLERANCE = 1e-6


def away_from_kinks(rng, shape):
    """Inputs with |x| >= 0.1, so ReLU-style kinks are never inside a finite-difference step."""
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < 0.1, 0.1 * np.sign(x) + 0.1, x)


LAYERS = {
    "dense": lambda rng: bn.Dense(4, 3, rng=rng),
    "dense_no_bias": lambda rng: bn.Dense(4, 3, bias=False, rng=rng),
    "relu": lambda rng: bn.ReLU(),
    "leaky_relu": lambda rng: bn.LeakyReLU(0.2),
    "sigmoid": lambda rng: bn.Sigmoid(),
    "tanh": lambda rng: bn.Tanh(),
    "softmax": lambda rng: bn.Softmax(),
    "custom_activation": lambda rng: bn.Activation(np.sin, np.cos),
    "dropout": lambda rng: bn.Dropout(0.5, rng=rng),
    "flatten": lambda rng: bn.Flatten(),
    "rescaling": lambda rng: bn.Rescaling(1 / 255, -0.5),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_gradients(name, rng):
    layer = LAYERS[name](rng)
    X = away_from_kinks(rng, (5, 4))
    errors = bn.gradient_errors(layer, X, rng=rng)
    assert set(errors) == {"input", *layer.params}
    assert max(errors.values()) < TOLERANCE, errors


def test_flatten_gradient_on_images(rng):
    assert bn.check_gradients(bn.Flatten(), rng.standard_normal((3, 2, 4, 4))) < TOLERANCE


LABELS = np.array([0, 2, 1, 2, 0])


@pytest.mark.parametrize(
    "loss, predictions, targets",
    [
        (bn.CrossEntropy(), lambda r: 3 * r.standard_normal((5, 3)), LABELS),
        (bn.CrossEntropy(), lambda r: r.standard_normal((5, 3)), np.eye(3)[LABELS]),
        (bn.CrossEntropy(from_logits=False), lambda r: softmax(r.standard_normal((5, 3))), LABELS),
        (bn.MeanSquaredError(), lambda r: r.standard_normal((5, 3)), LABELS),
        (bn.MeanSquaredError(), lambda r: r.standard_normal((5, 3)), np.full((5, 3), 0.3)),
        (bn.BinaryCrossEntropy(), lambda r: r.standard_normal((5, 3)), np.eye(3)[LABELS]),
        (
            bn.BinaryCrossEntropy(from_logits=False),
            lambda r: 0.1 + 0.8 * r.random((5, 3)),
            np.eye(3)[LABELS],
        ),
    ],
    ids=["ce_ids", "ce_onehot", "ce_probs", "mse_ids", "mse_rows", "bce", "bce_probs"],
)
def test_loss_gradients(loss, predictions, targets, rng):
    assert bn.check_gradients(loss, predictions(rng), targets) < TOLERANCE


@pytest.mark.parametrize("output, loss", [("softmax", "cross_entropy"), ("tanh", "mse")])
def test_whole_model_gradients(output, loss, rng):
    model = bn.Sequential(
        [bn.Dense(4, 6, rng=rng), bn.Tanh(), bn.Dropout(0.25, rng=rng), bn.Dense(6, 3, rng=rng)]
    )
    model.add(bn.get_activation(output)).compile(loss, "sgd")
    errors = bn.gradient_errors(model, rng.standard_normal((7, 4)), np.array([0, 1, 2] * 2 + [1]))
    assert len(errors) == 5  # the input and four parameter arrays
    assert max(errors.values()) < TOLERANCE, errors


def test_checker_detects_a_wrong_derivative(rng):
    wrong = bn.Activation(np.tanh, lambda x: 1 - np.tanh(x))  # forgot the square
    assert bn.check_gradients(wrong, rng.standard_normal((4, 3))) > 1e-2


def test_numerical_gradient_of_a_known_function():
    a = np.array([1.0, -2.0, 3.0])
    grad = numerical_gradient(lambda: float(np.sum(a**3)), a, 1e-5)
    np.testing.assert_allclose(grad, 3 * a**2, rtol=1e-8)
    assert relative_error(grad, 3 * a**2) < 1e-9
