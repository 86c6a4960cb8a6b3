"""The shipped digit detector: its verdicts on digits and non-digits, and its threshold."""

import numpy as np
import pytest

from barenet.datasets import load_mnist
from barenet.digits.detector import detection_threshold, digit_scores, is_digit, shipped_detector
from barenet.digits.detector_data import DRAWN, PHOTOGRAPHED, prepared_non_digits
from barenet.digits.detector_threshold import DIGITS_REJECTED
from barenet.digits.detector_training import AS_IS
from barenet.digits.nondigits import KINDS
from barenet.digits.styles import STYLES


@pytest.fixture(scope="module")
def test_digits():
    return load_mnist()[1][0][:500]


def test_the_threshold_is_saved_with_the_detector():
    threshold = detection_threshold(shipped_detector())
    assert 0 < threshold < 1
    validation = shipped_detector().metadata["validation"]
    by_way = validation["digits_rejected_by_way"]
    assert max(by_way.values()) <= DIGITS_REJECTED  # the rule it was chosen by
    assert {AS_IS, DRAWN, PHOTOGRAPHED, *STYLES} == set(by_way)  # 18 ways


def test_digits_pass(test_digits):
    verdict = is_digit(test_digits)
    assert verdict.shape == (500,) and verdict.dtype == bool
    assert verdict.mean() >= 0.97


def test_scores_are_probabilities(test_digits):
    scores = digit_scores(test_digits[:10])
    assert scores.shape == (10,) and np.all((scores >= 0) & (scores <= 1))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_most_non_digits_of_every_kind_are_caught(kind):
    prepared, _ = prepared_non_digits(40, np.random.default_rng(99), 0.5, (kind,))
    assert (~is_digit(prepared.inputs)).mean() >= 0.6, kind
