"""Exercises on losses: softmax cross-entropy from scores, and the mean squared error, each
returning the loss and its gradient.

The right answers come from barenet's ``CrossEntropy`` and ``MeanSquaredError``, and for
gradients from central differences; each mistake is a learner's formula, in plain NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from barenet.exercises.spec import Case, Exercise, Mistake, Section, case, central_differences
from barenet.losses import CrossEntropy, MeanSquaredError

OVERFLOW = Section(3, "Softmax, and why it overflows")
CROSS_ENTROPY = Section(3, "Cross-entropy, from logits")
DERIVATIVE = Section(3, "The derivative the tutorial could not finish")
BY_HAND = Section(2, "The whole backward pass, by hand")


def softmax(z: np.ndarray, shift: bool = True) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True)) if shift else np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def onehot(labels: np.ndarray, classes: int) -> np.ndarray:
    return np.eye(classes)[labels]


def log_likelihood(z: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """log p[n, labels[n]] for each sample, by log-sum-exp: ``(N,)``."""
    shifted = z - z.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return log_p[np.arange(len(z)), labels]


def cross_entropy(z: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    loss = CrossEntropy()
    return loss.forward(z, labels), loss.backward()


def cross_entropy_numerical(z: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    return central_differences(lambda: CrossEntropy().forward(z, labels), {"dz": z})


def mean_squared_error(yhat: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    loss = MeanSquaredError()
    return loss.forward(yhat, y), loss.backward()


def mse_numerical(yhat: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    return central_differences(lambda: MeanSquaredError().forward(yhat, y), {"dyhat": yhat})


def cross_entropy_cases(rng: np.random.Generator) -> list[Case]:
    """A batch of one, float32 and float64, a square batch (N == C, on which subtracting the
    labels themselves runs without an error), scores in the thousands whose labels have a
    probability that rounds to 0, and a case checked by central differences."""
    shapes = (  # label, N, C, dtype, scale of the scores, checked by central differences
        ("a batch of one sample, 10 classes", 1, 10, np.float64, 1.0, False),
        ("5 samples, 3 classes", 5, 3, np.float32, 1.0, False),
        ("4 samples, 4 classes", 4, 4, np.float64, 1.0, False),
        ("scores in the thousands", 3, 5, np.float64, 1000.0, False),
        ("3 samples, 4 classes", 3, 4, np.float64, 1.0, True),
    )
    cases = []
    for label, n, classes, dtype, scale, checked in shapes:
        z = (rng.normal(size=(n, classes)) * scale).astype(dtype)
        labels = rng.integers(0, classes, n) if scale == 1 else z.argmin(axis=1)
        arguments = {"z": z, "labels": labels}
        check = cross_entropy_numerical if checked else None
        cases.append(case(label, dtype, cross_entropy, ("loss", "dz"), arguments, None, check))
    return cases


def mse_cases(rng: np.random.Generator) -> list[Case]:
    shapes = (  # label, (N, M), dtype, checked by central differences
        ("a batch of one sample, 3 outputs", (1, 3), np.float64, False),
        ("4 samples, 2 outputs", (4, 2), np.float32, False),
        ("3 samples, 5 outputs", (3, 5), np.float64, False),
        ("6 samples, 1 output", (6, 1), np.float64, False),
        ("3 samples, 2 outputs", (3, 2), np.float64, True),
    )
    cases = []
    for label, shape, dtype, checked in shapes:
        yhat, y = (rng.normal(size=shape).astype(dtype) for _ in range(2))
        arguments = {"yhat": yhat, "y": y}
        check = mse_numerical if checked else None
        outputs = ("loss", "dyhat")
        cases.append(case(label, dtype, mean_squared_error, outputs, arguments, None, check))
    return cases


def labels_subtracted(divided: bool, as_columns: bool) -> Any:
    """``p - labels``, the labels as a column or as a row, divided by N or not."""

    def gradient(z: np.ndarray, labels: np.ndarray) -> np.ndarray:
        subtracted = labels[:, None] if as_columns else labels
        return (softmax(z) - subtracted) / (len(z) if divided else 1)

    return gradient


def probability_of_label(z: np.ndarray, labels: np.ndarray, shift: bool = True) -> np.ndarray:
    return softmax(z, shift)[np.arange(len(z)), labels]


def p_minus_t(z: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return softmax(z) - onehot(labels, z.shape[1])


CROSS_ENTROPY_MISTAKES = (
    Mistake(
        "loss-summed-over-the-batch",
        "loss",
        "the loss summed over the batch",
        "The loss is the batch mean: -mean(log p[n, label_n]), so its size does not grow "
        "with the batch (and its gradient carries the 1/N).",
        lambda z, labels: -log_likelihood(z, labels).sum(),
        CROSS_ENTROPY,
    ),
    Mistake(
        "loss-averaged-over-classes-too",
        "loss",
        "the loss averaged over every entry",
        "np.mean(t * log p) divides by N x C; only one entry of each one-hot row is not 0, "
        "so the loss is the mean over the N samples: -sum(t * log p) / N.",
        lambda z, labels: -log_likelihood(z, labels).mean() / z.shape[1],
        CROSS_ENTROPY,
    ),
    Mistake(
        "log-of-a-rounded-probability",
        "loss",
        "the log taken of a softmax probability",
        "A probability that rounds to 0 has log -inf. Compute log p directly, "
        "log p = z - max - log(sum(exp(z - max))) (log-sum-exp), and never divide first.",
        lambda z, labels: -np.log(probability_of_label(z, labels)).mean(),
        CROSS_ENTROPY,
        variants=(lambda z, labels: -np.log(probability_of_label(z, labels, False)).mean(),),
    ),
    Mistake(
        "gradient-not-divided-by-the-batch",
        "dz",
        "the gradient not divided by the batch size",
        "The loss is a mean over N samples, so its gradient is (p - t) / N, one-hot t.",
        p_minus_t,
        DERIVATIVE,
    ),
    Mistake(
        "labels-not-one-hot",
        "dz",
        "the labels not turned into one-hot rows",
        "p - labels subtracts the class numbers themselves, broadcast over a row or a "
        "column. Make one-hot rows t = np.eye(C)[labels] and use (p - t) / N.",
        labels_subtracted(True, True),
        DERIVATIVE,
        variants=(
            labels_subtracted(True, False),
            labels_subtracted(False, True),
            labels_subtracted(False, False),
        ),
    ),
    Mistake(
        "gradient-averaged-over-classes-too",
        "dz",
        "the gradient divided by every entry (N x C) instead of N",
        "The loss is a mean over the N samples, not over N x C entries: dz = (p - t) / N.",
        lambda z, labels: p_minus_t(z, labels) / z.size,
        DERIVATIVE,
    ),
    Mistake(
        "gradient-sign-flipped",
        "dz",
        "the gradient's sign flipped (t - p)",
        "Raising the right class's score lowers the loss, so its gradient is negative "
        "there: dz = (p - t) / N.",
        lambda z, labels: -p_minus_t(z, labels) / len(z),
        DERIVATIVE,
    ),
    Mistake(
        "max-not-subtracted",
        "dz",
        "the softmax without subtracting the maximum",
        "exp overflows past 709 (88 in float32), and inf / inf is NaN. Subtract each row's "
        "maximum first: e = np.exp(z - z.max(axis=1, keepdims=True)).",
        lambda z, labels: (softmax(z, False) - onehot(labels, z.shape[1])) / len(z),
        OVERFLOW,
    ),
)


def scaled_difference(factor: str) -> Any:
    """``factor * (yhat - y)``, the factor one of "2/size", "1/size", "2/N", "1/N", "2", "1"."""
    numerator, denominator = factor.split("/") if "/" in factor else (factor, "")

    def gradient(yhat: np.ndarray, y: np.ndarray) -> np.ndarray:
        count = {"size": yhat.size, "N": len(yhat), "": 1}[denominator]
        return float(numerator) * (yhat - y) / count

    return gradient


RIGHT = "dyhat = 2 * (yhat - y) / yhat.size"
MSE_MISTAKES = (
    Mistake(
        "loss-divided-by-the-batch",
        "loss",
        "the loss divided by N, not by every entry",
        "np.sum(...) / N averages each sample's sum; the loss asked for is the mean over all "
        "N x M entries, np.mean((yhat - y)**2).",
        lambda yhat, y: np.sum((yhat - y) ** 2) / len(yhat),
        BY_HAND,
    ),
    Mistake(
        "loss-summed",
        "loss",
        "the loss summed instead of averaged",
        "The loss is a mean, whatever the batch size: np.mean((yhat - y)**2).",
        lambda yhat, y: np.sum((yhat - y) ** 2),
        BY_HAND,
    ),
    Mistake(
        "loss-halved",
        "loss",
        "the loss halved (the 1/2 convention)",
        "Some texts minimise half the squared error; this exercise asks for the mean itself, "
        "np.mean((yhat - y)**2).",
        lambda yhat, y: np.mean((yhat - y) ** 2) / 2,
        BY_HAND,
    ),
    Mistake(
        "two-forgotten",
        "dyhat",
        "the 2 of the square's derivative forgotten",
        f"The derivative of (yhat - y)**2 is 2 * (yhat - y), so {RIGHT}.",
        scaled_difference("1/size"),
        BY_HAND,
    ),
    Mistake(
        "gradient-divided-by-the-batch",
        "dyhat",
        "the gradient divided by N instead of by every entry",
        f"The loss divides by all N x M entries, so its gradient does too: {RIGHT}.",
        scaled_difference("2/N"),
        BY_HAND,
    ),
    Mistake(
        "two-forgotten-and-divided-by-the-batch",
        "dyhat",
        "the 2 forgotten, and the gradient divided by N instead of by every entry",
        "The derivative of (yhat - y)**2 is 2 * (yhat - y), and the mean divides by all N x M "
        f"entries: {RIGHT}.",
        scaled_difference("1/N"),
        BY_HAND,
    ),
    Mistake(
        "gradient-not-averaged",
        "dyhat",
        "the gradient not divided by the batch size",
        f"The loss is a mean over all N x M entries, so its gradient carries 1 / yhat.size: "
        f"{RIGHT}.",
        scaled_difference("2"),
        BY_HAND,
        variants=(scaled_difference("1"),),
    ),
    Mistake(
        "gradient-sign-flipped",
        "dyhat",
        "the gradient's sign flipped (y - yhat)",
        f"Moving yhat towards y lowers the loss: {RIGHT}.",
        scaled_difference("-2/size"),
        BY_HAND,
    ),
)

EXERCISES = (
    Exercise(
        name="softmax_cross_entropy",
        arguments=("z", "labels"),
        options={},
        outputs=("loss", "dz"),
        returns="(loss, dz): the batch mean, a number; dz (N, C)",
        description="cross-entropy of softmax(z) for integer labels (N,), and dL/dz",
        section=DERIVATIVE,
        make_cases=cross_entropy_cases,
        mistakes=CROSS_ENTROPY_MISTAKES,
        scalars=frozenset({"loss"}),
    ),
    Exercise(
        name="mse",
        arguments=("yhat", "y"),
        options={},
        outputs=("loss", "dyhat"),
        returns="(loss, dyhat): the mean over every entry, a number; dyhat (N, M)",
        description="the mean squared error of predictions yhat (N, M), and dL/dyhat",
        section=BY_HAND,
        make_cases=mse_cases,
        mistakes=MSE_MISTAKES,
        scalars=frozenset({"loss"}),
    ),
)
