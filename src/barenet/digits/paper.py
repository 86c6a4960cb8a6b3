"""Synthetic photographs of ink on paper: what a phone makes of a digit written on a sheet.

A photo of a digit is the ink multiplied into paper that is lit unevenly: a brightness gradient
across the sheet, a darker rim (vignetting), a soft shadow, paper texture, ruled or squared lines,
sensor noise, a little blur, and JPEG compression. ``photograph`` applies a random mix of these to
any ink image, so that MNIST digits (and non-digits) can be turned into photo-like test sets with
known labels. Every effect is drawn from the ``rng`` given: same seed, same photos.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PhotoStyle:
    """How hard each effect may hit, as the largest value ``photograph`` draws (uniformly)."""

    gradient: float = 0.55  # brightness lost from the lit side to the far side of the sheet
    vignette: float = 0.5  # brightness lost in the corners
    shadow: float = 0.35  # brightness lost under a soft-edged shadow (drawn half of the time)
    texture: float = 12.0  # standard deviation of the paper's blotches, in grey levels
    noise: float = 10.0  # standard deviation of the sensor noise, in grey levels
    blur: float = 1.2  # Gaussian blur radius, in pixels
    lines: float = 0.5  # ruled lines' darkness as a share of the ink's (drawn 2 times in 3)
    jpeg_quality: tuple[int, int] = (30, 90)


def placed_ink(ink28: np.ndarray, rng: np.random.Generator, canvas: tuple[int, int]) -> np.ndarray:
    """A 28x28 ink image (0..255) enlarged to 35-65% of the canvas height and put somewhere on
    it, not always in the middle: ``(H, W)`` float32 ink coverage in 0..1."""
    from PIL import Image

    height, width = canvas
    size = int(rng.uniform(0.35, 0.65) * min(height, width) * 28 / 20)  # the digit is 20 of 28
    big = Image.fromarray(ink28.astype(np.uint8)).resize((size, size), Image.Resampling.BICUBIC)
    coverage = np.zeros(canvas, np.float32)
    top = int(rng.integers(0, height - size + 1))
    left = int(rng.integers(0, width - size + 1))
    coverage[top : top + size, left : left + size] = np.asarray(big, np.float32) / 255.0
    return np.clip(coverage, 0, 1)


def photograph(
    coverage: np.ndarray, rng: np.random.Generator, style: PhotoStyle = PhotoStyle()
) -> bytes:
    """Dark ink with ``coverage`` (``(H, W)``, 0..1) photographed on paper: JPEG bytes.

    brightness(x, y) = paper * lighting(x, y) * (1 - darkness * coverage(x, y)) + noise, where
    lighting is the product of a linear gradient, a radial vignette and an optional shadow.
    """
    from PIL import Image, ImageFilter

    height, width = coverage.shape
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = (cols - width / 2) / width, (rows - height / 2) / height  # -0.5..0.5 across the sheet
    angle = rng.uniform(0, 2 * np.pi)
    along = u * np.cos(angle) + v * np.sin(angle)  # -0.7..0.7 along the light's direction
    lighting = 1 - rng.uniform(0, style.gradient) * (along + 0.71) / 1.42
    lighting *= 1 - rng.uniform(0, style.vignette) * np.clip((u**2 + v**2) / 0.5, 0, 1)
    if rng.random() < 0.5:
        edge = rng.uniform(-0.3, 0.3) + u * np.cos(angle + 1.0) + v * np.sin(angle + 1.0)
        lighting *= 1 - rng.uniform(0, style.shadow) / (1 + np.exp(-edge / 0.04))
    paper = rng.uniform(170, 245) + blotches(coverage.shape, rng) * rng.uniform(0, style.texture)
    ink = np.maximum(coverage, _ruled_lines(coverage.shape, rng, style.lines))
    darkness = rng.uniform(0.55, 0.9)  # pencil to black marker
    pixels = paper * lighting * (1 - darkness * ink)
    pixels += rng.standard_normal(pixels.shape).astype(np.float32) * rng.uniform(0, style.noise)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0, style.blur)))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=int(rng.integers(*style.jpeg_quality)))
    return out.getvalue()


def blotches(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Smooth random paper texture, zero mean and unit standard deviation: noise on a coarse
    grid, enlarged with bicubic interpolation."""
    from PIL import Image

    coarse = rng.standard_normal((max(2, shape[0] // 24), max(2, shape[1] // 24)))
    image = Image.fromarray(coarse.astype(np.float32), mode="F")
    smooth = np.asarray(image.resize(shape[::-1], Image.Resampling.BICUBIC), np.float32)
    return (smooth - smooth.mean()) / max(float(smooth.std()), 1e-6)


def _ruled_lines(shape: tuple[int, int], rng: np.random.Generator, strength: float) -> np.ndarray:
    """Ruled (horizontal) or squared paper, two times in three: line coverage ``(H, W)``."""
    height = shape[0]
    lines = np.zeros(shape, np.float32)
    kind = rng.integers(0, 3)  # 0: plain, 1: ruled, 2: squared
    if kind == 0:
        return lines
    spacing = int(rng.integers(max(6, height // 12), max(8, height // 5)))
    darkness = rng.uniform(0.3, 1.0) * strength
    lines[int(rng.integers(0, spacing)) :: spacing, :] = darkness
    if kind == 2:
        lines[:, int(rng.integers(0, spacing)) :: spacing] = darkness
    return lines
