"""The batch-normalisation exercise: its backward pass with the batch's own statistics, which
depend on every input.

The right answers come from ``barenet.normalization.BatchNorm1d`` and from central differences;
each mistake is a learner's formula, in plain NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from barenet.exercises.spec import Case, Exercise, Mistake, Section, case, central_differences
from barenet.normalization import BatchNorm1d

BATCH_NORM = Section(7, "Batch normalisation")


def textbook_norm(gamma: np.ndarray, beta: np.ndarray, eps: float) -> BatchNorm1d:
    """barenet's BatchNorm1d holding ``gamma`` and ``beta`` (D,) themselves (not copies)."""
    layer = BatchNorm1d(len(gamma), eps=eps)
    layer.params["weight"], layer.params["bias"] = gamma, beta
    return layer


def norm_reference(
    dy: np.ndarray, x: np.ndarray, gamma: np.ndarray, eps: float = 1e-5
) -> tuple[np.ndarray, ...]:
    layer = textbook_norm(gamma, np.zeros_like(gamma), eps)
    layer.forward(x, training=True)  # the batch's own mean and variance
    dx = layer.backward(dy)
    return dx, layer.grads["weight"], layer.grads["bias"]


def norm_numerical(
    dy: np.ndarray, x: np.ndarray, gamma: np.ndarray, eps: float = 1e-5
) -> dict[str, Any]:
    beta = np.zeros_like(gamma)
    layer = textbook_norm(gamma, beta, eps)

    def total() -> float:
        return float(np.sum(layer.forward(x, training=True) * dy))

    return central_differences(total, {"dx": x, "dgamma": gamma, "dbeta": beta})


def norm_cases(rng: np.random.Generator) -> list[Case]:
    """Batches of 2 (the fewest with a variance; a batch of one has none), 5 and 8 samples,
    float32 and float64, another eps, and a case checked by central differences."""
    shapes: tuple[tuple[Any, ...], ...] = (  # label, (N, D), dtype, options, checked
        ("a batch of 2 samples, 3 features", (2, 3), np.float64, {}, False),
        ("5 samples of 4 features", (5, 4), np.float32, {}, False),
        ("8 samples of 3 features", (8, 3), np.float64, {"eps": 1e-3}, False),
        ("4 samples of 3 features", (4, 3), np.float64, {}, True),
    )
    cases = []
    for label, (n, d), dtype, options, checked in shapes:
        x = (2 + 3 * rng.normal(size=(n, d))).astype(dtype)
        arguments = {"dy": rng.normal(size=(n, d)).astype(dtype), "x": x}
        arguments["gamma"] = (0.5 + rng.random(d)).astype(dtype)
        numerical = norm_numerical if checked else None
        outputs = ("dx", "dgamma", "dbeta")
        cases.append(case(label, dtype, norm_reference, outputs, arguments, options, numerical))
    return cases


