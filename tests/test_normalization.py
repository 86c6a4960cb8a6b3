"""Batch norm: gradients in both modes, statistics in training and at inference."""

import numpy as np
import pytest

import barenet as bn

TOLERANCE = 1e-6


@pytest.mark.parametrize(
    "layer_class, shape", [(bn.BatchNorm1d, (6, 3)), (bn.BatchNorm2d, (4, 3, 2, 2))]
)
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradients_in_both_modes(layer_class, shape, training, rng):
    layer = layer_class(3)
    layer.params["weight"][:] = rng.uniform(0.5, 2, 3)
    layer.params["bias"][:] = rng.standard_normal(3)
    layer.buffers["running_mean"][:] = rng.standard_normal(3)
    layer.buffers["running_var"][:] = rng.uniform(0.5, 2, 3)
    errors = bn.gradient_errors(layer, rng.standard_normal(shape), training=training, rng=rng)
    assert max(errors.values()) < TOLERANCE, errors


def test_batch_norm_standardizes_in_training_and_uses_running_stats_after(rng):
    layer = bn.BatchNorm2d(2, momentum=0.5).astype(np.float64)
    x = 3 + 2 * rng.standard_normal((8, 2, 4, 4))
    y = layer.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=(0, 2, 3)), 1, atol=1e-4)
    # running = (1 - momentum) * initial + momentum * batch (unbiased variance, as PyTorch).
    np.testing.assert_allclose(layer.buffers["running_mean"], 0.5 * x.mean(axis=(0, 2, 3)))
    unbiased = x.var(axis=(0, 2, 3), ddof=1)
    np.testing.assert_allclose(layer.buffers["running_var"], 0.5 + 0.5 * unbiased)
    inference = layer.forward(x[:1])  # one sample: depends on the running statistics only
    expected = (x[:1] - layer.buffers["running_mean"].reshape(1, 2, 1, 1)) / np.sqrt(
        layer.buffers["running_var"].reshape(1, 2, 1, 1) + layer.eps
    )
    np.testing.assert_allclose(inference, expected)
