"""Exercises on activations: the backward pass of ReLU, sigmoid and tanh, and the softmax.

The right answers come from barenet's ``ReLU``, ``Sigmoid``, ``Tanh`` and ``softmax``, and for
gradients from central differences; each mistake is a learner's formula, in plain NumPy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from barenet.activations import ReLU, Sigmoid, Tanh, softmax
from barenet.exercises.spec import Case, Exercise, Mistake, Section, case, central_differences
from barenet.layers import Layer

ACTIVATION = Section(2, "An activation")
TUTORIAL = Section(4, "The ReLU-ReLU-sigmoid network: two mistakes that still train")
SOFTMAX = Section(3, "Softmax, and why it overflows")


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def backward_reference(layer: type[Layer]) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``(dy, x) -> dx`` of barenet's activation layer ``layer``."""

    def reference(dy: np.ndarray, x: np.ndarray) -> np.ndarray:
        activation = layer()
        activation.forward(x, training=True)
        return activation.backward(dy)

    return reference


def backward_numerical(layer: type[Layer]) -> Callable[[np.ndarray, np.ndarray], dict[str, Any]]:
    """``(dy, x) -> {"dx": ...}``: the gradient of ``sum(layer(x) * dy)`` by central
    differences."""

    def numerical(dy: np.ndarray, x: np.ndarray) -> dict[str, Any]:
        activation = layer()
        return central_differences(lambda: float(np.sum(activation.forward(x) * dy)), {"dx": x})

    return numerical


# label, (N, D), dtype, scale of the pre-activations, checked by central differences
SHAPES = (
    ("a batch of one sample", (1, 5), np.float64, 1.0, False),
    ("4 samples of 3 features", (4, 3), np.float32, 1.0, False),
    ("3 samples of 7 features", (3, 7), np.float64, 1.0, False),
    ("large pre-activations (saturated units)", (2, 5), np.float64, 20.0, False),
    ("3 samples of 4 features", (3, 4), np.float64, 1.0, True),
)


def elementwise_cases(layer: type[Layer]) -> Callable[[np.random.Generator], list[Case]]:
    """A batch of one, non-square batches in float32 and float64, saturated units, and a case
    checked by central differences; no input lies near ReLU's kink at 0."""
    reference, numerical = backward_reference(layer), backward_numerical(layer)

    def cases(rng: np.random.Generator) -> list[Case]:
        found = []
        for label, shape, dtype, scale, checked in SHAPES:
            x = rng.normal(size=shape) * scale
            x[np.abs(x) < 0.05] = 0.5  # away from the kink, for central differences
            arguments = {"dy": rng.normal(size=shape).astype(dtype), "x": x.astype(dtype)}
            check = numerical if checked else None
            found.append(case(label, dtype, reference, ("dx",), arguments, numerical=check))
        return found

    return cases


def softmax_cases(rng: np.random.Generator) -> list[Case]:
    """Ordinary scores, a square batch (on which a forgotten keepdims runs without an error),
    scores near 1000 (where exp overflows) and rows a thousand apart (where one shift for the
    whole matrix underflows)."""
    large = rng.normal(size=(3, 4)) * 5 + np.array([[1000.0], [1000.0], [0.0]])
    far_apart = rng.normal(size=(3, 4)) + np.array([[1000.0], [-1000.0], [0.0]])
    inputs = (
        ("a batch of one sample, 10 classes", rng.normal(size=(1, 10)), np.float64),
        ("5 samples, 3 classes", rng.normal(size=(5, 3)), np.float32),
        ("4 samples, 4 classes", rng.normal(size=(4, 4)), np.float64),
        ("scores near 1000 (and one ordinary row)", large, np.float64),
        ("scores near 1000, -1000 and 0 in one batch", far_apart, np.float32),
    )
    return [
        case(label, dtype, softmax, ("p",), {"z": z.astype(dtype)}) for label, z, dtype in inputs
    ]


RELU_MISTAKES = (
    Mistake(
        "relu-derivative-above-1",
        "dx",
        "the ReLU derivative written (x > 1)",
        "ReLU's slope is 1 wherever x > 0, so units with 0 < x <= 1 pass their gradient back "
        "too: dx = dy * (x > 0).",
        lambda dy, x: dy * (x > 1),
        TUTORIAL,
    ),
    Mistake(
        "derivative-without-dy",
        "dx",
        "the derivative returned without multiplying by dy",
        "(x > 0) is ReLU's derivative f'(x); the chain rule multiplies it by the gradient that "
        "arrives: dx = dy * (x > 0).",
        lambda dy, x: (x > 0).astype(np.float64),
        ACTIVATION,
    ),
    Mistake(
        "output-instead-of-derivative",
        "dx",
        "dy multiplied by the ReLU's output instead of its derivative",
        "np.maximum(x, 0) is f(x); the chain rule needs f'(x), 1 where x > 0 and 0 elsewhere: "
        "dx = dy * (x > 0).",
        lambda dy, x: dy * np.maximum(x, 0),
        ACTIVATION,
    ),
    Mistake(
        "relu-of-dy",
        "dx",
        "the ReLU applied to dy",
        "Which gradients pass is decided by the sign of the input x, not of dy: dx = dy * (x > 0).",
        lambda dy, x: np.maximum(dy, 0),
        ACTIVATION,
    ),
)


