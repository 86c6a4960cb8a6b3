"""Batch norm: gradients in both modes, statistics in training and at inference."""

import numpy as np
import pytest

import barenet as bn

# Every test here runs on the textbook alone and on the default engine.
pytestmark = pytest.mark.usefixtures("wing")

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


def _laid_out(x: np.ndarray, order: tuple[int, ...]) -> np.ndarray:
    """``x`` with the same values, stored with its axes in ``order`` (outermost first)."""
    return np.ascontiguousarray(x.transpose(order)).transpose(np.argsort(order))


@pytest.mark.parametrize("order", [(0, 1, 2, 3), (1, 0, 2, 3), (0, 2, 3, 1)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_2d_gives_the_same_numbers_in_every_memory_layout(order, training, rng):
    """A convolution hands over (C, N, H, W) or (N, H, W, C) memory seen as (N, C, H, W): the
    per-channel sums must not depend on it. Reference: the textbook formulas in float64."""
    layer = bn.BatchNorm2d(3).astype(np.float64)
    layer.params["weight"][:] = rng.uniform(0.5, 2, 3)
    layer.params["bias"][:] = rng.standard_normal(3)
    x = 5 + 2 * rng.standard_normal((4, 3, 5, 6))
    dy = rng.standard_normal(x.shape)
    y = layer.forward(_laid_out(x, order), training=training)
    dx = layer.backward(_laid_out(dy, order))
    axes, weight = (0, 2, 3), layer.params["weight"].reshape(1, 3, 1, 1)
    mean = x.mean(axis=axes, keepdims=True) if training else 0.0
    var = x.var(axis=axes, keepdims=True) if training else 1.0
    x_hat = (x - mean) / np.sqrt(var + layer.eps)
    np.testing.assert_allclose(y, weight * x_hat + layer.params["bias"].reshape(1, 3, 1, 1))
    np.testing.assert_allclose(layer.grads["weight"], (dy * x_hat).sum(axis=axes))
    np.testing.assert_allclose(layer.grads["bias"], dy.sum(axis=axes))
    scale = weight / np.sqrt(var + layer.eps)
    if training:
        d_mean, d_x_hat = (
            dy.mean(axis=axes, keepdims=True),
            (dy * x_hat).mean(axis=axes, keepdims=True),
        )
        np.testing.assert_allclose(dx, scale * (dy - d_mean - x_hat * d_x_hat), atol=1e-12)
    else:
        np.testing.assert_allclose(dx, scale * dy)
