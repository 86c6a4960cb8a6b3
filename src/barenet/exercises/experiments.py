"""The experiments exercise: is a change better, or did the seeds decide? Welch's standard error
of the difference between two means.

barenet has no function for it (its experiments report each variant's mean and spread), so the
right answer is the formula below, in plain NumPy; each mistake is a learner's formula too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from barenet.exercises.spec import Case, Exercise, Mistake, Section, case

ERROR_OF_THE_MEAN = Section(6, "Mean, spread, and the error of the mean")
WELCH = Section(6, "Is the difference real? Welch's test")

# label, runs of a, runs of b, dtype, mean and spread of a's and of b's scores (accuracies)
SHAPES = (
    ("the fewest runs, 2 against 3", 2, 3, np.float64, (0.93, 0.010), (0.91, 0.020)),
    ("5 runs each", 5, 5, np.float32, (0.95, 0.006), (0.94, 0.009)),
    ("5 runs against 8", 5, 8, np.float64, (0.92, 0.004), (0.93, 0.012)),
    ("10 runs against 4, b much noisier", 10, 4, np.float64, (0.97, 0.002), (0.96, 0.030)),
    ("3 runs against 6", 3, 6, np.float32, (0.90, 0.015), (0.92, 0.005)),
)


def welch(a: np.ndarray, b: np.ndarray) -> tuple[Any, Any]:
    """``(mean(a) - mean(b), sqrt(s_a^2 / n_a + s_b^2 / n_b))``, s^2 the sample variances."""
    standard_error = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    return a.mean() - b.mean(), standard_error


def cases(rng: np.random.Generator) -> list[Case]:
    """Two runs against three (the fewest with a variance on each side), equal and unequal
    numbers of runs (the pooled variance equals Welch's only for equal numbers), float32 and
    float64."""
    found = []
    for label, n_a, n_b, dtype, (mean_a, spread_a), (mean_b, spread_b) in SHAPES:
        a = rng.normal(mean_a, spread_a, size=n_a).astype(dtype)
        b = rng.normal(mean_b, spread_b, size=n_b).astype(dtype)
        outputs = ("difference", "standard_error")
        found.append(case(label, dtype, welch, outputs, {"a": a, "b": b}))
    return found


def errors(a: np.ndarray, b: np.ndarray, ddof: int = 1) -> tuple[Any, Any]:
    """Each mean's standard error, ``s / sqrt(n)``, with variances of ``ddof``."""
    return np.sqrt(a.var(ddof=ddof) / len(a)), np.sqrt(b.var(ddof=ddof) / len(b))


def pooled(a: np.ndarray, b: np.ndarray) -> Any:
    """Student's standard error: one variance for both, ``s_p^2 (1/n_a + 1/n_b)``."""
    n_a, n_b = len(a), len(b)
    variance = ((n_a - 1) * a.var(ddof=1) + (n_b - 1) * b.var(ddof=1)) / (n_a + n_b - 2)
    return np.sqrt(variance * (1 / n_a + 1 / n_b))


def one_sample(a: np.ndarray, b: np.ndarray, divided_by_both: bool) -> Any:
    """The runs of both put together as one sample: its variance over ``n_a + n_b`` or times
    ``1/n_a + 1/n_b``."""
    variance = np.concatenate([a, b]).var(ddof=1)
    scale = 1 / (len(a) + len(b)) if divided_by_both else 1 / len(a) + 1 / len(b)
    return np.sqrt(variance * scale)


RIGHT = "standard_error = sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))"
MISTAKES = (
    Mistake(
        "population-variance",
        "standard_error",
        "the population variance (ddof=0) instead of the sample variance",
        "np.var divides by n unless told otherwise; around a mean estimated from the same few "
        f"runs, the unbiased variance divides by n - 1 (ddof=1): {RIGHT}.",
        lambda a, b: np.sqrt(a.var() / len(a) + b.var() / len(b)),
        ERROR_OF_THE_MEAN,
    ),
    Mistake(
        "errors-added",
        "standard_error",
        "the two standard errors added instead of combined in quadrature",
        "The errors of two independent means add like the sides of a right triangle: "
        f"variances add, so {RIGHT}, not se_a + se_b.",
        lambda a, b: sum(errors(a, b)),
        WELCH,
    ),
    Mistake(
        "standard-deviations-not-errors",
        "standard_error",
        "the standard deviations used instead of the standard errors (no division by n)",
        "The standard deviation is how much one run varies; a mean of n runs varies sqrt(n) "
        f"times less, so each variance is divided by its number of runs: {RIGHT}.",
        lambda a, b: np.sqrt(a.var(ddof=1) + b.var(ddof=1)),
        ERROR_OF_THE_MEAN,
        variants=(lambda a, b: a.std(ddof=1) + b.std(ddof=1),),
    ),
    Mistake(
        "pooled-variance",
        "standard_error",
        "a pooled variance, as if both sets of runs came from one sample",
        "Pooling assumes a and b spread equally, which a change to the network need not keep "
        f"(it equals Welch's only for equal numbers of runs). Keep each variance: {RIGHT}.",
        pooled,
        WELCH,
        variants=(
            lambda a, b: one_sample(a, b, divided_by_both=True),
            lambda a, b: one_sample(a, b, divided_by_both=False),
        ),
    ),
    Mistake(
        "difference-sign-flipped",
        "difference",
        "the difference taken the other way round (b - a)",
        "The difference asked for is a's mean minus b's: difference = a.mean() - b.mean(), "
        "positive when a scores higher.",
        lambda a, b: b.mean() - a.mean(),
        WELCH,
    ),
)

EXERCISES = (
    Exercise(
        name="welch",
        arguments=("a", "b"),
        options={},
        outputs=("difference", "standard_error"),
        returns="(difference, standard_error), two numbers; a and b 1-D, 2 runs or more",
        description="mean(a) - mean(b) for the scores of two sets of runs, and its standard error",
        section=WELCH,
        make_cases=cases,
        mistakes=MISTAKES,
        scalars=frozenset({"difference", "standard_error"}),
        oracle="Welch's formula",
    ),
)
