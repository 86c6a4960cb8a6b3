"""Layers: shapes, configs, input checks, dropout statistics."""

import numpy as np
import pytest

import barenet as bn

# Every test here runs on the textbook alone and on the default engine.
pytestmark = pytest.mark.usefixtures("wing")


def test_dense_computes_x_w_plus_b(rng):
    layer = bn.Dense(3, 2, rng=rng)
    X = rng.standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(layer.forward(X), X @ layer.weight + layer.bias, rtol=1e-6)
    assert layer.weight.shape == (3, 2) and layer.bias.shape == (2,)
    assert layer.weight.dtype == np.float32
    assert set(layer.params) == set(layer.grads) == {"weight", "bias"}


def test_dense_backward_is_the_formula(rng, wing):
    """dW = x^T dy, db = dy summed over the batch, dx = dy W^T (the engine writes dW into its
    existing array; the textbook assigns a new one: either way grads holds it)."""
    layer = bn.Dense(3, 2, rng=rng)
    X = rng.standard_normal((4, 3)).astype(np.float32)
    dy = rng.standard_normal((4, 2)).astype(np.float32)
    layer.forward(X)
    dx = layer.backward(dy)
    np.testing.assert_allclose(layer.grads["weight"], X.T @ dy, rtol=1e-6)
    np.testing.assert_allclose(layer.grads["bias"], dy.sum(axis=0), rtol=1e-6)
    np.testing.assert_allclose(dx, dy @ layer.weight.T, rtol=1e-6)


def test_dense_rejects_wrong_shapes(rng):
    with pytest.raises(
        ValueError,
        match=r"Dense\(in_features=784\) expected input of shape \(N, 784\), got \(32, 28, 28\)",
    ):
        bn.Dense(784, 10, rng=rng).forward(np.zeros((32, 28, 28), np.float32))
    with pytest.raises(ValueError, match="positive integer out_features"):
        bn.Dense(3, 0)


def test_layers_rebuild_from_their_config(rng):
    for layer in (
        bn.Dense(3, 2, init="lecun", bias=False, rng=rng),
        bn.Dropout(0.3),
        bn.LeakyReLU(0.2),
        bn.Rescaling(0.5, 1.0),
    ):
        rebuilt = type(layer).from_config(layer.get_config())
        assert repr(rebuilt) == repr(layer)
    assert (
        repr(bn.Dense(3, 2))
        == "Dense(in_features=3, out_features=2, init='he', bias=True, bias_init='zeros')"
    )


def test_dropout_in_training_and_inference(rng):
    layer = bn.Dropout(0.25, rng=rng)
    X = np.ones((200, 100), np.float32)
    np.testing.assert_array_equal(layer.forward(X), X)  # inference: identity
    dropped = layer.forward(X, training=True)
    assert set(np.unique(dropped)) <= {0.0, np.float32(1 / 0.75)}
    assert abs((dropped == 0).mean() - 0.25) < 0.02
    assert abs(dropped.mean() - 1.0) < 0.03  # inverted dropout keeps the expectation
    with pytest.raises(ValueError, match=r"rate in \[0, 1\)"):
        bn.Dropout(1.0)


def test_flatten_and_rescaling(rng):
    X = rng.integers(0, 256, (2, 28, 28)).astype(np.uint8)
    flat = bn.Flatten().forward(X)
    assert flat.shape == (2, 784)
    scaled = bn.Rescaling(1 / 255).forward(flat)
    assert scaled.dtype == np.float32 and scaled.max() <= 1.0


class ReassigningDense(bn.Layer):
    """A learner's dense layer without a bias whose backward assigns a new gradient array."""

    def __init__(self, weight):
        super().__init__()
        self.params["w"] = np.array(weight)

    def forward(self, x, training=False):
        self._x = x
        return x @ self.params["w"]

    def backward(self, dy):
        self.grads["w"] = self._x.T @ dy  # a new array, not written into the old one
        return dy @ self.params["w"].T

    def output_shape(self, input_shape):
        return (self.params["w"].shape[1],)


def test_a_layer_that_assigns_new_gradient_arrays_trains_like_dense(rng):
    X = rng.standard_normal((64, 3))
    y = rng.integers(0, 2, 64)
    weight = rng.standard_normal((3, 2))
    dense = bn.Dense(3, 2, bias=False, rng=rng)
    dense.params["weight"][...] = weight
    custom = ReassigningDense(weight)
    for layer in (dense, custom):
        bn.Sequential([layer]).compile("cross_entropy", bn.SGD(0.5)).fit(
            X, y, epochs=5, batch_size=16, verbose=0, seed=0
        )
    assert not np.allclose(custom.params["w"], weight)  # it learned
    np.testing.assert_allclose(custom.params["w"], dense.params["weight"], rtol=1e-5)
    # The gradient check reads the same gradients that training steps along.
    assert bn.check_gradients(ReassigningDense(weight), X[:5]) < 1e-6
    model = bn.Sequential([ReassigningDense(weight)]).compile("cross_entropy")
    assert bn.check_gradients(model, X[:5], y[:5]) < 1e-6


