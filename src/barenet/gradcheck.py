"""Numerical gradient checking with central differences, in float64.

For a layer, the checked scalar is ``sum(forward(x) * G)`` with a random upstream gradient ``G``,
so ``backward(G)`` must return its exact derivative. For a loss it is the loss itself; for a model,
its compiled loss on ``(X, y)``. Every evaluation runs on a fresh copy of the object, so layers
that draw random numbers (Dropout) see the same draws each time.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from barenet.layers import Layer
from barenet.losses import Loss
from barenet.model import Sequential


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """``||a - n|| / (||a|| + ||n||)``, 0 when both are zero."""
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return 0.0 if scale == 0 else float(np.linalg.norm(analytic - numeric) / scale)


def numerical_gradient(f: Callable[[], float], array: np.ndarray, eps: float) -> np.ndarray:
    """Central differences ``(f(a + eps) - f(a - eps)) / 2 eps`` for each element of ``array``.

    ``f`` reads ``array``, which is perturbed in place and restored.
    """
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        original = array[index]
        array[index] = original + eps
        plus = f()
        array[index] = original - eps
        minus = f()
        array[index] = original
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def gradient_errors(
    target: Layer | Loss | Sequential,
    X: np.ndarray,
    y: np.ndarray | None = None,
    *,
    training: bool = True,
    eps: float = 1e-6,
    rng: np.random.Generator | None = None,
) -> dict[str, float]:
    """Relative error of each analytic gradient: ``{"input": ..., "weight": ..., ...}``.

    Args:
        target: a layer, a loss (X are its predictions, y its labels) or a compiled model.
        X: the input at which to check.
        y: labels, for a loss or a model.
        training: the mode the layer or model runs in (Dropout only drops when training).
        eps: the finite-difference step.
        rng: draws the upstream gradient for a layer.
    """
    X = np.array(X, dtype=np.float64)
    base = _as_float64(target)
    evaluate: Callable[[Any, np.ndarray], float]
    if isinstance(base, Loss):
        if y is None:
            raise ValueError("Checking a loss needs labels: pass y.")
        labels = y
        evaluate = lambda loss, x: loss.forward(x, labels)  # noqa: E731
    elif isinstance(base, Sequential):
        if base.loss is None or y is None:
            raise ValueError("Checking a model needs a compiled loss and labels y.")
        labels = y
        evaluate = lambda model, x: model.loss.forward(  # noqa: E731
            model.forward(x, training, logits=True), labels
        )
    elif isinstance(base, Layer):
        rng = rng if rng is not None else np.random.default_rng(0)
        upstream = rng.standard_normal(copy.deepcopy(base).forward(X, training).shape)
        evaluate = lambda layer, x: float(np.sum(layer.forward(x, training) * upstream))  # noqa: E731
    else:
        raise ValueError(f"Cannot check gradients of {target!r}: pass a Layer, Loss or Sequential.")

    # Analytic gradients, from one forward and backward on a copy.
    worker = copy.deepcopy(base)
    evaluate(worker, X)
    if isinstance(worker, Loss):
        analytic = {"input": worker.backward()}
    elif isinstance(worker, Sequential):
        assert worker.loss is not None
        analytic = {"input": worker.backward(worker.loss.backward(), logits=True)}
        analytic |= {name: grad.copy() for name, _, grad in worker.parameters()}
    else:
        analytic = {"input": worker.backward(upstream)}
        analytic |= {name: grad.copy() for name, grad in worker.grads.items()}

    # Numerical gradients: perturb the input, then each parameter of `base`, one at a time.
    fresh = lambda: evaluate(copy.deepcopy(base), X)  # noqa: E731
    errors = {"input": relative_error(analytic["input"], numerical_gradient(fresh, X, eps))}
    for name, param in _named_params(base):
        errors[name] = relative_error(analytic[name], numerical_gradient(fresh, param, eps))
    return errors


def check_gradients(
    target: Layer | Loss | Sequential,
    X: np.ndarray,
    y: np.ndarray | None = None,
    *,
    training: bool = True,
    eps: float = 1e-6,
    rng: np.random.Generator | None = None,
) -> float:
    """The largest relative error over the input gradient and every parameter gradient.

    Well-implemented layers score below 1e-6 in float64. See ``gradient_errors`` for arguments.
    """
    return max(gradient_errors(target, X, y, training=training, eps=eps, rng=rng).values())


def _as_float64(target: Layer | Loss | Sequential) -> Layer | Loss | Sequential:
    target = copy.deepcopy(target)
    if isinstance(target, Layer):
        target.astype(np.float64)
    elif isinstance(target, Sequential):
        target.dtype = np.dtype(np.float64)
        for layer in target.layers:
            layer.astype(np.float64)
    return target


def _named_params(target: Layer | Loss | Sequential) -> list[tuple[str, np.ndarray]]:
    if isinstance(target, Sequential):
        return [(name, param) for name, param, _ in target.parameters()]
    if isinstance(target, Layer):
        return list(target.params.items())
    return []
