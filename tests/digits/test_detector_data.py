"""The detector's images: digits and non-digits drawn, photographed or in a style, prepared."""

import numpy as np

from barenet.digits import detector_data
from barenet.digits.detector_data import (
    DRAWN,
    PHOTOGRAPHED,
    generated_digits,
    generated_non_digits,
    prepared_digits,
    prepared_non_digits,
)
from barenet.digits.detector_training import AS_IS, THIN_PENS
from barenet.digits.nondigits import KINDS
from barenet.digits.styles import STYLES


def test_images_made_in_parts_are_the_same_for_any_number_of_processes(monkeypatch):
    monkeypatch.setattr(detector_data, "PART", 2)  # three parts of digits, two of others
    images = np.zeros((5, 28, 28), np.uint8)
    images[:, 6:22, 12:16] = 255  # a thick 1
    alone, shared = (generated_digits(images, [7, 0], workers) for workers in (1, 2))
    assert np.array_equal(alone.inputs, shared.inputs) and alone.ways == shared.ways
    assert alone.kept == shared.kept == (0, 1, 2, 3, 4) and alone.blank == 0
    others = [generated_non_digits(4, [7, 1], workers) for workers in (1, 2)]
    assert np.array_equal(others[0].inputs, others[1].inputs) and len(others[0].inputs) > 0
    ways = set(alone.ways + others[0].ways)
    assert ways <= {DRAWN, PHOTOGRAPHED, *STYLES}
    assert not {DRAWN, PHOTOGRAPHED, AS_IS} & set(STYLES)


def test_the_thin_pens_draw_every_image_with_a_thin_pen():
    images = np.zeros((5, 28, 28), np.uint8)
    images[:, 6:22, 12:16] = 255  # a thick 1
    digits = generated_digits(images, [7, 4], 1, THIN_PENS)
    others = generated_non_digits(5, [7, 5], 1, THIN_PENS)
    assert len(digits.inputs) == 5 and set(digits.ways) <= set(THIN_PENS)
    assert len(others.inputs) + others.blank == 5 and set(others.ways) <= set(THIN_PENS)


def test_prepared_inputs_look_like_mnist():
    rng = np.random.default_rng(0)
    others, kinds = prepared_non_digits(14, rng, photo_share=0.5)
    assert others.inputs.shape == (14 - others.blank, 28, 28) and others.inputs.dtype == np.uint8
    assert set(kinds) <= set(KINDS) and len(kinds) == len(others.inputs)
    digits = prepared_digits(np.zeros((3, 28, 28), np.uint8) + np.eye(28, dtype=np.uint8) * 255,
                             rng, photo_share=1.0)  # fmt: skip
    assert digits.inputs.shape == (3, 28, 28) and digits.inputs.max() == 255
