"""The detector's threshold: the score below which an input is "not a digit".

It is chosen on a validation set of digits, each tagged with the way it was sent (MNIST's scans
as they are, drawn on a page, photographed, each style of ``styles.STYLES``), and of non-digits:
the highest threshold at which no way loses more than ``DIGITS_REJECTED`` of its digits. One
threshold for all the digits at once would let the commonest way decide, and a rarer one (a
hairline pen) lose far more than its share. ``detector_training`` makes the validation set.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from barenet.digits.detector import DIGIT
from barenet.model import Sequential

# The most of each way's validation digits the threshold may reject: half the most a style's
# digits may lose (2%). The validation digits were written by MNIST's training writers, whom the
# detector has learnt; digits by writers it never saw (MNIST's test set's, UCI's), drawn the same
# way, lost up to twice as many at the same threshold (docs/your-digit.md).
DIGITS_REJECTED = 0.01


@dataclass(frozen=True)
class Validation:
    """Inputs ``(N, 28, 28)``, labels ``(N,)`` (1: a digit) and how each was sent (one of
    ``detector_training.AS_IS``, ``detector_data``'s ``DRAWN`` and ``PHOTOGRAPHED``, or a
    style's name)."""

    inputs: np.ndarray
    labels: np.ndarray
    ways: tuple[str, ...]


def rejected_by_way(scores: np.ndarray, validation: Validation, threshold: float) -> dict:
    """The share of each way's validation digits scored below ``threshold``."""
    ways = np.array(validation.ways)
    digits = validation.labels == DIGIT
    return {
        way: float(np.mean(scores[digits & (ways == way)] < threshold))
        for way in sorted(set(ways[digits]))
    }


def choose_threshold(scores: np.ndarray, labels: np.ndarray, ways: Sequence[str]) -> float:
    """The highest ``P(digit)`` below which at most ``DIGITS_REJECTED`` of the validation digits
    of every way of sending them fall: the lowest, over the ways, of the score ``k`` places up
    a way's sorted scores, ``k = floor(DIGITS_REJECTED * n)`` of its ``n`` (at most ``k`` of
    them lie below it; one place higher, ``k + 1`` would)."""
    ways_array = np.asarray(ways)
    digits = labels == DIGIT
    return min(
        float(np.sort(way_scores)[math.floor(DIGITS_REJECTED * len(way_scores))])
        for way in set(ways_array[digits])
        for way_scores in [scores[digits & (ways_array == way)]]
    )


def with_threshold(model: Sequential, validation: Validation) -> Sequential:
    """``model`` with its threshold chosen on ``validation`` and what it rejects there in its
    metadata."""
    scores = model.predict_proba(validation.inputs)[:, DIGIT]
    threshold = choose_threshold(scores, validation.labels, validation.ways)
    digits = validation.labels == DIGIT
    model.metadata.update(
        threshold=threshold,
        validation={
            "digits_rejected": float(np.mean(scores[digits] < threshold)),
            "non_digits_rejected": float(np.mean(scores[~digits] < threshold)),
            "digits": int(np.sum(digits)),
            "non_digits": int(np.sum(~digits)),
            "digits_rejected_by_way": rejected_by_way(scores, validation, threshold),
        },
    )
    return model
