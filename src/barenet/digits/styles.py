"""Digits as people make them: any pen from a hairline to a marker, a soft brush, a close-up, a
digit small on a large page, chalk on a board, a dark-mode screenshot, coloured ink on coloured
paper, heavy JPEG, a few degrees of rotation, and photos.

A style redraws a digit's strokes: the digit's ink is thinned to its centre line (its skeleton),
and the line is drawn again with a round pen of the style's width, a share of the digit's height.
Then the drawing is placed on a canvas at the style's size, in its colours, blurred, textured or
photographed, and saved as the file a person would send (PNG or JPEG). ``styled_digit`` does it
for one digit, ``styled_ink`` for any ink (non-digits), every choice drawn from the ``rng`` given:
same seed, same images. The reading benchmark and the digit detector's training use them, and
the tests prepare a few of each.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass

import numpy as np

from barenet.digits.paper import blotches, photograph

WORK = 4  # skeletons are traced at 4x a 28x28 digit's resolution (112x112)
RENDER = 160  # strokes are drawn on at most 160 px of the digit's longer side, then resized


@dataclass(frozen=True)
class Style:
    """How a digit is drawn and sent; each pair is the range a value is drawn from uniformly.

    ``fill`` is the digit's height as a share of the canvas's shorter side, ``pen`` the pen's
    width as a share of the digit's height, ``blur`` a Gaussian blur's radius as a share of the
    digit's height, ``angle`` a rotation in degrees.
    """

    name: str
    fill: tuple[float, float] = (0.3, 0.7)
    pen: tuple[float, float] = (0.07, 0.12)
    blur: tuple[float, float] = (0.0, 0.0)
    angle: tuple[float, float] = (-3.0, 3.0)
    canvas: tuple[int, int] = (160, 360)
    papers: tuple[tuple[int, int, int], ...] = ((255, 255, 255), (245, 245, 240))
    inks: tuple[tuple[int, int, int], ...] = ((20, 20, 25), (30, 40, 120))
    jpeg: tuple[int, int] | None = (75, 95)  # quality range; None: PNG
    chalk: bool = False  # grainy strokes on a blotchy board
    photo: bool = False  # photographed by ``paper.photograph`` (dark ink on paper)
    noise: float = 6.0  # the largest sensor noise, grey levels (standard deviation)
    texture: float = 10.0  # the largest unevenness of the paper, grey levels (standard deviation)


DARK = ((18, 18, 18), (30, 30, 34), (43, 43, 43), (24, 26, 33))  # dark-mode backgrounds
BOARDS = ((40, 60, 50), (35, 45, 40), (50, 50, 55), (25, 35, 30))  # chalkboards
CHALKS = ((235, 235, 230), (220, 220, 210), (240, 230, 170))
COLOURED_PAPERS = ((255, 245, 170), (255, 220, 230), (210, 235, 255), (235, 225, 200))
COLOURED_INKS = ((20, 40, 160), (180, 20, 30), (20, 110, 40), (90, 30, 130))

STYLES: dict[str, Style] = {
    style.name: style
    for style in (
        Style("hairline pen", pen=(0.012, 0.025)),
        Style("ballpoint", pen=(0.03, 0.06)),
        Style("felt pen", pen=(0.07, 0.12)),
        Style("thick marker", pen=(0.14, 0.2)),
        Style("soft brush", pen=(0.12, 0.2), blur=(0.03, 0.06)),
        Style("close-up, pen", fill=(0.8, 1.0), pen=(0.04, 0.1)),
        Style("close-up, marker", fill=(0.8, 1.0), pen=(0.13, 0.2)),
        Style("small on a large page", fill=(0.08, 0.15), canvas=(600, 900), pen=(0.06, 0.12)),
        Style("chalkboard", papers=BOARDS, inks=CHALKS, chalk=True, pen=(0.06, 0.15), texture=14),
        Style(
            "dark-mode screenshot",
            papers=DARK,
            inks=((255,) * 3, (220,) * 3),
            jpeg=None,
            noise=0,
            texture=0,
        ),
        Style("coloured ink and paper", papers=COLOURED_PAPERS, inks=COLOURED_INKS),
        Style("heavy JPEG", jpeg=(8, 25)),
        Style("rotated", angle=(-12.0, 12.0)),
        Style("photo", photo=True, pen=(0.06, 0.14)),
        Style("photo, close-up, marker", photo=True, fill=(0.8, 1.0), pen=(0.12, 0.2)),
    )
}


def thin(mask: np.ndarray) -> np.ndarray:
    """The centre line, one pixel wide, of the shapes in a boolean ``mask (H, W)``: Zhang and
    Suen's thinning, which peels border pixels off in two alternating sub-steps until none can
    go without breaking a line or shortening its end."""
    image = np.pad(mask.astype(bool), 1)
    while True:
        removed = False
        for step in (0, 1):
            p = image
            # the 8 neighbours clockwise from the one above: P2, P3, ..., P9
            n = [p[:-2, 1:-1], p[:-2, 2:], p[1:-1, 2:], p[2:, 2:], p[2:, 1:-1], p[2:, :-2],
                 p[1:-1, :-2], p[:-2, :-2]]  # fmt: skip
            count = sum(x.astype(np.int8) for x in n)
            ring = n + n[:1]
            crossings = sum((~a & b).astype(np.int8) for a, b in itertools.pairwise(ring))
            if step == 0:
                open_side = ~(n[0] & n[2] & n[4]) & ~(n[2] & n[4] & n[6])
            else:
                open_side = ~(n[0] & n[2] & n[6]) & ~(n[0] & n[4] & n[6])
            peel = p[1:-1, 1:-1] & (count >= 2) & (count <= 6) & (crossings == 1) & open_side
            if peel.any():
                image = image.copy()
                image[1:-1, 1:-1] &= ~peel
                removed = True
        if not removed:
            return image[1:-1, 1:-1]


def skeleton(image: np.ndarray) -> np.ndarray:
    """The centre line of a small digit ``(h, w)``, light ink on black in any range (MNIST's
    28x28 in 0..255, UCI's 8x8 in 0..16): its points ``(K, 2)`` as (row, column), in units of
    the digit's height, traced at ``WORK`` times a 28-pixel digit's resolution."""
    from PIL import Image

    image = np.asarray(image, np.float32)
    scale = WORK * 28 / max(image.shape)
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    big = np.asarray(
        Image.fromarray(image / max(float(image.max()), 1e-6), mode="F").resize(
            size, Image.Resampling.BICUBIC
        )
    )
    points = np.argwhere(thin(big > 0.45)).astype(np.float64)
    if len(points) == 0:
        raise ValueError("the digit has no ink to trace")
    height = np.ptp(points[:, 0]) + 1
    return points / height


def redraw(points: np.ndarray, height: int, pen: float, angle: float) -> np.ndarray:
    """A centre line ``(K, 2)`` (``skeleton``'s units) drawn again with a round pen ``pen`` of
    the height wide, turned by ``angle`` degrees, its height ``height`` pixels: the ink coverage
    ``(h, w)`` in 0..1 of the drawing's box, the pen's width included."""
    from PIL import Image, ImageDraw

    turn = np.deg2rad(angle)
    centre = points.mean(axis=0)
    rows, cols = (points - centre).T
    turned = np.stack(
        [rows * np.cos(turn) + cols * np.sin(turn), -rows * np.sin(turn) + cols * np.cos(turn)], 1
    )
    render = min(height, RENDER)  # pixels per unit of height where the strokes are drawn
    radius = pen * render / 2
    turned = (turned - turned.min(axis=0)) * render + radius + 1
    box = np.ceil(turned.max(axis=0) + radius + 1).astype(int)
    # A round pen pressed at every point of the line, drawn at twice the size and averaged
    # down, so that the strokes' edges are smooth.
    image = Image.new("L", (2 * int(box[1]), 2 * int(box[0])), 0)
    pen_down = ImageDraw.Draw(image)
    r = max(2 * radius, 0.5)
    for row, col in 2 * turned:
        pen_down.ellipse([col - r, row - r, col + r, row + r], fill=255)
    size = (max(1, round(box[1] * height / render)), max(1, round(box[0] * height / render)))
    resized = image.resize(
        size, Image.Resampling.BOX if render == height else Image.Resampling.BILINEAR
    )
    return np.asarray(resized, np.float32) / 255.0


def styled_digit(image: np.ndarray, style: Style, rng: np.random.Generator) -> bytes:
    """A small digit (light on black, e.g. MNIST's 28x28 or UCI's 8x8) drawn in ``style``: the
    bytes of the image file a person would send."""
    side = int(rng.integers(*style.canvas))
    height = max(8, round(side * rng.uniform(*style.fill)))
    coverage = redraw(skeleton(image), height, rng.uniform(*style.pen), rng.uniform(*style.angle))
    if max(coverage.shape) > side:  # a wide digit at full height: shrink it to fit
        coverage = _fit(coverage, side)
    return _send(_placed(coverage, side, rng), style, rng, height)


def styled_ink(coverage: np.ndarray, style: Style, rng: np.random.Generator) -> bytes:
    """Any ink coverage ``(h, w)`` in 0..1 (a non-digit, say) sent in ``style``: placed at the
    style's size, thickened towards its pen, in its colours and effects."""
    side = int(rng.integers(*style.canvas))
    height = max(8, round(side * rng.uniform(*style.fill)))
    coverage = _fit(coverage, height)
    pen_pixels = rng.uniform(*style.pen) * height
    grow = int(pen_pixels / 2) * 2 + 1  # round to an odd size
    if grow > 3 and pen_pixels > 0.1 * height:  # a marker's strokes are wider than drawn
        from PIL import Image, ImageFilter

        grown = Image.fromarray((coverage * 255).astype(np.uint8)).filter(
            ImageFilter.MaxFilter(min(grow, 15))  # grow is odd already
        )
        coverage = np.asarray(grown, np.float32) / 255
    return _send(_placed(coverage, side, rng), style, rng, height)


def _fit(coverage: np.ndarray, side: int) -> np.ndarray:
    """``coverage`` resized so that its longer side is ``side`` pixels."""
    from PIL import Image

    factor = side / max(coverage.shape)
    size = (max(1, round(coverage.shape[1] * factor)), max(1, round(coverage.shape[0] * factor)))
    resized = Image.fromarray(coverage.astype(np.float32), mode="F").resize(
        size, Image.Resampling.BILINEAR
    )
    return np.clip(np.asarray(resized, np.float32), 0, 1)


def _placed(coverage: np.ndarray, side: int, rng: np.random.Generator) -> np.ndarray:
    """``coverage`` somewhere on a square canvas ``side`` wide (inside it, not always in the
    middle): ``(side, side)``."""
    canvas = np.zeros((side, side), np.float32)
    height, width = coverage.shape
    top = int(rng.integers(0, side - height + 1))
    left = int(rng.integers(0, side - width + 1))
    canvas[top : top + height, left : left + width] = coverage
    return canvas


def _send(coverage: np.ndarray, style: Style, rng: np.random.Generator, height: int) -> bytes:
    """The ink ``coverage (side, side)`` in the style's colours and effects, encoded."""
    from PIL import Image, ImageFilter

    if style.photo:
        return photograph(coverage, rng)
    if style.chalk:  # chalk leaves grains of the board showing through its strokes
        grain = rng.uniform(0.55, 1.0, coverage.shape).astype(np.float32)
        coverage = coverage * grain
    paper = np.array(style.papers[int(rng.integers(len(style.papers)))], np.float32)
    ink = np.array(style.inks[int(rng.integers(len(style.inks)))], np.float32)
    pixels = paper * (1 - coverage[..., None]) + ink * coverage[..., None]  # (side, side, 3)
    # the paper's (or the board's smeared chalk dust's) unevenness, and the sensor's noise
    pixels += (blotches(coverage.shape, rng) * rng.uniform(0, style.texture))[..., None]
    noise = rng.standard_normal(coverage.shape).astype(np.float32) * rng.uniform(0, style.noise)
    pixels += noise[..., None]
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="RGB")
    radius = rng.uniform(*style.blur) * height
    if radius > 0:
        image = image.filter(ImageFilter.GaussianBlur(radius))
    out = io.BytesIO()
    if style.jpeg is None:
        image.save(out, format="PNG")
    else:
        image.save(out, format="JPEG", quality=int(rng.integers(*style.jpeg)))
    return out.getvalue()
