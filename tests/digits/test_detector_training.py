"""Training the detector: the data it sees, the threshold rule, and a short run end to end."""

import numpy as np

from barenet.digits import detector_training
from barenet.digits.detector import DIGIT
from barenet.digits.detector_training import (
    choose_threshold,
    prepared_digits,
    prepared_non_digits,
    train_detector,
)


def test_the_threshold_rejects_half_a_percent_of_digits():
    scores = np.linspace(0, 1, 1001)
    labels = np.full(1001, DIGIT)
    labels[::2] = 0  # non-digits do not move it
    threshold = choose_threshold(scores, labels)
    rejected = np.mean(scores[labels == DIGIT] < threshold)
    assert abs(rejected - 0.005) <= 1 / 500  # one digit either way, of 500


def test_prepared_inputs_look_like_mnist():
    rng = np.random.default_rng(0)
    others, kinds = prepared_non_digits(14, rng, photo_share=0.5)
    assert others.inputs.shape == (14 - others.blank, 28, 28) and others.inputs.dtype == np.uint8
    assert set(kinds) <= set(detector_training.KINDS) and len(kinds) == len(others.inputs)
    digits = prepared_digits(np.zeros((3, 28, 28), np.uint8) + np.eye(28, dtype=np.uint8) * 255,
                             rng, photo_share=1.0)  # fmt: skip
    assert digits.inputs.shape == (3, 28, 28) and digits.inputs.max() == 255


def test_a_short_training_run_learns_and_saves_its_threshold(monkeypatch):
    monkeypatch.setattr(detector_training, "TRAIN_DIGITS", 59_700)  # 300 validation digits
    quick = detector_training.DETECTOR_CONFIG.replace(epochs=1, train_limit=3000)
    monkeypatch.setattr(detector_training, "DETECTOR_CONFIG", quick)
    model = train_detector(seed=1, redrawn=100, negatives=600)
    validation = model.metadata["validation"]
    assert 0 < model.metadata["threshold"] < 1
    # At a threshold that rejects 0.5% of digits, a detector that learnt nothing would reject
    # about 0.5% of non-digits too; one epoch on 3,000 images already does far better.
    assert validation["non_digits_rejected"] > 0.1 and validation["digits_rejected"] < 0.02
