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
STROKE_SHARE = 1 / 6  # a wide pen stroke, as a share of that side: the closing's least window
WIDEST_SHARE = 1 / 2  # the closing's largest window, as a share of that side
STROKES_PER_WINDOW = 2.5  # the closing's window, in pen widths: wide enough to fill any stroke
NO_INK = 0.1  # ink absorbing less of the light than this is too faint to measure a pen on
NOISE_FLOOR = 4.0  # ink weaker than this many standard deviations of the paper's noise is not ink
EVEN_MARGIN = 12  # grey levels across the border (10th to 90th percentile) of a clean margin
EVEN_SHARE = 0.15  # or this share of the contrast between the border and the ink
NOISE_CUT = 3.0  # the paper's values lie within this many spreads above its centre
NOISE_ROUNDS = 5  # measurements of the paper's noise, each on the last one's cut
SAMPLE_PIXELS = 250_000  # robust statistics of a larger image are taken on a grid of this many
LINE_COVER = 0.85  # a ruled line crosses at least this share of the image
LINE_WIDTH = 0.02  # and is narrower than twice this share of it
RULED_LINES = 3  # ruled or squared paper shows at least this many lines across the image
LINE_TRACE = 0.02  # ink weaker than this (0..1) is no line
SURFACE_PIXELS = 2500  # a surface is fitted to the paper on a grid of at most this many pixels
SURFACE_ROUNDS = 3  # refits of a surface to the paper, each to the half of the pixels nearest it
TWO_SIDED = 0.5  # a fit from one half this much closer than from all: ink and paper sheets
BORDER_VOTE = 0.75  # the share of the border on one side of ink and paper that makes it paper
STRAY_INK = 0.01  # the share of the ink mass the box around a digit may leave out


def even_margin(gray: np.ndarray) -> float | None:
    """The grey of the image's border if it is even (a drawing, a scan, a clean background),
    else None (a photo's unevenly lit paper).

    Even means that the border's greys (10th to 90th percentile) span at most ``EVEN_MARGIN``
    grey levels, or ``EVEN_SHARE`` of the contrast between the border and the ink (the image's
    grey farthest from the border's): the grain of a scanned sheet is even beside a marker's
    black, and a paper that changes that little is never taken for ink.
    """
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    low, median, high = np.percentile(border, [10, 50, 90])
    darkest, lightest = np.percentile(gray[:: _step(gray.size), :: _step(gray.size)], [1, 99])
    contrast = max(median - darkest, lightest - median)
    return float(median) if high - low <= max(EVEN_MARGIN, EVEN_SHARE * contrast) else None


def ink_is_dark(gray: np.ndarray, small: np.ndarray, margin: float | None) -> bool:
    """Whether the ink is darker than the paper, from the image ``(H, W)``, a shrunken copy and
    its ``even_margin``.

    With an even margin, the ink is on the side with more of the image beyond the margin's greys
    (the sum of how far pixels lie past them, by more than the border's spread or
    ``EVEN_MARGIN``, darker against lighter): a thin 1 on a sheet whose grain is lighter inside
    than at its edge is still dark ink. A photo's margin is unevenly lit, so take away the
    slowest changes of the light from the shrunken copy (the quadratic surface closest to one
    side of it, paper or ink: a gradient, a vignette) and split what is left in two, ink and
    paper (Otsu's threshold).
    Paper covers most of the border, whatever the light and however wide the strokes: the side
    that ``BORDER_VOTE`` of the border falls on is the paper's. Where the border is split (a
    strong shadow across it), the third moment decides: the image less its local mean is ink
    and noise, and noise is symmetric while ink stands out on one side only.
    """
    if margin is not None:
        border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
        low, high = np.percentile(border, [10, 90])
        band = max(EVEN_MARGIN, high - low)  # paper this close to the border's greys is paper
        sample = gray[:: _step(gray.size), :: _step(gray.size)]
        darker = np.clip(low - band - sample, 0, None).sum()
        lighter = np.clip(sample - high - band, 0, None).sum()
        return bool(darker >= lighter)
    level = small - quadratic_surface(small, either_side=True)
    border = np.concatenate([level[0], level[-1], level[:, 0], level[:, -1]])
    lighter = float(np.mean(border > otsu_threshold(level)))
    if max(lighter, 1 - lighter) >= BORDER_VOTE:
        return lighter > 0.5
    remainder = small - _separable(small, _window(small), np.mean)
    return float(np.mean(remainder**3)) <= 0.0


