"""Exercises on inverted dropout: its forward and backward passes, given the mask.

The right answers come from ``barenet.layers.Dropout``, fed the exercise's mask through the
generator it draws from, and for the gradient from central differences; each mistake is a
learner's formula, in plain NumPy.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from barenet.exercises.spec import Case, Exercise, Mistake, Section, case, central_differences
from barenet.layers import Dropout

DROPOUT = Section(9, "Dropout")

# label, shape of x, rate, dtype, checked by central differences
SHAPES = (
    ("a batch of one sample", (1, 6), 0.2, np.float64, False),
    ("4 samples of 3 features", (4, 3), 0.25, np.float32, False),
    ("5 samples of 8 features", (5, 8), 0.1, np.float64, False),
    ("2 images of 3 channels, 4x5 pixels", (2, 3, 4, 5), 0.4, np.float64, False),
    ("3 samples of 4 features", (3, 4), 0.3, np.float64, True),
)


class DrawsTheMask:
    """Stands in for the generator ``Dropout`` draws from: its draws are 1 where ``mask`` keeps
    a unit and 0 where it drops one, so ``draw >= rate`` (for 0 < rate < 1) is ``mask``."""

    def __init__(self, mask: np.ndarray) -> None:
        self.mask = mask

    def random(self, shape: tuple[int, ...], dtype: Any = np.float64) -> np.ndarray:
        assert shape == self.mask.shape, (shape, self.mask.shape)
        return self.mask.astype(dtype)


def textbook_dropout(mask: np.ndarray, rate: float) -> Dropout:
    """barenet's Dropout, which will drop exactly the units ``mask`` drops."""
    return Dropout(rate, rng=cast(np.random.Generator, DrawsTheMask(mask)))


def forward_reference(x: np.ndarray, mask: np.ndarray, rate: float) -> np.ndarray:
    return textbook_dropout(mask, rate).forward(x, training=True)


def backward_reference(dy: np.ndarray, mask: np.ndarray, rate: float) -> np.ndarray:
    layer = textbook_dropout(mask, rate)
    layer.forward(np.zeros_like(dy), training=True)
    return layer.backward(dy)


def backward_numerical(dy: np.ndarray, mask: np.ndarray, rate: float) -> dict[str, Any]:
    """dx of ``sum(dropout(x) * dy)`` by central differences, at some x of dy's shape."""
    layer, x = textbook_dropout(mask, rate), np.ones(dy.shape)
    return central_differences(
        lambda: float(np.sum(layer.forward(x, training=True) * dy)), {"dx": x}
    )


def make_cases(backward: bool) -> Any:
    """The cases of the forward pass (``x``) or of the backward pass (``dy``); every mask
    drops at least one unit and keeps at least one."""
    reference = backward_reference if backward else forward_reference

    def cases(rng: np.random.Generator) -> list[Case]:
        found = []
        for label, shape, rate, dtype, checked in SHAPES:
            mask = rng.random(shape) >= rate  # True: kept
            mask.flat[0], mask.flat[-1] = False, True
            arguments = {
                "dy" if backward else "x": rng.normal(size=shape).astype(dtype),
                "mask": mask,
                "rate": rate,
            }
            numerical = backward_numerical if backward and checked else None
            output = ("dx",) if backward else ("y",)
            found.append(case(label, dtype, reference, output, arguments, numerical=numerical))
        return found

    return cases


def mistakes(name: str, right: str) -> tuple[Mistake, ...]:
    """The mistakes of either pass: ``name`` the input (x or dy), ``right`` the formula."""
    output = "dx" if name == "dy" else "y"

    def formula(kept: bool = True, scale: str = "1 - rate") -> Any:
        def answer(value: np.ndarray, mask: np.ndarray, rate: float) -> Any:
            factor = {"1 - rate": 1 / (1 - rate), "rate": 1 / rate, "none": 1, "keep": 1 - rate}
            return value * (mask if kept else ~mask) * factor[scale]

        return answer

    return (
        Mistake(
            "not-scaled",
            output,
            "the kept units not scaled by 1 / (1 - rate)",
            "Inverted dropout scales in training, so that the expected output stays x and "
            f"inference is the identity: {right}.",
            formula(scale="none"),
            DROPOUT,
        ),
        Mistake(
            "scaled-by-rate",
            output,
            "the kept units scaled by 1 / rate instead of 1 / (1 - rate)",
            "rate is the share dropped; a unit is kept with probability 1 - rate, and that is "
            f"what the scaling makes up for: {right}.",
            formula(scale="rate"),
            DROPOUT,
        ),
        Mistake(
            "scaled-by-the-keep-probability",
            output,
            "the kept units multiplied by 1 - rate instead of divided by it",
            "Multiplying by 1 - rate is the original dropout's scaling at inference; inverted "
            f"dropout divides by it in training: {right}.",
            formula(scale="keep"),
            DROPOUT,
        ),
        Mistake(
            "mask-inverted",
            output,
            "the mask inverted (the kept units dropped)",
            f"mask is True where a unit is kept, so multiply by mask itself: {right}.",
            formula(kept=False),
            DROPOUT,
            variants=(formula(kept=False, scale="none"),),
        ),
        Mistake(
            "mask-not-applied",
            output,
            "the mask not applied (only scaled)",
            f"A unit the forward pass dropped sends no gradient back: {right}."
            if name == "dy"
            else f"Dropout zeroes the units the mask drops: {right}.",
            lambda value, mask, rate: value / (1 - rate),
            DROPOUT,
            variants=(lambda value, mask, rate: value,),
        ),
    )


BACKWARD_ONLY = (
    Mistake(
        "derivative-without-dy",
        "dx",
        "the derivative returned without multiplying by dy",
        "mask / (1 - rate) is dropout's local slope; the chain rule multiplies it by the "
        "gradient that arrives: dx = dy * mask / (1 - rate).",
        lambda dy, mask, rate: mask / (1 - rate),
        DROPOUT,
    ),
)

EXERCISES = (
    Exercise(
        name="dropout_forward",
        arguments=("x", "mask", "rate"),
        options={},
        outputs=("y",),
        returns="y, the shape of x; rate is the probability of dropping a unit",
        description="inverted dropout in training, mask True where a unit of x is kept",
        section=DROPOUT,
        make_cases=make_cases(backward=False),
        mistakes=mistakes("x", "y = x * mask / (1 - rate)"),
    ),
    Exercise(
        name="dropout_backward",
        arguments=("dy", "mask", "rate"),
        options={},
        outputs=("dx",),
        returns="dx, the shape of dy",
        description="the gradient through inverted dropout, with the forward pass's mask",
        section=DROPOUT,
        make_cases=make_cases(backward=True),
        mistakes=(*mistakes("dy", "dx = dy * mask / (1 - rate)"), *BACKWARD_ONLY),
    ),
)
