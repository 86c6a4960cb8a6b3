"""Finding ink under uneven light: the paper estimate, polarity, lines, specks, real photos."""

import io

import numpy as np
import pytest
from PIL import Image

from barenet.datasets import load_mnist
from barenet.digits.imaging import MIN_CONTRAST, load_digit
from barenet.digits.ink import (
    _separable,
    even_margin,
    find_ink,
    ink_box,
    ink_is_dark,
    max_filter,
    min_filter,
    paper_noise,
    quadratic_surface,
    remove_ruled_lines,
    shrink,
)
from barenet.digits.paper import PhotoStyle, photograph, placed_ink


def lit_paper(height=120, width=160, darkest=0.4):
    """Paper at 230 grey, lit from the left: the right edge loses ``darkest`` of the light."""
    lighting = 1 - darkest * np.linspace(0, 1, width, dtype=np.float32)
    return 230 * np.tile(lighting, (height, 1))


def with_stroke(paper, value=40):
    image = paper.copy()
    image[20:100, 118:124] = value  # a vertical bar in the dim part of the sheet
    return image


def test_square_filters_match_a_plain_loop():
    values = np.random.default_rng(0).standard_normal((9, 11)).astype(np.float32)
    padded = np.pad(values, 2, mode="edge")
    squares = [[padded[r : r + 5, c : c + 5] for c in range(11)] for r in range(9)]
    expected_max = np.array([[square.max() for square in row] for row in squares])
    expected_min = np.array([[square.min() for square in row] for row in squares])
    expected_mean = np.array([[square.mean() for square in row] for row in squares])
    np.testing.assert_array_equal(max_filter(values, 5), expected_max)
    np.testing.assert_array_equal(min_filter(values, 5), expected_min)
    np.testing.assert_allclose(_separable(values, 5, np.mean), expected_mean, atol=1e-6)


def test_polarity_under_a_strong_gradient():
    image = with_stroke(lit_paper(darkest=0.6))
    assert ink_is_dark(image, shrink(image), even_margin(image))
    assert not ink_is_dark(255 - image, shrink(255 - image), even_margin(255 - image))


def test_polarity_of_a_clean_drawing_with_wide_strokes():
    image = np.full((64, 64), 255.0)
    image[8:56, 10:50] = 0  # ink covers most of the image, but the margin is even
    assert ink_is_dark(image, shrink(image), even_margin(image))
    assert not ink_is_dark(255 - image, shrink(255 - image), even_margin(255 - image))


def test_unevenly_lit_paper_holds_no_ink():
    assert find_ink(lit_paper(darkest=0.6)).max() < MIN_CONTRAST


def test_the_stroke_is_found_and_the_dim_paper_is_not():
    ink = find_ink(with_stroke(lit_paper()))
    assert ink[30:90, 119:123].min() > 150  # the bar: 1 - 40 / (230 * 0.63) of the light, ~72%
    assert ink[:, :100].max() < 1  # the paper, bright or dim: not a grey level of ink


def test_ruled_lines_go_and_a_stroke_crossing_them_stays():
    ink = np.zeros((60, 80), np.float32)
    ink[::10, :] = 0.3  # ruled lines across the whole width
    ink[5:55, 40:43] = 1.0  # a pen stroke crossing them
    cleaned = remove_ruled_lines(ink)
    assert cleaned[::10, :38].max() == 0
    assert cleaned[6:55, 40:43].min() >= 0.7


def test_the_box_ignores_a_stray_speck():
    mask = np.zeros((100, 100), bool)
    mask[30:70, 45:55] = True  # the digit
    mask[2, 2] = mask[97, 96:98] = True  # specks of noise in the corners
    rows, cols = ink_box(mask)
    assert (rows.start, rows.stop, cols.start, cols.stop) == (30, 70, 45, 55)


@pytest.fixture(scope="module")
def photographed():
    """The first 40 MNIST training digits as synthetic phone photos, with their labels."""
    (images, labels), _ = load_mnist()
    rng = np.random.default_rng(7)
    photos = [photograph(placed_ink(image, rng, (200, 260)), rng) for image in images[:40]]
    return photos, labels[:40]


def test_photographed_digits_read_like_the_originals(photographed, shipped_model):
    photos, labels = photographed
    digits = np.stack([load_digit(io.BytesIO(photo), name="photo") for photo in photos])
    read = shipped_model.predict_classes(digits)
    assert (read == labels).sum() >= 36, f"{(read != labels).sum()} of 40 misread"


def marker_ring(side=200, pen=0.22, paper=None, rng=None):
    """A ring drawn with a marker ``pen`` of the image wide, filling the frame, dark on
    ``paper`` (default: white with a scanner's unevenness and noise)."""
    rng = rng or np.random.default_rng(0)
    rows, cols = np.mgrid[0:side, 0:side]
    radius = np.hypot(rows - side / 2, (cols - side / 2) * 1.4)
    ring = np.abs(radius - side * 0.36) < side * pen / 2
    if paper is None:
        paper = 235 + rng.normal(0, 6, (side, side)) + 8 * np.sin(rows / 17) * np.cos(cols / 23)
    return np.where(ring, 30.0, paper).astype(np.float32), ring


