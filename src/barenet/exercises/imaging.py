"""The reading-your-digit exercise: the centre of mass of an image's ink, which MNIST's
preparation places at the centre of its 28x28 field.

The right answer is the formula below, in plain NumPy: the same sums as barenet's preparation
(``barenet.digits.imaging``), which computes them inline and which the exercises, a package of
the same rank, do not import. Each mistake is a learner's formula too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from barenet.exercises.spec import Case, Exercise, Mistake, Section, case

PREPARATION = Section(8, "barenet's preparation")


def centre_of_mass(image: np.ndarray) -> tuple[Any, Any]:
    """``(sum_r r * ink_r / total, sum_c c * ink_c / total)``: ``ink_r`` the ink of row ``r``,
    ``ink_c`` that of column ``c``, ``total`` all the ink, indices from 0."""
    height, width = image.shape
    total = image.sum()
    row = (image.sum(axis=1) * np.arange(height)).sum() / total
    col = (image.sum(axis=0) * np.arange(width)).sum() / total
    return row, col


def inked(shape: tuple[int, int], rows: slice, cols: slice, rng: np.random.Generator) -> Any:
    """Ink of uneven strength (mostly faint, some dark) inside ``rows`` x ``cols``, none
    elsewhere: its box, its mass centre and the image's centre all differ."""
    image = np.zeros(shape)
    image[rows, cols] = rng.random(image[rows, cols].shape) ** 3
    return image


def cases(rng: np.random.Generator) -> list[Case]:
    """One inked pixel (the smallest drawing), an image of one row, ink off-centre in tall and
    wide images, float32 and float64, and ink from 0 to 255 as in MNIST."""
    pixel = np.zeros((6, 9))
    pixel[4, 2] = 0.8
    images: tuple[tuple[str, Any, type], ...] = (
        ("one inked pixel", pixel, np.float64),
        ("an image of one row", inked((1, 7), slice(None), slice(1, 6), rng), np.float64),
        ("a stroke in 5x8 pixels", inked((5, 8), slice(1, 5), slice(2, 6), rng), np.float32),
        (
            "a 20x12 drawing, the ink off-centre",
            inked((20, 12), slice(2, 10), slice(6, 12), rng),
            np.float64,
        ),
        (
            "a 28x28 field, ink 0 to 255",
            255 * inked((28, 28), slice(4, 24), slice(8, 20), rng),
            np.float32,
        ),
    )
    outputs = ("row", "col")
    return [
        case(label, dtype, centre_of_mass, outputs, {"image": image.astype(dtype)})
        for label, image, dtype in images
    ]


def image_centre(image: np.ndarray) -> tuple[Any, Any]:
    height, width = image.shape
    return (height - 1) / 2, (width - 1) / 2


def box_centre(image: np.ndarray) -> tuple[Any, Any]:
    """The centre of the smallest box around the ink."""
    rows, cols = np.nonzero(image)
    return (rows.min() + rows.max()) / 2, (cols.min() + cols.max()) / 2


def not_divided(image: np.ndarray) -> tuple[Any, Any]:
    height, width = image.shape
    return (image.sum(axis=1) * np.arange(height)).sum(), (
        image.sum(axis=0) * np.arange(width)
    ).sum()


def mean_over_pixels(image: np.ndarray) -> tuple[Any, Any]:
    """The weighted indices averaged over every pixel, not divided by the total ink."""
    rows, cols = np.indices(image.shape)
    return (image * rows).mean(), (image * cols).mean()


def each(
    key: str,
    name: str,
    advice: str,
    formula: Callable[[np.ndarray], tuple[Any, Any]],
    variants: tuple[Callable[[np.ndarray], tuple[Any, Any]], ...] = (),
) -> tuple[Mistake, Mistake]:
    """The mistake ``formula`` makes, once for the row and once for the column."""

    def output(f: Callable[..., tuple[Any, Any]], index: int) -> Callable[..., Any]:
        return lambda image: f(image)[index]

    return tuple(  # type: ignore[return-value]
        Mistake(
            key,
            coordinate,
            name,
            advice,
            output(formula, index),
            PREPARATION,
            variants=tuple(output(variant, index) for variant in variants),
        )
        for index, coordinate in enumerate(("row", "col"))
    )


RIGHT = "row = (image.sum(axis=1) * np.arange(H)).sum() / image.sum(), col likewise"
MISTAKES = (
    *each(
        "row-and-column-swapped",
        "the row and the column swapped, (col, row)",
        "The row index runs down the image (axis 0, of length H), the column across it "
        "(axis 1, of length W), and the answer is (row, col), in that order.",
        lambda image: centre_of_mass(image)[::-1],
    ),
    *each(
        "not-divided-by-the-ink",
        "the weighted sums not divided by the total ink",
        f"A weighted mean divides by the sum of the weights, here all the ink: {RIGHT}.",
        not_divided,
        variants=(mean_over_pixels,),
    ),
    *each(
        "unweighted-centre",
        "an unweighted centre (of the image, of the ink's box, or of the inked pixels)",
        "Each pixel counts as much as the ink it holds, so a dark stroke pulls the centre more "
        f"than a faint one: weight each index by its ink, {RIGHT}.",
        image_centre,
        variants=(
            lambda image: (image.shape[0] / 2, image.shape[1] / 2),
            box_centre,
            lambda image: tuple(np.argwhere(image > 0).mean(axis=0)),
        ),
    ),
    *each(
        "indices-from-1",
        "pixel indices counted from 1",
        f"NumPy's indices, and the answer's, start at 0: the top-left pixel is (0, 0), so {RIGHT}.",
        lambda image: tuple(value + 1 for value in centre_of_mass(image)),
    ),
)

EXERCISES = (
    Exercise(
        name="center_of_mass",
        arguments=("image",),
        options={},
        outputs=("row", "col"),
        returns="(row, col), two numbers, indices from 0",
        description="the ink-weighted mean row and column of an image (H, W) of ink >= 0",
        section=PREPARATION,
        make_cases=cases,
        mistakes=MISTAKES,
        scalars=frozenset({"row", "col"}),
        oracle="the centre-of-mass formula",
    ),
)
