"""The max-pooling exercise: route each window's gradient to the input that won it.

The right answers come from ``barenet.conv.MaxPool2D`` and from central differences; each
mistake is a learner's formula, in plain NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from barenet.conv import MaxPool2D
from barenet.exercises.spec import Case, Exercise, Mistake, Section, case, central_differences

POOLING = Section(7, "Pooling")

# label, x (N, C, H, W), window size, dtype, checked by central differences
SHAPES = (
    ("a batch of one image, 4x4 pixels", (1, 1, 4, 4), 2, np.float64, False),
    ("2 images of 3 channels, 4x6 pixels", (2, 3, 4, 6), 2, np.float32, False),
    ("2 images of 5x7 pixels, the edges in no window", (2, 2, 5, 7), 2, np.float64, False),
    ("an image of 2 channels, 6x9 pixels", (1, 2, 6, 9), 3, np.float64, False),
    ("an image of 2 channels, 4x4 pixels", (1, 2, 4, 4), 2, np.float64, True),
)


def reference(dy: np.ndarray, x: np.ndarray, size: int = 2) -> np.ndarray:
    pool = MaxPool2D(size)
    pool.forward(x, training=True)
    return pool.backward(dy)


def numerical(dy: np.ndarray, x: np.ndarray, size: int = 2) -> dict[str, Any]:
    pool = MaxPool2D(size)
    return central_differences(lambda: float(np.sum(pool.forward(x) * dy)), {"dx": x})


def cases(rng: np.random.Generator) -> list[Case]:
    found = []
    for label, (n, c, h, w), size, dtype, checked in SHAPES:
        x = rng.normal(size=(n, c, h, w)).astype(dtype)
        dy = rng.normal(size=(n, c, h // size, w // size)).astype(dtype)
        options = {"size": size} if size != 2 else {}
        check = numerical if checked else None
        arguments = {"dy": dy, "x": x}
        found.append(case(label, dtype, reference, ("dx",), arguments, options, check))
    return found


def upsampled(values: np.ndarray, shape: tuple[int, ...], size: int) -> np.ndarray:
    """Each of ``values`` (N, C, OH, OW) copied to every pixel of its window, in an array of
    the input's ``shape`` whose pixels in no window stay 0."""
    oh, ow = values.shape[2:]
    spread = np.zeros(shape)
    spread[:, :, : oh * size, : ow * size] = values.repeat(size, axis=2).repeat(size, axis=3)
    return spread


def winners(x: np.ndarray, size: int) -> np.ndarray:
    """1 where a pixel is the largest of its window, else 0: the shape of ``x``."""
    n, c, h, w = x.shape
    oh, ow = h // size, w // size
    windows = x[:, :, : oh * size, : ow * size].reshape(n, c, oh, size, ow, size)
    top = upsampled(windows.max(axis=(3, 5)), x.shape, size)
    inside = upsampled(np.ones((n, c, oh, ow)), x.shape, size)
    return (x == top) * inside


MISTAKES = (
    Mistake(
        "spread-over-the-window",
        "dx",
        "the pooling gradient spread evenly over the window (average pooling's)",
        "Only the window's largest input reached the output, so it alone receives dy; the "
        "others, which did not change the output, get 0.",
        lambda dy, x, size=2: upsampled(dy, x.shape, size) / size**2,
        POOLING,
    ),
    Mistake(
        "copied-to-every-pixel",
        "dx",
        "dy copied to every pixel of its window",
        "Only the window's largest input reached the output, so it alone receives dy: "
        "dx = dy at the maximum of each window, 0 elsewhere.",
        lambda dy, x, size=2: upsampled(dy, x.shape, size),
        POOLING,
    ),
    Mistake(
        "mask-without-dy",
        "dx",
        "the mask of maxima returned without multiplying by dy",
        "The mask says where each window's maximum is; the chain rule puts the window's "
        "gradient there: dx = mask * dy, dy copied to its window's pixels.",
        lambda dy, x, size=2: winners(x, size),
        POOLING,
    ),
)

EXERCISES = (
    Exercise(
        name="maxpool_backward",
        arguments=("dy", "x"),
        options={"size": 2},
        outputs=("dx",),
        returns="dx, the shape of x (N, C, H, W)",
        description="the gradient through max pooling, windows size x size, stride size",
        section=POOLING,
        make_cases=cases,
        mistakes=MISTAKES,
    ),
)
