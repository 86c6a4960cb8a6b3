"""Digits in every style: the redrawing itself, and the preparation of each style's images."""

import io

import numpy as np
import pytest
from PIL import Image

from barenet.datasets import load_mnist
from barenet.digits.imaging import load_digit, stroke_width, to_mnist
from barenet.digits.styles import STYLES, redraw, skeleton, styled_digit, styled_ink, thin


@pytest.fixture(scope="module")
def digits():
    _, (images, labels) = load_mnist()
    return images[:6], labels[:6]


def test_thinning_leaves_a_line_one_pixel_wide_and_keeps_a_ring_closed():
    bar = np.zeros((20, 40), bool)
    bar[8:13, 5:35] = True
    line = thin(bar)
    assert line.any(axis=0)[8:32].all() and line.sum(axis=0).max() == 1
    rows, cols = np.mgrid[0:40, 0:40]
    ring = np.abs(np.hypot(rows - 20, cols - 20) - 12) < 3
    outline = thin(ring)
    assert outline.sum() > 60  # about the ring's circumference, 2 pi 12 ~ 75 pixels
    assert not outline[20, 20] and outline[20, :20].any() and outline[20, 20:].any()


def test_a_redrawn_digit_has_the_pen_it_was_given(digits):
    line = skeleton(digits[0][0])
    assert np.ptp(line[:, 0]) == pytest.approx(1, abs=0.05)  # in units of the digit's height
    for pen in (0.03, 0.1, 0.2):
        coverage = redraw(line, 200, pen, angle=0)
        measured = stroke_width(coverage * 255)
        assert measured == pytest.approx(pen * 200, rel=0.3), pen


def test_a_style_is_a_file_of_its_format_and_the_same_seed_gives_the_same_file(digits):
    image = digits[0][0]
    for name, style in STYLES.items():
        first = styled_digit(image, style, np.random.default_rng(1))
        assert first == styled_digit(image, style, np.random.default_rng(1)), name
        decoded = Image.open(io.BytesIO(first))
        assert decoded.format == ("PNG" if style.jpeg is None and not style.photo else "JPEG")
    ink = np.zeros((50, 50), np.float32)
    ink[10:40, 20:25] = 1
    assert Image.open(io.BytesIO(styled_ink(ink, STYLES["chalkboard"], np.random.default_rng(0))))


@pytest.mark.parametrize("name", list(STYLES))
def test_each_style_is_prepared_like_the_same_digit_drawn_plainly(name, digits):
    """The 28x28 of a digit in any style overlaps that of the same strokes drawn plainly (black
    on white, MNIST's pen), as much as two drawings of one digit by one pen do."""
    images, _ = digits
    rng = np.random.default_rng(3)
    for image in images:
        plain = 255.0 * (1 - redraw(skeleton(image), 120, 0.1, angle=0))
        reference = to_mnist(np.pad(plain, 30, constant_values=255)).astype(np.float64)
        styled = load_digit(io.BytesIO(styled_digit(image, STYLES[name], rng)), name=name)
        similarity = np.sum(reference * styled) / np.linalg.norm(reference) / np.linalg.norm(styled)
        assert similarity > 0.6, f"{name}: {similarity:.2f}"