def smooth_mistakes(name: str, f: Callable[..., Any], slope: str) -> tuple[Mistake, ...]:
    """The mistakes of a sigmoid or tanh backward pass: ``f`` the function, ``slope`` its
    derivative written with its output ``y``."""
    derivative = {"sigmoid": lambda y: y * (1 - y), "tanh": lambda y: 1 - y**2}[name]
    return (
        Mistake(
            "derivative-missing",
            "dx",
            f"the {name} derivative missing",
            f"Backpropagating through y = {name}(x) multiplies by its slope: "
            f"dx = dy * {slope}, with y = {name}(x).",
            lambda dy, x: dy,
            TUTORIAL if name == "sigmoid" else ACTIVATION,
        ),
        Mistake(
            "derivative-of-the-pre-activation",
            "dx",
            f"the derivative's formula {slope} applied to the pre-activation x",
            f"{slope} is the slope written with the output y = {name}(x); x here is the input, "
            f"so compute y = {name}(x) first, then dx = dy * {slope}.",
            lambda dy, x: dy * derivative(x),
            ACTIVATION,
        ),
        Mistake(
            "derivative-without-dy",
            "dx",
            "the derivative returned without multiplying by dy",
            f"{slope} is the local slope; the chain rule multiplies it by the gradient that "
            f"arrives: dx = dy * {slope}.",
            lambda dy, x: derivative(f(x)),
            ACTIVATION,
        ),
    )


def normalised(
    shift: int | None, total: int | None, *, keepdims: bool = True, shifted: bool = True
) -> Callable[[np.ndarray], np.ndarray]:
    """A softmax variant: exp(z - the maximum over axis ``shift``) divided by the sum over axis
    ``total`` (an axis None: the whole matrix; ``shifted`` False: no maximum subtracted)."""

    def variant(z: np.ndarray) -> np.ndarray:
        e = np.exp(z - z.max(axis=shift, keepdims=keepdims)) if shifted else np.exp(z)
        return e / e.sum(axis=total, keepdims=keepdims)

    return variant


SOFTMAX_MISTAKES = (
    Mistake(
        "normalised-over-the-whole-matrix",
        "p",
        "the softmax normalised over the whole matrix (np.sum without axis)",
        "np.sum(e) adds up every entry of the batch, so no row sums to one. Normalise each sample "
        "on its own: e / e.sum(axis=1, keepdims=True).",
        normalised(1, None),
        SOFTMAX,
        variants=(normalised(None, None), normalised(None, None, shifted=False)),
    ),
    Mistake(
        "max-not-subtracted",
        "p",
        "the softmax without subtracting the maximum",
        "exp overflows past 709 (88 in float32), and inf / inf is NaN. Subtract each row's "
        "maximum first: e = np.exp(z - z.max(axis=1, keepdims=True)).",
        normalised(None, 1, shifted=False),
        SOFTMAX,
    ),
    Mistake(
        "shifted-by-the-matrix-maximum",
        "p",
        "the scores shifted by the maximum of the whole matrix",
        "One maximum for the batch leaves a row far below it with every exp rounded to 0, and "
        "0 / 0 is NaN. Subtract each row's own maximum: z.max(axis=1, keepdims=True).",
        normalised(None, 1),
        SOFTMAX,
    ),
    Mistake(
        "normalised-over-columns",
        "p",
        "the softmax normalised down each column (axis=0)",
        "axis=0 runs over the samples, as in the column layout; here a sample is a row, so "
        "shift and sum along axis=1.",
        normalised(0, 0),
        SOFTMAX,
        variants=(normalised(None, 0, shifted=False),),
    ),
    Mistake(
        "keepdims-forgotten",
        "p",
        "a row maximum or sum taken without keepdims=True",
        "z.max(axis=1) has shape (N,), which lines up with the columns, not the rows: each "
        "entry gets another sample's number. keepdims=True keeps the shape (N, 1).",
        normalised(1, 1, keepdims=False),
        SOFTMAX,
        variants=(
            lambda z: normalised(None, 1, keepdims=False, shifted=False)(
                z - z.max(axis=1, keepdims=True)
            ),
            lambda z: normalised(None, 1, shifted=False)(z - z.max(axis=1)),
        ),
    ),
)


def elementwise(name: str, layer: type[Layer], mistakes: tuple[Mistake, ...]) -> Exercise:
    return Exercise(
        name=f"{name}_backward",
        arguments=("dy", "x"),
        options={},
        outputs=("dx",),
        returns="dx, the shape of x",
        description=f"the gradient through {name}, x its input (the pre-activation)",
        section=ACTIVATION,
        make_cases=elementwise_cases(layer),
        mistakes=mistakes,
    )


EXERCISES = (
    elementwise("relu", ReLU, RELU_MISTAKES),
    elementwise("sigmoid", Sigmoid, smooth_mistakes("sigmoid", sigmoid, "y * (1 - y)")),
    elementwise("tanh", Tanh, smooth_mistakes("tanh", np.tanh, "(1 - y**2)")),
    Exercise(
        name="softmax",
        arguments=("z",),
        options={},
        outputs=("p",),
        returns="p (N, C), each row sums to 1",
        description="the softmax of each row of scores z, stable for any scores",
        section=SOFTMAX,
        make_cases=softmax_cases,
        mistakes=SOFTMAX_MISTAKES,
    ),
)
