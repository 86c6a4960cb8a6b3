"""Synthetic photos of ink on paper: decodable, seeded, and really uneven."""

import io

import numpy as np
from PIL import Image

from barenet.digits.paper import PhotoStyle, photograph, placed_ink


def decode(jpeg):
    with Image.open(io.BytesIO(jpeg)) as image:
        assert image.format == "JPEG"
        return np.asarray(image.convert("L"), np.float32)


def test_the_ink_is_placed_inside_the_canvas_at_a_readable_size():
    ink28 = np.zeros((28, 28), np.uint8)
    ink28[4:24, 12:16] = 255
    for seed in range(20):
        coverage = placed_ink(ink28, np.random.default_rng(seed), (150, 210))
        assert coverage.shape == (150, 210) and coverage.min() >= 0 and coverage.max() <= 1
        rows = np.flatnonzero(coverage.max(axis=1) > 0.5)
        assert 0.3 * 150 <= rows[-1] - rows[0] <= 0.7 * 150


def test_same_seed_same_photo():
    coverage = np.zeros((80, 100), np.float32)
    coverage[20:60, 45:50] = 1
    first = photograph(coverage, np.random.default_rng(3))
    assert first == photograph(coverage, np.random.default_rng(3))
    assert first != photograph(coverage, np.random.default_rng(4))


def test_the_ink_is_dark_and_the_light_uneven():
    coverage = np.zeros((100, 100), np.float32)
    coverage[30:70, 48:53] = 1
    style = PhotoStyle(gradient=0.6, vignette=0.0, shadow=0.0, noise=0.0, texture=0.0, lines=0.0)
    spreads = []
    for seed in range(5):
        pixels = decode(photograph(coverage, np.random.default_rng(seed), style))
        assert pixels[35:65, 49:52].mean() < 0.6 * pixels[:, :30].mean()
        paper = np.delete(pixels, np.s_[25:75], axis=0)
        spreads.append(np.percentile(paper, 95) - np.percentile(paper, 5))
    assert max(spreads) > 40  # at least one sheet is lit very unevenly
