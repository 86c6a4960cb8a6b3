"""Exercises on the dense layer: ``y = x @ w + b``, and its three gradients.

The right answers come from ``barenet.layers.Dense`` and from central differences; each mistake
is the formula a learner writes, computed here in plain NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from barenet.exercises.spec import Case, Exercise, Mistake, Section, case, central_differences
from barenet.layers import Dense

DENSE = Section(2, "A dense layer, with shapes")

# label, N, D, M, dtype, checked by central differences. A batch of one, non-square weights,
# and square ones (D == M), on which the (out, in) layout's formulas run without an error.
SHAPES = (
    ("a batch of one sample", 1, 3, 4, np.float64, False),
    ("5 samples, 3 inputs, 2 outputs", 5, 3, 2, np.float32, False),
    ("4 samples, 3 inputs, 3 outputs", 4, 3, 3, np.float64, False),
    ("6 samples, 7 inputs, 5 outputs", 6, 7, 5, np.float64, False),
    ("3 samples, 4 inputs, 2 outputs", 3, 4, 2, np.float64, True),
)


def textbook_dense(w: np.ndarray, b: np.ndarray) -> Dense:
    """barenet's Dense layer holding ``w`` (D, M) and ``b`` (M,) themselves (not copies)."""
    layer = Dense(w.shape[0], w.shape[1], rng=np.random.default_rng(0))
    layer.params["weight"], layer.params["bias"] = w, b
    return layer


def forward_reference(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    return textbook_dense(w, b).forward(x)


def backward_reference(dy: np.ndarray, x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, ...]:
    layer = textbook_dense(w, np.zeros(w.shape[1], w.dtype))
    layer.forward(x, training=True)
    dx = layer.backward(dy)
    return dx, layer.grads["weight"], layer.grads["bias"]


def backward_numerical(dy: np.ndarray, x: np.ndarray, w: np.ndarray) -> dict[str, Any]:
    """dx, dw, db of ``sum(dense(x) * dy)`` by central differences."""
    b = np.zeros(w.shape[1])
    layer = textbook_dense(w, b)
    return central_differences(
        lambda: float(np.sum(layer.forward(x) * dy)), {"dx": x, "dw": w, "db": b}
    )


def forward_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for label, n, d, m, dtype, _ in SHAPES:
        x, w, b = (rng.normal(size=shape).astype(dtype) for shape in ((n, d), (d, m), (m,)))
        cases.append(case(label, dtype, forward_reference, ("y",), {"x": x, "w": w, "b": b}))
    return cases


def backward_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for label, n, d, m, dtype, checked in SHAPES:
        dy, x, w = (rng.normal(size=shape).astype(dtype) for shape in ((n, m), (n, d), (d, m)))
        numerical = backward_numerical if checked else None
        arguments = {"dy": dy, "x": x, "w": w}
        outputs = ("dx", "dw", "db")
        cases.append(case(label, dtype, backward_reference, outputs, arguments, None, numerical))
    return cases


OUT_IN = (
    "barenet's w is (in, out), so y = x @ w and dx = dy @ w.T; the tutorials' (out, in) layout "
    "has its transposes the other way round."
)

FORWARD_MISTAKES = (
    Mistake(
        "weight-transposed",
        "y",
        "the weight used in the (out, in) layout (x @ w.T)",
        "Here w has shape (D, M) and y = x @ w + b. " + OUT_IN,
        lambda x, w, b: x @ w.T + b,
        DENSE,
    ),
    Mistake(
        "bias-forgotten",
        "y",
        "the bias forgotten",
        "y = x @ w + b: add b, which broadcasts over the rows (one row per sample).",
        lambda x, w, b: x @ w,
        DENSE,
    ),
)

BACKWARD_MISTAKES = (
    Mistake(
        "bias-summed-over-every-axis",
        "db",
        "the bias gradient summed over every axis",
        "np.sum(dy) adds all N x M numbers into one, but each output unit has its own bias: "
        "sum over the batch axis only, db = dy.sum(axis=0), one entry per unit, like b.",
        lambda dy, x, w: dy.sum(),
        DENSE,
    ),
    Mistake(
        "bias-sum-kept-its-axis",
        "db",
        "the bias gradient summed with keepdims=True",
        "The numbers are right but the shape is (1, M), not b's (M,): the column layout's "
        "delta.sum(axis=1, keepdims=True) becomes dy.sum(axis=0) here.",
        lambda dy, x, w: dy.sum(axis=0, keepdims=True),
        DENSE,
    ),
    Mistake(
        "bias-not-summed-over-the-batch",
        "db",
        "the bias gradient not summed over the batch",
        "db = dy keeps one row per sample (right only for a batch of one). Every sample uses "
        "the same b, so their gradients add up: db = dy.sum(axis=0).",
        lambda dy, x, w: dy,
        DENSE,
    ),
    Mistake(
        "bias-averaged-over-the-batch",
        "db",
        "the bias gradient divided by the batch size",
        "dy already carries the loss's 1/N (the loss is a mean), so db = dy.sum(axis=0), not "
        "dy.mean(axis=0).",
        lambda dy, x, w: dy.mean(axis=0),
        DENSE,
    ),
    Mistake(
        "weight-gradient-transposed",
        "dw",
        "the weight gradient transposed (the (out, in) layout)",
        "dw = x.T @ dy has the shape of w, (D, M); dy.T @ x is its transpose. " + OUT_IN,
        lambda dy, x, w: dy.T @ x,
        DENSE,
    ),
    Mistake(
        "weight-gradient-averaged",
        "dw",
        "the weight gradient divided by the batch size",
        "dy already carries the loss's 1/N (the loss is a mean), so dw = x.T @ dy, with no "
        "further division.",
        lambda dy, x, w: x.T @ dy / len(x),
        DENSE,
    ),
    Mistake(
        "input-gradient-without-transpose",
        "dx",
        "the input gradient computed with w instead of w.T",
        "dx = dy @ w.T: (N, M) times (M, D) gives (N, D), the shape of x.",
        lambda dy, x, w: dy @ w,
        DENSE,
    ),
    Mistake(
        "input-gradient-transposed",
        "dx",
        "the input gradient transposed (the column layout)",
        "w @ dy.T is (D, N), one column per sample; here samples are rows and dx has the shape "
        "of x: dx = dy @ w.T.",
        lambda dy, x, w: w @ dy.T,
        DENSE,
    ),
)

EXERCISES = (
    Exercise(
        name="dense_forward",
        arguments=("x", "w", "b"),
        options={},
        outputs=("y",),
        returns="y (N, M), for x (N, D), w (D, M), b (M,)",
        description="a dense layer's output, y = x @ w + b",
        section=DENSE,
        make_cases=forward_cases,
        mistakes=FORWARD_MISTAKES,
    ),
    Exercise(
        name="dense_backward",
        arguments=("dy", "x", "w"),
        options={},
        outputs=("dx", "dw", "db"),
        returns="(dx, dw, db), the shapes of x, w and b",
        description="the gradients of a dense layer from dy = dL/dy",
        section=DENSE,
        make_cases=backward_cases,
        mistakes=BACKWARD_MISTAKES,
    ),
)
