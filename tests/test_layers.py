"""Layers: shapes, configs, input checks, dropout statistics."""

import numpy as np
import pytest

import barenet as bn


def test_dense_computes_x_w_plus_b(rng):
    layer = bn.Dense(3, 2, rng=rng)
    X = rng.standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(layer.forward(X), X @ layer.weight + layer.bias, rtol=1e-6)
    assert layer.weight.shape == (3, 2) and layer.bias.shape == (2,)
    assert layer.weight.dtype == np.float32
    assert set(layer.params) == set(layer.grads) == {"weight", "bias"}


def test_backward_writes_gradients_in_place(rng):
    layer = bn.Dense(3, 2, rng=rng)
    buffer = layer.grads["weight"]
    X = rng.standard_normal((4, 3)).astype(np.float32)
    layer.forward(X)
    layer.backward(np.ones((4, 2), np.float32))
    assert layer.grads["weight"] is buffer
    np.testing.assert_allclose(buffer, X.T @ np.ones((4, 2)), rtol=1e-6)


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