def test_a_gradient_of_the_wrong_shape_is_named(rng):
    class SummingGradient(ReassigningDense):
        def backward(self, dy):
            self.grads["w"] = dy.sum(axis=0)  # (2,) instead of (3, 2)
            return dy @ self.params["w"].T

    model = bn.Sequential([SummingGradient(np.ones((3, 2)))]).compile("cross_entropy")
    message = r"gradient for params\['w'\] of shape \(2,\), expected \(3, 2\)"
    with pytest.raises(ValueError, match=message):
        model.fit(rng.standard_normal((8, 3)), rng.integers(0, 2, 8), epochs=1, verbose=0)


def test_forgetting_super_init_is_a_sentence():
    class Forgetful(bn.Layer):
        def __init__(self):
            self.params["w"] = np.zeros(2)

    class QuietlyForgetful(bn.Layer):
        def __init__(self, scale):
            self.scale = scale

    with pytest.raises(TypeError, match=r"must call super\(\).__init__\(\)"):
        Forgetful()
    with pytest.raises(TypeError, match=r"QuietlyForgetful has no params"):
        bn.Sequential([QuietlyForgetful(2.0)])
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        _ = bn.ReLU().missing


def test_astype_gives_gradients_of_the_new_dtype():
    layer = bn.Dense(3, 2, rng=np.random.default_rng(0))
    layer.astype(np.float64)
    for name, param in layer.params.items():
        assert param.dtype == layer.grads[name].dtype == np.float64
        assert layer.grads[name].shape == param.shape and not layer.grads[name].any()


@pytest.mark.parametrize(
    ("layer", "input_shape", "output_shape"),
    [
        (bn.Dense(784, 10), (784,), (10,)),
        (bn.Flatten(), (3, 4, 5), (60,)),
        (bn.Reshape((1, 28, 28)), (784,), (1, 28, 28)),
        (bn.Conv2D(1, 4, 5, stride=2, padding=1), (1, 28, 28), (4, 13, 13)),
        (bn.MaxPool2D(3, stride=2), (4, 9, 8), (4, 4, 3)),
        (bn.AvgPool2D(2), (4, 9, 8), (4, 4, 4)),
        (bn.BatchNorm2d(4), (4, 9, 8), (4, 9, 8)),
        (bn.ReLU(), (7,), (7,)),
    ],
)
def test_output_shape_is_what_forward_returns(layer, input_shape, output_shape):
    assert layer.output_shape(input_shape) == output_shape
    x = np.zeros((2, *input_shape), np.float32)
    assert layer.forward(x, training=True).shape == (2, *output_shape)


def test_output_shape_refuses_what_forward_refuses():
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 784\), got \(N, 28, 28\)"):
        bn.Dense(784, 10).output_shape((28, 28))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 3, H, W\)"):
        bn.Conv2D(3, 4, 3).output_shape((1, 8, 8))


@pytest.mark.parametrize("rate", ["0.5", None, True, 1.0, -0.1])
def test_dropout_rates_are_numbers_in_range(rate):
    with pytest.raises(ValueError, match="Dropout expected a rate in"):
        bn.Dropout(rate)


@pytest.mark.parametrize(
    ("layer", "label"),
    [
        (bn.Dense(784, 128), "Dense(784->128)"),
        (bn.Dropout(0.25), "Dropout(0.25)"),
        (bn.Flatten(), "Flatten"),
        (bn.Reshape((1, 28, 28)), "Reshape(1x28x28)"),
        (bn.Rescaling(1 / 255), "Rescaling(x/255)"),
        (bn.Rescaling(1 / 127.5, -1.0), "Rescaling(x/127.5 - 1)"),
        (bn.Rescaling(3.0, 0.5), "Rescaling(x*3 + 0.5)"),
        (bn.Conv2D(1, 32, 5), "Conv2D(1->32, 5x5)"),
        (bn.Conv2D(3, 8, 3, stride=2, padding=1), "Conv2D(3->8, 3x3, stride 2, padding 1)"),
        (bn.MaxPool2D(2), "MaxPool2D(2x2)"),
        (bn.AvgPool2D(3, stride=2), "AvgPool2D(3x3, stride 2)"),
        (bn.BatchNorm2d(64), "BatchNorm2d(64)"),
        (bn.ReLU(), "ReLU"),
        (bn.LeakyReLU(0.2), "LeakyReLU(0.2)"),
        (bn.Activation(np.tanh, lambda x: 1 - np.tanh(x) ** 2), "Activation(tanh)"),
    ],
)
def test_labels_name_the_class_and_its_sizes(layer, label):
    assert layer.label() == label
