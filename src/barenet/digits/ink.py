"""Finding the ink in a photo or a drawing: remove the paper, its lighting and its lines.

A clean drawing is ink on a flat background, and ink is simply the distance from the
background's grey. A photograph is not: the light falls off across the sheet and into the
corners, a shadow darkens part of it, the paper has texture and ruled lines, and the sensor adds
noise. Thresholding such a photo keeps the dark half of the paper as ink. So ``find_ink``
estimates the paper's brightness at every pixel first, and measures ink against it:

    ink(x, y) = 1 - g(x, y) / paper(x, y)          (g: the image with the ink made the dark side)

which is the share of the light the ink absorbs, the same under bright and dim light. Then it
subtracts the noise floor and the ruled lines. The paper is a grey closing (a maximum filter
then a minimum filter, both wider than a pen stroke) of a shrunken copy: it fills in every dark
stroke with the paper around it and keeps only the slow changes of the lighting. An image
with an even margin all round (a drawing, a scan) is taken as evenly lit: its paper is that
margin's grey, as wide as its strokes may be.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

WORKING_SIDE = 96  # the longer side of the shrunken copy the paper is estimated on, in pixels
STROKE_SHARE = 1 / 6  # the widest pen stroke, as a share of that side: the closing's window
NOISE_FLOOR = 4.0  # ink weaker than this many standard deviations of the paper's noise is not ink
EVEN_MARGIN = 12  # grey levels across the border (10th to 90th percentile) of a clean margin
MOSTLY_INK = 0.1  # a median ink above this means ink covers more of the image than paper
SAMPLE_PIXELS = 250_000  # robust statistics of a larger image are taken on a grid of this many
LINE_COVER = 0.85  # a ruled line crosses at least this share of the image
STRAY_INK = 0.01  # the share of the ink mass the box around a digit may leave out


def even_margin(gray: np.ndarray) -> float | None:
    """The grey of the image's border if it is even (a drawing, a scan, a clean background),
    else None (a photo's unevenly lit paper)."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    low, median, high = np.percentile(border, [10, 50, 90])
    return float(median) if high - low <= EVEN_MARGIN else None


def ink_is_dark(gray: np.ndarray, small: np.ndarray, margin: float | None) -> bool:
    """Whether the ink is darker than the paper, from the image ``(H, W)``, a shrunken copy and
    its ``even_margin``.

    With an even margin, the ink is on the other side of the image's mean from it. A photo's
    margin is unevenly lit, so take away the slow changes from the shrunken copy (the image
    less its local mean): what is left is ink and noise. Noise is symmetric, ink stands out on
    one side only, so the sign of the third moment (the skew) of the remainder says which side
    the ink is on.
    """
    if margin is not None:
        return margin >= float(gray.mean())
    remainder = small - _separable(small, _window(small), np.mean)
    return float(np.mean(remainder**3)) <= 0.0


def find_ink(gray: np.ndarray) -> np.ndarray:
    """How much ink is at each pixel of a greyscale image ``(H, W)`` in 0..255: ``(H, W)``
    float32 in 0..255 (255: the ink absorbs all the light), whichever of ink and paper is lighter.

    An image with an even margin is a drawing or a scan: its paper is that margin's grey
    everywhere, however wide the strokes. Otherwise the paper is estimated pixel by pixel.
    """
    small, margin = shrink(gray), even_margin(gray)
    if not ink_is_dark(gray, small, margin):  # from here on the ink is the dark side
        gray, small = 255.0 - gray, 255.0 - small
        margin = None if margin is None else 255.0 - margin
    if margin is not None:
        paper = np.full(gray.shape, margin, np.float32)
    else:
        paper = paper_brightness(small, gray.shape)
    ink = 1.0 - gray / np.maximum(paper, 1.0)  # (H, W), about 0 on paper
    centre, noise = paper_noise(ink)
    ink = np.clip(ink - centre - NOISE_FLOOR * noise, 0, None)
    return (remove_ruled_lines(ink) * 255.0).astype(np.float32)


def paper_noise(ink: np.ndarray) -> tuple[float, float]:
    """The centre and the spread of the ink measured on bare paper, robustly: the median and
    the median absolute deviation (x 1.4826, a normal's standard deviation) where paper is most
    of the image. Where the median is itself ink (a digit cropped tightly, more ink than paper),
    from the lightest quarter instead: for normal noise of spread s around c, the 5th and 25th
    percentiles are c - 1.645 s and c - 0.674 s. Measured on at most ``SAMPLE_PIXELS`` of them."""
    ink = ink[:: _step(ink.size), :: _step(ink.size)]
    median = float(np.median(ink))
    if median < MOSTLY_INK:
        return median, 1.4826 * float(np.median(np.abs(ink - median)))
    low5, low25 = np.percentile(ink, [5, 25])
    noise = float(low25 - low5) / 0.971
    return float(low25) + 0.674 * noise, noise


def shrink(gray: np.ndarray) -> np.ndarray:
    """A copy of ``gray (H, W)`` whose longer side is at most ``WORKING_SIDE``, each pixel the
    mean of those it covers: cheap to filter at any image size, and less noisy."""
    from PIL import Image

    height, width = gray.shape
    factor = min(1.0, WORKING_SIDE / max(height, width))
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    image = Image.fromarray(gray.astype(np.float32), mode="F")
    return np.asarray(image.resize(size, Image.Resampling.BOX), np.float32)


def paper_brightness(small: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The paper's brightness under every pixel, dark ink filled in, from the shrunken image
    ``small``: a grey closing wider than any stroke, smoothed, enlarged to ``shape (H, W)``."""
    from PIL import Image

    window = _window(small)
    closed = min_filter(max_filter(small, window), window)
    smooth = _separable(closed, window, np.mean).astype(np.float32)
    image = Image.fromarray(smooth, mode="F")
    size = (shape[1], shape[0])  # Pillow wants (width, height)
    return np.asarray(image.resize(size, Image.Resampling.BILINEAR), np.float32)


def _window(small: np.ndarray) -> int:
    """The filters' odd width: ``STROKE_SHARE`` of the shrunken image's longer side."""
    return max(3, round(STROKE_SHARE * max(small.shape)) | 1)


def max_filter(values: np.ndarray, window: int) -> np.ndarray:
    """The largest value in the ``window x window`` square around every pixel (edges repeat):
    a square's maximum is the maximum over its rows of the maximum along them."""
    return _separable(values, window, np.max)


def min_filter(values: np.ndarray, window: int) -> np.ndarray:
    """The smallest value in the ``window x window`` square around every pixel."""
    return _separable(values, window, np.min)


def _separable(values: np.ndarray, window: int, reduce: Callable[..., np.ndarray]) -> np.ndarray:
    half = window // 2
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (half, half)
        padded = np.pad(values, pad, mode="edge")
        views = np.lib.stride_tricks.sliding_window_view(padded, window, axis=axis)
        values = reduce(views, axis=-1)
    return values


def remove_ruled_lines(ink: np.ndarray) -> np.ndarray:
    """Subtract lines that run across the whole image, horizontal or vertical (ruled and squared
    paper): a row's line is the ink that at least ``LINE_COVER`` of the row has. A pen stroke
    never covers that much of a row, so digits keep their ink, less the line where they cross.
    In a large image each row's share is measured on every few pixels along it.
    """
    quantile = 100 * (1 - LINE_COVER)
    step = _step(ink.size)
    rows = np.percentile(ink[:, ::step], quantile, axis=1, keepdims=True)  # (H, 1)
    ink = np.clip(ink - rows, 0, None)
    columns = np.percentile(ink[::step], quantile, axis=0, keepdims=True)  # (1, W)
    return np.clip(ink - columns, 0, None)


def _step(size: int) -> int:
    """The stride, along each axis, that leaves at most about ``SAMPLE_PIXELS`` of ``size``
    pixels to measure statistics on (1: all of them, for images up to about 500x500)."""
    return max(1, math.ceil(math.sqrt(size / SAMPLE_PIXELS)))


def ink_box(mask: np.ndarray) -> tuple[slice, slice]:
    """The rows and columns that hold the ink of ``mask (H, W)``, ignoring specks: a pixel counts
    only if at least 3 of the 9 in its 3x3 square are ink (a line 1 pixel wide has 3, a speck of
    noise fewer). ``mask`` must hold some ink."""
    padded = np.pad(mask.astype(np.int8), 1)
    height, width = mask.shape
    neighbours = sum(
        padded[dy : dy + height, dx : dx + width] for dy in range(3) for dx in range(3)
    )
    solid = mask & (neighbours >= 3)
    if not solid.any():  # nothing but specks (a dot of one or two pixels): keep them all
        solid = mask
    return _core_span(solid.sum(axis=1)), _core_span(solid.sum(axis=0))


def _core_span(profile: np.ndarray) -> slice:
    """The indices between which all but ``STRAY_INK`` of a profile's mass lies, half of it on
    either side: a few stray pixels far away cannot stretch the box."""
    cumulative = np.cumsum(profile) / profile.sum()
    first = int(np.searchsorted(cumulative, STRAY_INK / 2, side="right"))
    last = int(np.searchsorted(cumulative, 1 - STRAY_INK / 2, side="left"))
    return slice(first, last + 1)
