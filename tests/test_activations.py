"""Activations: stable functions, derivatives against their definitions, names and custom ones.
(Every activation layer is also gradient-checked in test_gradcheck.)"""

import numpy as np
import pytest

import barenet as bn
from barenet.activations import log_softmax, logsumexp, sigmoid, softmax

# Every test here runs on the textbook alone and on the default engine.
pytestmark = pytest.mark.usefixtures("wing")


def test_sigmoid_never_overflows_and_matches_the_formula():
    x = np.array([-1000.0, -5.0, 0.0, 5.0, 1000.0])
    with np.errstate(over="raise"):
        y = sigmoid(x)
    np.testing.assert_allclose(y[1:4], 1 / (1 + np.exp(-x[1:4])))
    assert y[0] == 0.0 and y[-1] == 1.0
    assert sigmoid(x.astype(np.float32)).dtype == np.float32


def test_softmax_rows_sum_to_one_and_ignore_a_shift():
    x = np.array([[1.0, 2.0, 3.0], [1000.0, 1001.0, 1002.0]])
    p = softmax(x)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(p[0], p[1])
    np.testing.assert_allclose(log_softmax(x), np.log(p))


def test_softmax_backward_is_the_jacobian_vector_product(rng):
    x = rng.standard_normal((1, 4))
    dy = rng.standard_normal((1, 4))
    layer = bn.Softmax()
    y = layer.forward(x)[0]
    jacobian = np.diag(y) - np.outer(y, y)
    np.testing.assert_allclose(layer.backward(dy)[0], jacobian @ dy[0])


def test_relu_and_leaky_relu_pass_gradients_where_the_input_is_positive():
    x = np.array([[-2.0, 0.5, 3.0]])
    relu, leaky = bn.ReLU(), bn.LeakyReLU(0.1)
    np.testing.assert_array_equal(relu.forward(x), [[0.0, 0.5, 3.0]])
    np.testing.assert_array_equal(relu.backward(np.ones_like(x)), [[0.0, 1.0, 1.0]])
    np.testing.assert_allclose(leaky.forward(x), [[-0.2, 0.5, 3.0]])
    np.testing.assert_allclose(leaky.backward(np.ones_like(x)), [[0.1, 1.0, 1.0]])


def test_a_custom_activation_as_the_tutorials_write_it():
    tanh = bn.Activation(np.tanh, lambda x: 1 - np.tanh(x) ** 2)
    x = np.array([[0.0, 1.0]])
    np.testing.assert_allclose(tanh.forward(x), np.tanh(x))
    np.testing.assert_allclose(tanh.backward(np.ones_like(x)), 1 - np.tanh(x) ** 2)
    with pytest.raises(ValueError, match="cannot store"):
        bn.Activation.from_config({})


def test_activations_by_name():
    assert isinstance(bn.get_activation("leaky_relu"), bn.LeakyReLU)
    assert set(bn.ACTIVATIONS) == {"relu", "leaky_relu", "sigmoid", "tanh", "softmax"}
    with pytest.raises(ValueError, match="Unknown activation 'gelu'. Expected one of: leaky_relu"):
        bn.get_activation("gelu")


def test_a_custom_activation_needs_two_functions():
    with pytest.raises(ValueError, match="expected a function fn, e.g. np.tanh. Received: 'tanh'"):
        bn.Activation("tanh", None)
    with pytest.raises(ValueError, match="expected a function derivative"):
        bn.Activation(np.tanh, None)


def test_logsumexp_matches_the_direct_formula_and_does_not_overflow():
    x = np.random.default_rng(0).normal(size=(3, 4, 5))
    for axis in range(3):
        np.testing.assert_allclose(logsumexp(x, axis), np.log(np.exp(x).sum(axis=axis)))
    huge = np.array([[1000.0, 1000.0], [-1000.0, -1000.0]], np.float32)
    np.testing.assert_allclose(logsumexp(huge, 1), [1000 + np.log(2), -1000 + np.log(2)])
