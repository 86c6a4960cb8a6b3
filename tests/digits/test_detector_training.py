"""Training the detector: the data it sees, the threshold rule, and a short run end to end."""

import numpy as np

from barenet.digits import detector_training
from barenet.digits.detector_threshold import DIGITS_REJECTED
from barenet.digits.detector_training import (
    DRAWN,
    PHOTOGRAPHED,
    THIN_PENS,
    TRAIN_DIGITS,
    generated_digits,
    generated_non_digits,
    prepared_digits,
    prepared_non_digits,
    threshold_anew,
    train_detector,
    training_set,
)
from barenet.digits.recipe import build_model


def test_images_made_in_parts_are_the_same_for_any_number_of_processes(monkeypatch):
    monkeypatch.setattr(detector_training, "PART", 2)  # three parts of digits, two of others
    images = np.zeros((5, 28, 28), np.uint8)
    images[:, 6:22, 12:16] = 255  # a thick 1
    alone, shared = (generated_digits(images, [7, 0], workers) for workers in (1, 2))
    assert np.array_equal(alone.inputs, shared.inputs) and alone.ways == shared.ways
    assert alone.kept == shared.kept == (0, 1, 2, 3, 4) and alone.blank == 0
    others = [generated_non_digits(4, [7, 1], workers) for workers in (1, 2)]
    assert np.array_equal(others[0].inputs, others[1].inputs) and len(others[0].inputs) > 0
    ways = set(alone.ways + others[0].ways)
    assert ways <= {DRAWN, PHOTOGRAPHED, *detector_training.STYLES}
    assert not {DRAWN, PHOTOGRAPHED, detector_training.AS_IS} & set(detector_training.STYLES)


def test_the_thin_pens_draw_as_many_digits_as_non_digits_and_only_with_thin_pens(monkeypatch):
    images = np.zeros((5, 28, 28), np.uint8)
    images[:, 6:22, 12:16] = 255  # a thick 1
    digits = generated_digits(images, [7, 4], 1, THIN_PENS)
    others = generated_non_digits(5, [7, 5], 1, THIN_PENS)
    assert len(digits.inputs) == 5 and set(digits.ways) <= set(THIN_PENS)
    assert len(others.inputs) + others.blank == 5 and set(others.ways) <= set(THIN_PENS)
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


def test_prepared_inputs_look_like_mnist():
    rng = np.random.default_rng(0)
    others, kinds = prepared_non_digits(14, rng, photo_share=0.5)
    assert others.inputs.shape == (14 - others.blank, 28, 28) and others.inputs.dtype == np.uint8
    assert set(kinds) <= set(detector_training.KINDS) and len(kinds) == len(others.inputs)
    digits = prepared_digits(np.zeros((3, 28, 28), np.uint8) + np.eye(28, dtype=np.uint8) * 255,
                             rng, photo_share=1.0)  # fmt: skip
    assert digits.inputs.shape == (3, 28, 28) and digits.inputs.max() == 255


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
