"""Training the detector: its training set, and a short run end to end."""

import numpy as np

from barenet.digits import detector_training
from barenet.digits.detector_data import DRAWN, generated_digits, generated_non_digits
from barenet.digits.detector_threshold import DIGITS_REJECTED
from barenet.digits.detector_training import (
    THIN_PENS,
    TRAIN_DIGITS,
    threshold_anew,
    train_detector,
    training_set,
)
from barenet.digits.recipe import build_model


def test_the_training_set_asks_for_as_many_thin_pen_digits_as_non_digits(monkeypatch):
    # The training set asks for its thin-pen images in the thin pens, as many of each.
    asked = []

    def spying(make):
        def made(what, seed, workers=1, styles=None):
            asked.append((make.__name__, what if isinstance(what, int) else len(what), styles))
            return make(what, seed, workers, styles)

        return made

    for make in (generated_digits, generated_non_digits):
        monkeypatch.setattr(detector_training, make.__name__, spying(make))
    data = training_set(seed=2, redrawn=3, negatives=3, thin=4)
    assert asked == [
        ("generated_digits", 3, None),
        ("generated_non_digits", 3, None),
        ("generated_digits", 4, THIN_PENS),
        ("generated_non_digits", 4, THIN_PENS),
    ]
    labels = np.concatenate([data.y_train, data.y_test])
    # MNIST's training digits as they are, 3 + 4 drawn again, and 3 + 4 non-digits (these seeds
    # draw none in which no ink is found)
    assert np.sum(labels == 1) == TRAIN_DIGITS + 3 + 4 and np.sum(labels == 0) == 3 + 4


def test_a_short_training_run_learns_and_saves_its_threshold(monkeypatch):
    monkeypatch.setattr(detector_training, "TRAIN_DIGITS", 59_850)  # 150 validation digits
    monkeypatch.setattr(detector_training, "VALIDATION_REDRAWS", 2)  # 50 as is, 200 drawn
    quick = detector_training.DETECTOR_CONFIG.replace(epochs=1, train_limit=3000)
    monkeypatch.setattr(detector_training, "DETECTOR_CONFIG", quick)
    model = train_detector(seed=1, redrawn=100, negatives=600, workers=1, thin=50)
    validation = model.metadata["validation"]
    assert 50 + 100 < validation["digits"] <= 50 + 2 * 100  # (a digit with no ink found is not)
    assert set(validation["digits_rejected_by_way"]) > {detector_training.AS_IS, DRAWN}
    assert 0 < model.metadata["threshold"] < 1
    # At a threshold that rejects 1% of each way's digits, a detector that learnt nothing would
    # reject at most about 1% of non-digits too; one epoch on 3,000 images already does far better.
    assert validation["non_digits_rejected"] > 0.1
    assert validation["digits_rejected"] <= DIGITS_REJECTED


def test_a_threshold_chosen_again_keeps_the_weights_and_follows_the_rule(monkeypatch):
    monkeypatch.setattr(detector_training, "TRAIN_DIGITS", 59_850)  # 150 validation digits
    monkeypatch.setattr(detector_training, "VALIDATION_REDRAWS", 2)
    model = build_model(detector_training.DETECTOR_CONFIG)
    weights = [array.copy() for array in model.get_weights()]
    again = threshold_anew(model, seed=1, negatives=300, workers=1)
    assert all(np.array_equal(a, b) for a, b in zip(weights, again.get_weights(), strict=True))
    # The training's validation set (seed 1 + 1000, a fifth of 300 non-digits), all of it drawn.
    validation = again.metadata["validation"]
    assert 40 < validation["non_digits"] <= 60 and 50 + 100 < validation["digits"] <= 50 + 2 * 100
    assert again.metadata["threshold_chosen_again"] and 0 < again.metadata["threshold"] < 1
