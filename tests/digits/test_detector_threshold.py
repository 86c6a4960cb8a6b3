"""The detector's threshold rule: each way of sending a digit held to its share."""

import numpy as np

from barenet.digits.detector import DIGIT
from barenet.digits.detector_data import DRAWN, PHOTOGRAPHED
from barenet.digits.detector_threshold import DIGITS_REJECTED, choose_threshold


def test_the_threshold_rejects_its_share_of_digits():
    scores = np.linspace(0, 1, 1001)
    labels = np.full(1001, DIGIT)
    labels[::2] = 0  # non-digits do not move it
    threshold = choose_threshold(scores, labels, [DRAWN] * 1001)
    rejected = np.mean(scores[labels == DIGIT] < threshold)
    # As many as the share allows (5 of 500), and one more would be too many.
    assert rejected == DIGITS_REJECTED == 5 / 500
    assert np.mean(scores[labels == DIGIT] <= threshold) > DIGITS_REJECTED


def test_the_threshold_holds_every_way_of_sending_a_digit_to_its_share():
    # Photos score lower than drawings: a threshold set on all digits at once would reject
    # far more than its share of the photos.
    rng = np.random.default_rng(0)
    scores = np.concatenate([rng.uniform(0.5, 1, 900), rng.uniform(0, 1, 100)])
    ways = [DRAWN] * 900 + [PHOTOGRAPHED] * 100
    labels = np.full(1000, DIGIT)
    threshold = choose_threshold(scores, labels, ways)
    assert np.mean(scores[900:] < threshold) <= DIGITS_REJECTED  # the photos' share, at most
    assert np.mean(scores[:900] < threshold) == 0
    assert threshold < np.quantile(scores, DIGITS_REJECTED)