def test_a_marker_filling_the_frame_is_dark_ink_not_paper():
    """Ink covers much of a close-up: the paper is what covers most of the border."""
    noise = np.random.default_rng(1).normal(0, 4, (200, 200))
    image, ring = marker_ring(paper=lit_paper(200, 200, darkest=0.35) + noise)
    assert even_margin(image) is None  # uneven enough to be measured as a photo
    assert ink_is_dark(image, shrink(image), None)
    assert not ink_is_dark(255 - image, shrink(255 - image), None)
    ink = find_ink(image)  # the noise floor (4 of the paper's standard deviations) taken off
    assert np.percentile(ink[ring], 5) > 100 and np.percentile(ink[~ring], 99) < 20


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("inner, outer", [(30, 80), (50, 90), (40, 95), (45, 100)])
def test_ink_covering_half_a_photo_is_found_on_either_side(seed, inner, outer):
    """A close-up with a marker: ink covers 43-63% of a photo lit unevenly (a gradient and a
    vignette). A surface fitted to all of it sags under the ink and its edges rise above the
    paper, so the border would vote for the wrong side; and the MAD of every pixel would take
    the ink for noise and leave no ink at all."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:200, 0:200] - 99.5
    corner = np.hypot(rows, cols) / np.hypot(100, 100)
    paper = 210 - 60 * (cols / 200 + 0.5) - 50 * corner**2 + rng.normal(0, 3, (200, 200))
    ring = (np.hypot(rows, cols) >= inner) & (np.hypot(rows, cols) <= outer)
    image = np.where(ring, 0.3 * paper + rng.normal(0, 3, (200, 200)), paper).astype(np.float32)
    assert even_margin(image) is None and even_margin(255 - image) is None
    assert ink_is_dark(image, shrink(image), None)
    assert not ink_is_dark(255 - image, shrink(255 - image), None)
    found = find_ink(255 - image) > 0  # light ink on dark paper: the same ink
    assert np.mean(found == ring) > 0.998


def test_the_paper_noise_is_measured_on_the_paper_alone():
    """However much of the image ink covers, the noise is the paper's: ink only adds."""
    rng = np.random.default_rng(0)
    for share in (0.0, 0.2, 0.45, 0.75):
        ink = rng.normal(0.01, 0.02, (200, 200))
        ink[:, : round(share * 200)] += 0.8
        centre, spread = paper_noise(ink.astype(np.float32))
        assert abs(centre - 0.01) < 0.002 and abs(spread - 0.02) < 0.002, share


def test_a_stroke_wider_than_a_sixth_of_the_photo_is_inked_across_its_width():
    """Under uneven light the paper is estimated by a closing as wide as the pen needs: a
    narrower one would take the middle of a wide stroke for paper."""
    side = 240
    paper = lit_paper(side, side, darkest=0.3)
    image, ring = marker_ring(side, pen=0.24, paper=paper)
    assert even_margin(image) is None
    ink = find_ink(image)
    assert np.percentile(ink[ring], 5) > 120  # every part of the stroke, its middle too
    assert np.percentile(ink[~ring], 99) < 40


def test_a_line_across_the_image_stays_unless_the_paper_is_ruled():
    ink = np.zeros((100, 100), np.float32)
    ink[:, 48:52] = 1.0  # a 1 filling the frame, top to bottom
    ink[60:80, 5:95] = 1.0  # a marker's bar, wider than any ruled line
    assert np.array_equal(remove_ruled_lines(ink), ink)


def test_a_thin_stroke_on_paper_lighter_inside_than_at_its_edge_is_dark_ink():
    """The margin is even, but darker than the image's mean: the ink is still the dark side."""
    image = np.full((100, 100), 248.0)
    image[:6], image[-6:], image[:, :6], image[:, -6:] = 238.0, 238.0, 238.0, 238.0
    image[20:80, 49:51] = 40.0  # a 1, two pixels wide
    assert even_margin(image) == 238.0 and image.mean() > 238.0
    assert ink_is_dark(image, shrink(image), even_margin(image))
    assert find_ink(image)[20:80, 49:51].min() > 150


def test_a_surface_from_either_side_follows_the_paper_under_half_ink():
    """A known quadratic light, 45% of it covered by flat ink: the fit from every pixel sags,
    the fit from the paper's side is found and follows the light within its noise."""
    rng = np.random.default_rng(3)
    rows, cols = np.mgrid[0:96, 0:96] / 95 * 2 - 1
    light = 200 - 30 * cols + 20 * rows - 40 * cols**2 + 10 * cols * rows - 25 * rows**2
    ring = np.abs(np.hypot(rows, cols) - 0.55) < 0.27
    image = np.where(ring, 40.0, light) + rng.normal(0, 2, light.shape)
    assert 0.4 < ring.mean() < 0.5
    surface = quadratic_surface(image, either_side=True)
    assert np.abs(surface - light).max() < 3
    assert np.abs(quadratic_surface(image) - light).max() > 20  # the plain fit sags


def test_rough_photos_of_thin_strokes_keep_their_ink_dark():
    """Coarse paper and heavy noise around a ballpoint's thin digit: every start of the
    either-side fit finds paper, so the fit from every pixel is kept, and the ink is dark."""
    rng = np.random.default_rng(3)  # its fifth photo kept the darker start's fit once
    digits = load_mnist()[1][0][:20]
    for digit in digits:
        coverage = placed_ink(digit, rng, (240, 320))
        photo = photograph(coverage, rng, PhotoStyle(texture=30.0, noise=20.0))
        gray = np.asarray(Image.open(io.BytesIO(photo)).convert("L"), np.float32)
        assert ink_is_dark(gray, shrink(gray), even_margin(gray))