def standardised(x: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """``(x_hat, 1 / sqrt(var + eps))`` with the batch's mean and (biased) variance."""
    inverse_std = 1 / np.sqrt(x.var(axis=0) + eps)
    return (x - x.mean(axis=0)) * inverse_std, inverse_std


def norm_dx(mean_term: bool = True, variance_term: bool = True, scaled: bool = True) -> Any:
    """``dx = gamma / std * (dy - mean(dy) - x_hat * mean(dy * x_hat))``, with terms left out."""

    def dx(dy: np.ndarray, x: np.ndarray, gamma: np.ndarray, eps: float = 1e-5) -> np.ndarray:
        x_hat, inverse_std = standardised(x, eps)
        g = dy - mean_term * dy.mean(axis=0) - variance_term * x_hat * (dy * x_hat).mean(axis=0)
        return (gamma if scaled else 1) * inverse_std * g

    return dx


def x_hat_times(dy: np.ndarray, x: np.ndarray, eps: float) -> np.ndarray:
    return dy * standardised(x, eps)[0]


NORM_MISTAKES = (
    Mistake(
        "statistics-as-constants",
        "dx",
        "the batch's mean and variance treated as constants (dx = dy * gamma / std)",
        "The mean and the variance are computed from every x of the batch, so each x also "
        "moves the others' outputs through them: dx = gamma / std * (dy - mean(dy) - x_hat "
        "* mean(dy * x_hat)), means over the batch axis.",
        norm_dx(False, False),
        BATCH_NORM,
    ),
    Mistake(
        "mean-term-forgotten",
        "dx",
        "the mean's term of dx forgotten",
        "Through the batch mean, every x pulls on every output: subtract mean(dy), "
        "dx = gamma / std * (dy - mean(dy) - x_hat * mean(dy * x_hat)).",
        norm_dx(mean_term=False),
        BATCH_NORM,
    ),
    Mistake(
        "variance-term-forgotten",
        "dx",
        "the variance's term of dx forgotten",
        "Through the batch variance, every x pulls on every output: subtract "
        "x_hat * mean(dy * x_hat), dx = gamma / std * (dy - mean(dy) - x_hat * "
        "mean(dy * x_hat)).",
        norm_dx(variance_term=False),
        BATCH_NORM,
    ),
    Mistake(
        "gamma-forgotten",
        "dx",
        "gamma left out of dx",
        "y = gamma * x_hat + beta, so the gradient reaching x_hat is dy * gamma: "
        "dx = gamma / std * (dy - mean(dy) - x_hat * mean(dy * x_hat)).",
        norm_dx(scaled=False),
        BATCH_NORM,
    ),
    Mistake(
        "gamma-gradient-summed-over-every-axis",
        "dgamma",
        "the gamma gradient summed over every axis",
        "Each feature has its own gamma: sum over the batch axis only, "
        "dgamma = (dy * x_hat).sum(axis=0), the shape of gamma.",
        lambda dy, x, gamma, eps=1e-5: x_hat_times(dy, x, eps).sum(),
        BATCH_NORM,
    ),
    Mistake(
        "gamma-gradient-not-summed",
        "dgamma",
        "the gamma gradient not summed over the batch",
        "Every sample uses the same gamma, so their gradients add up: "
        "dgamma = (dy * x_hat).sum(axis=0), the shape of gamma.",
        lambda dy, x, gamma, eps=1e-5: x_hat_times(dy, x, eps),
        BATCH_NORM,
    ),
    Mistake(
        "gamma-gradient-of-x",
        "dgamma",
        "the gamma gradient computed with x, not x_hat",
        "gamma multiplies the standardised x_hat = (x - mean) / std, so "
        "dgamma = (dy * x_hat).sum(axis=0).",
        lambda dy, x, gamma, eps=1e-5: (dy * x).sum(axis=0),
        BATCH_NORM,
    ),
    Mistake(
        "beta-gradient-summed-over-every-axis",
        "dbeta",
        "the beta gradient summed over every axis",
        "Each feature has its own beta: sum over the batch axis only, "
        "dbeta = dy.sum(axis=0), the shape of beta.",
        lambda dy, x, gamma, eps=1e-5: dy.sum(),
        BATCH_NORM,
    ),
    Mistake(
        "beta-gradient-not-summed",
        "dbeta",
        "the beta gradient not summed over the batch",
        "Every sample uses the same beta, so their gradients add up: "
        "dbeta = dy.sum(axis=0), the shape of beta.",
        lambda dy, x, gamma, eps=1e-5: dy,
        BATCH_NORM,
    ),
)


EXERCISES = (
    Exercise(
        name="batchnorm_backward",
        arguments=("dy", "x", "gamma"),
        options={"eps": 1e-5},
        outputs=("dx", "dgamma", "dbeta"),
        returns="(dx, dgamma, dbeta), the shapes of x (N, D), gamma and beta (D,)",
        description="the gradients of batch norm with the batch's mean and variance",
        section=BATCH_NORM,
        make_cases=norm_cases,
        mistakes=NORM_MISTAKES,
    ),
)