def quadratic_surface(
    values: np.ndarray, pad: int = 0, order: int = 2, either_side: bool = False
) -> np.ndarray:
    """The quadratic ``a + b x + c y + d x^2 + e x y + f y^2`` (with ``order`` 1, the plane
    ``a + b x + c y``) closest to the paper of ``values (H, W)``, evaluated at every pixel and
    ``pad`` pixels beyond: ``(H + 2 pad, W + 2 pad)``. Least squares, refitted
    ``SURFACE_ROUNDS`` times to the half of the pixels nearest the last fit: the paper, not the
    ink, even where ink covers a third of the image (a plain fit would sag under it).

    With ``either_side``, the ink's side is unknown and ink may cover half of the image (a
    marker in a close-up): the fit above then sags under the ink, and its edges rise above the
    paper. So the same refits also start from the lighter half of the pixels and from the
    darker half, each scored by the squared distances of the nearest half of the pixels,
    ``sum_{i < n/2} r_(i)^2``. A start that scores under ``TWO_SIDED`` times the best fit so
    far (first the fit from every pixel) has found one of two flat sheets, ink or paper, and is
    kept. Thin strokes on unevenly lit paper score about the same from every start (each finds
    the paper, or one lit part of it), and keep the fit from every pixel.
    """
    height, width = values.shape
    rows, cols = np.mgrid[-pad : height + pad, -pad : width + pad].astype(np.float64)
    rows, cols = 2 * rows / max(height - 1, 1) - 1, 2 * cols / max(width - 1, 1) - 1
    terms = [np.ones_like(rows), cols, rows] + (
        [cols**2, cols * rows, rows**2] if order > 1 else []
    )
    everywhere = np.stack(terms, -1)
    step = _step(height * width, SURFACE_PIXELS)  # fitted on a grid of at most that many
    inside = everywhere[pad : pad + height : step, pad : pad + width : step]
    inside = inside.reshape(-1, len(terms))
    flat = values[::step, ::step].reshape(-1).astype(np.float64)

    def refitted(start: np.ndarray) -> tuple[float, np.ndarray]:
        """The refitted weights from the pixels ``start`` keeps, and their nearest half's
        sum of squared distances."""
        kept = start
        for _ in range(SURFACE_ROUNDS + 1):
            weights, *_ = np.linalg.lstsq(inside[kept], flat[kept], rcond=None)
            distance = np.abs(flat - inside @ weights)
            kept = distance <= np.median(distance)
        return float(np.sum(np.sort(distance)[: len(distance) // 2] ** 2)), weights

    score, weights = refitted(np.ones(len(flat), bool))
    if either_side:
        middle = np.median(flat)
        for start in (flat >= middle, flat <= middle):
            one_side, its_weights = refitted(start)
            if one_side < TWO_SIDED * score:
                score, weights = one_side, its_weights
    return everywhere @ weights


def otsu_threshold(values: np.ndarray, bins: int = 64) -> float:
    """The value that splits ``values`` into two classes with the largest variance between
    them (Otsu's method), from a histogram of ``bins`` bins."""
    counts, edges = np.histogram(values, bins)
    centres = (edges[:-1] + edges[1:]) / 2
    weight = np.cumsum(counts)[:-1]  # pixels at or below each cut
    total, mass = weight[-1] + counts[-1], np.cumsum(counts * centres)[:-1]
    low_mean = mass / np.maximum(weight, 1)
    high_mean = (mass[-1] + counts[-1] * centres[-1] - mass) / np.maximum(total - weight, 1)
    between = weight * (total - weight) * (low_mean - high_mean) ** 2
    best = np.flatnonzero(between >= between.max() * (1 - 1e-9))  # empty bins tie: the middle
    return float(np.mean(edges[1:-1][best]))


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
        paper = paper_brightness(small, gray.shape, closing_window(small))
    ink = 1.0 - gray / np.maximum(paper, 1.0)  # (H, W), about 0 on paper
    centre, noise = paper_noise(ink)
    ink = np.clip(ink - centre - NOISE_FLOOR * noise, 0, 1)  # a centre below 0 would pass 1
    return (remove_ruled_lines(ink) * 255.0).astype(np.float32)


def paper_noise(ink: np.ndarray) -> tuple[float, float]:
    """The centre and the spread of the ink measured on bare paper: the median and the median
    absolute deviation (x 1.4826, a normal's standard deviation) of the paper's pixels alone.

    Ink only ever adds to what the paper absorbs, so the paper is the lower side of the values,
    however much of the image ink covers (a marker in a close-up covers half of it: the MAD of
    every pixel would take the ink's distance for noise, and its floor would wipe out the ink).
    The median and the MAD are measured ``NOISE_ROUNDS`` times: first on the lower of Otsu's
    two classes, then on the values at most ``NOISE_CUT`` spreads above the last centre. On
    bare paper the cut widens to the whole of its noise; beside ink it stays below the ink.
    Otsu's lower class holds at least the smallest value, and each later cut lies above the
    last median, so no round is empty. Measured on at most ``SAMPLE_PIXELS`` values.
    """
    values = ink[:: _step(ink.size), :: _step(ink.size)].reshape(-1)
    paper = values[values <= otsu_threshold(values)]
    for _ in range(NOISE_ROUNDS - 1):
        centre = float(np.median(paper))
        spread = 1.4826 * float(np.median(np.abs(paper - centre)))
        paper = values[values <= centre + NOISE_CUT * spread]
    centre = float(np.median(paper))
    return centre, 1.4826 * float(np.median(np.abs(paper - centre)))


def shrink(gray: np.ndarray) -> np.ndarray:
    """A copy of ``gray (H, W)`` whose longer side is at most ``WORKING_SIDE``, each pixel the
    mean of those it covers: cheap to filter at any image size, and less noisy."""
    from PIL import Image

    height, width = gray.shape
    factor = min(1.0, WORKING_SIDE / max(height, width))
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    image = Image.fromarray(gray.astype(np.float32), mode="F")
    return np.asarray(image.resize(size, Image.Resampling.BOX), np.float32)


def closing_window(small: np.ndarray) -> int:
    """The width of the closing that estimates the paper of the shrunken image ``small`` (dark
    ink): ``STROKES_PER_WINDOW`` pen widths, and at least ``STROKE_SHARE`` of its longer side.

    A closing fills in only the strokes narrower than its window; a wider stroke (a marker in a
    close-up) would be taken for paper, and what is left of it as ink is broken fragments of its
    middle. So the pen is measured first, on the ink that the widest closing leaves: wide
    enough for any pen, too wide to follow the light closely, which does not matter to the
    strokes' width. The window is no wider than needed, since a narrower one follows shadows
    and uneven light more closely.
    """
    least, widest = _window(small), _window(small, WIDEST_SHARE)
    ink = 1.0 - small / np.maximum(paper_brightness(small, small.shape, widest), 1.0)
    centre, noise = paper_noise(ink)
    ink = ink - centre - NOISE_FLOOR * noise
    if float(ink.max()) < NO_INK:  # only the light's slow changes, nothing to measure
        return least
    pen = stroke_width(ink > 0.5 * float(ink.max()))
    return min(max(least, round(STROKES_PER_WINDOW * pen) | 1), widest)


def stroke_width(mask: np.ndarray) -> float:
    """Estimated pen width of the strokes in a boolean ``mask (H, W)``, in pixels: twice the
    inked area over its outline's length (a stroke w wide and L long covers w * L pixels and has
    about 2 L outline pixels)."""
    area = int(mask.sum())
    inner = mask.copy()
    inner[1:-1, 1:-1] &= mask[:-2, 1:-1] & mask[2:, 1:-1] & mask[1:-1, :-2] & mask[1:-1, 2:]
    inner[[0, -1], :] = False
    inner[:, [0, -1]] = False
    outline = area - int(inner.sum())
    return 2.0 * area / max(outline, 1)


def paper_brightness(small: np.ndarray, shape: tuple[int, ...], window: int) -> np.ndarray:
    """The paper's brightness under every pixel, dark ink filled in, from the shrunken image
    ``small``: a grey closing ``window`` wide (wider than any stroke), smoothed over
    ``STROKE_SHARE`` of the side, enlarged to ``shape (H, W)``.

    Beyond the image's edges the light is taken to go on falling as it does across the image
    (``_extended``): repeating the edge alone would hold the light of a pixel half a window
    inside, and a sheet that darkens towards its edge would look darker than its paper.
    """
    from PIL import Image

    smoothing = _window(small)
    pad = window + smoothing  # as far as the filters look beyond the image
    closed = min_filter(max_filter(_extended(small, pad), window), window)
    smooth = _separable(closed, smoothing, np.mean)[pad:-pad, pad:-pad].astype(np.float32)
    image = Image.fromarray(smooth, mode="F")
    size = (shape[1], shape[0])  # Pillow wants (width, height)
    return np.asarray(image.resize(size, Image.Resampling.BILINEAR), np.float32)


def _extended(values: np.ndarray, pad: int) -> np.ndarray:
    """``values (H, W)`` inside a border ``pad`` wide: each pixel of it the darker of the
    nearest edge pixel and the plane closest to the paper, ``(H + 2 pad, W + 2 pad)``. Where
    the light falls towards an edge, the plane goes on falling beyond it; where the edge is
    darker than any plane (a vignette's corner), the edge is kept."""
    height, width = values.shape
    plane = quadratic_surface(values, pad, order=1).astype(values.dtype)
    extended = np.minimum(np.pad(values, pad, mode="edge"), plane)
    extended[pad : pad + height, pad : pad + width] = values
    return extended


def _window(small: np.ndarray, share: float = STROKE_SHARE) -> int:
    """A filter's odd width: ``share`` of the shrunken image's longer side."""
    return max(3, round(share * max(small.shape)) | 1)


def max_filter(values: np.ndarray, window: int) -> np.ndarray:
    """The largest value in the ``window x window`` square around every pixel (edges repeat):
    a square's maximum is the maximum over its rows of the maximum along them."""
    return _separable(values, window, np.max)


def min_filter(values: np.ndarray, window: int) -> np.ndarray:
    """The smallest value in the ``window x window`` square around every pixel."""
    return _separable(values, window, np.min)


def _separable(values: np.ndarray, window: int, reduce: Callable[..., np.ndarray]) -> np.ndarray:
    """``reduce`` (``np.max``, ``np.min`` or ``np.mean``) over the ``window x window`` square
    around every pixel, edges repeated: along the rows, then along the columns."""
    half = window // 2
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (half, half)
        padded = np.moveaxis(np.pad(values, pad, mode="edge"), axis, 0)
        values = np.moveaxis(_running(padded, window, reduce), 0, axis)
    return values


def _running(values: np.ndarray, window: int, reduce: Callable[..., np.ndarray]) -> np.ndarray:
    """``reduce`` over every ``window`` consecutive rows of ``values (n, ...)``: ``(n - window +
    1, ...)``. A mean is a difference of running sums. A maximum (or minimum) over 2s rows is
    that of two overlapping runs of s, so runs double until the next doubling would pass the
    window, and two overlapping runs cover it: log(window) steps, not window."""
    if reduce is np.mean:
        sums = np.cumsum(values, axis=0, dtype=np.float64)
        sums = np.concatenate([np.zeros_like(sums[:1]), sums])
        return (sums[window:] - sums[:-window]) / window
    pair = np.maximum if reduce is np.max else np.minimum
    span, result = 1, values
    while 2 * span <= window:
        result = pair(result[:-span], result[span:])  # each row: the run of 2 span from it
        span *= 2
    rest = window - span
    return pair(result[: len(result) - rest], result[rest:]) if rest else result


def remove_ruled_lines(ink: np.ndarray) -> np.ndarray:
    """Subtract lines that run across the whole image, horizontal or vertical (ruled and squared
    paper): a row's line is the ink that at least ``LINE_COVER`` of the row has, less what the
    rows ``LINE_WIDTH`` of the height above and below it have: a ruled line is thin, while the
    bar of a digit that fills the frame, drawn with a marker, is as wide as its pen. A pen stroke
    never covers that much of a row otherwise, so digits keep their ink, less the line where
    they cross. In a large image each row's share is measured on every few pixels along it.
    """
    quantile = 100 * (1 - LINE_COVER)
    step = _step(ink.size)
    rows = _thin_peaks(np.percentile(ink[:, ::step], quantile, axis=1))
    ink = np.clip(ink - rows[:, np.newaxis], 0, None)
    columns = _thin_peaks(np.percentile(ink[::step], quantile, axis=0))
    return np.clip(ink - columns[np.newaxis, :], 0, None)


def _thin_peaks(profile: np.ndarray) -> np.ndarray:
    """How far each entry of a row's (or column's) line profile rises above both of the entries
    ``LINE_WIDTH`` of its length away (no ink beyond the image): a thin line's whole strength, a
    wide bar's none. Ruled paper has lines at intervals: fewer than ``RULED_LINES`` of them are
    strokes instead (a 1 filling the frame) and nothing is subtracted."""
    gap = max(2, round(LINE_WIDTH * len(profile)))
    padded = np.pad(profile, gap)
    around = np.maximum(padded[: -2 * gap], padded[2 * gap :])
    peaks = np.clip(profile - around, 0, None)
    lines = np.diff((peaks > LINE_TRACE).astype(np.int8), prepend=0) == 1  # where each begins
    return peaks if lines.sum() >= RULED_LINES else np.zeros_like(peaks)


def _step(size: int, pixels: int = SAMPLE_PIXELS) -> int:
    """The stride, along each axis, that leaves at most about ``pixels`` of ``size`` pixels to
    measure statistics on (1: all of them, for images up to about 500x500)."""
    return max(1, math.ceil(math.sqrt(size / pixels)))


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
