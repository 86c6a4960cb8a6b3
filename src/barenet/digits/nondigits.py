"""Things people draw or photograph that are not digits: letters, words, scribbles, shapes,
textures, dots and smudges, generated at random as ink coverage on a canvas.

They teach the digit detector what "not a digit" looks like and measure it (with other seeds).
Letters are drawn with a small stroke font (polylines in a unit box), jittered, slanted and
stretched like handwriting; letters that people also write as digits (O, I, l, S, Z, B, G, q, ...)
are left out, as are single straight strokes (a 1) and plain rings (a 0).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Strokes = list[list[tuple[float, float]]]  # polylines, (x, y) in a unit box, y downwards

_P = [(0, 1), (0, 0), (0.7, 0), (0.92, 0.12), (0.92, 0.38), (0.7, 0.5), (0, 0.5)]
LETTERS: dict[str, Strokes] = {
    "A": [[(0, 1), (0.5, 0), (1, 1)], [(0.25, 0.55), (0.75, 0.55)]],
    "E": [[(1, 0), (0, 0), (0, 1), (1, 1)], [(0, 0.5), (0.7, 0.5)]],
    "F": [[(1, 0), (0, 0), (0, 1)], [(0, 0.5), (0.7, 0.5)]],
    "H": [[(0, 0), (0, 1)], [(1, 0), (1, 1)], [(0, 0.5), (1, 0.5)]],
    "K": [[(0, 0), (0, 1)], [(1, 0), (0, 0.55)], [(0.3, 0.4), (1, 1)]],
    "L": [[(0, 0), (0, 1), (0.8, 1)]],
    "M": [[(0, 1), (0, 0), (0.5, 0.6), (1, 0), (1, 1)]],
    "N": [[(0, 1), (0, 0), (1, 1), (1, 0)]],
    "P": [_P],
    "R": [_P, [(0.4, 0.5), (1, 1)]],
    "V": [[(0, 0), (0.5, 1), (1, 0)]],
    "W": [[(0, 0), (0.25, 1), (0.5, 0.4), (0.75, 1), (1, 0)]],
    "X": [[(0, 0), (1, 1)], [(1, 0), (0, 1)]],
    "Y": [[(0, 0), (0.5, 0.5), (1, 0)], [(0.5, 0.5), (0.5, 1)]],
    "e": [[(0.1, 0.7), (0.9, 0.7), (0.85, 0.5), (0.6, 0.4), (0.3, 0.45), (0.1, 0.7), (0.2, 0.9),
           (0.5, 1), (0.85, 0.92)]],
    "h": [[(0, 0), (0, 1)], [(0, 0.6), (0.3, 0.42), (0.7, 0.42), (0.9, 0.6), (0.9, 1)]],
    "k": [[(0, 0), (0, 1)], [(0.8, 0.45), (0, 0.75)], [(0.3, 0.65), (0.9, 1)]],
    "m": [[(0, 1), (0, 0.45)], [(0, 0.6), (0.15, 0.45), (0.35, 0.45), (0.5, 0.6), (0.5, 1)],
          [(0.5, 0.6), (0.65, 0.45), (0.85, 0.45), (1, 0.6), (1, 1)]],
    "n": [[(0, 1), (0, 0.45)], [(0, 0.6), (0.25, 0.45), (0.7, 0.45), (0.9, 0.6), (0.9, 1)]],
    "r": [[(0, 1), (0, 0.45)], [(0, 0.65), (0.3, 0.45), (0.7, 0.45)]],
    "w": [[(0, 0.45), (0.25, 1), (0.5, 0.6), (0.75, 1), (1, 0.45)]],
    "x": [[(0, 0.45), (1, 1)], [(1, 0.45), (0, 1)]],
}  # fmt: skip


def _draw(size: int, strokes: Strokes, width: float) -> np.ndarray:
    """Polylines in canvas pixels drawn with a round pen: ``(size, size)`` coverage in 0..1."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (size, size), 0)
    pen = ImageDraw.Draw(image)
    radius = width / 2
    for line in strokes:
        pen.line(line, fill=255, width=max(1, round(width)), joint="curve")
        for x, y in (line[0], line[-1]):  # round ends
            pen.ellipse([x - radius, y - radius, x + radius, y + radius], fill=255)
    return np.asarray(image, np.float32) / 255.0


def _handwritten(strokes: Strokes, rng: np.random.Generator, box: np.ndarray) -> Strokes:
    """Unit-box strokes jittered, slanted, rotated and stretched, then mapped into ``box``
    (left, top, width, height) on the canvas."""
    slant, angle = rng.uniform(-0.35, 0.35), rng.uniform(-0.25, 0.25)
    cos, sin = np.cos(angle), np.sin(angle)
    left, top, width, height = box
    placed = []
    for line in strokes:
        points = np.array(line, np.float64) + rng.normal(0, 0.04, (len(line), 2))
        x, y = points[:, 0] - 0.5 + slant * (0.5 - points[:, 1]), points[:, 1] - 0.5
        x, y = cos * x - sin * y + 0.5, sin * x + cos * y + 0.5
        placed.append([(left + a * width, top + b * height) for a, b in zip(x, y, strict=True)])
    return placed


def letter(size: int, rng: np.random.Generator) -> np.ndarray:
    """One handwritten letter, filling most of the canvas."""
    name = rng.choice(sorted(LETTERS))
    aspect = rng.uniform(0.55, 1.0)
    height = size * rng.uniform(0.5, 0.8)
    box = np.array([(size - aspect * height) / 2, (size - height) / 2, aspect * height, height])
    return _draw(size, _handwritten(LETTERS[name], rng, box), height * rng.uniform(0.05, 0.14))


def word(size: int, rng: np.random.Generator) -> np.ndarray:
    """Two to six handwritten letters in a row."""
    names = rng.choice(sorted(LETTERS), int(rng.integers(2, 7)))
    step = size * 0.9 / len(names)
    height = min(step * rng.uniform(1.0, 1.6), size * 0.6)
    strokes: Strokes = []
    for index, name in enumerate(names):
        box = np.array([size * 0.05 + index * step, (size - height) / 2, step * 0.85, height])
        strokes += _handwritten(LETTERS[name], rng, box)
    return _draw(size, strokes, height * rng.uniform(0.05, 0.12))


def scribble(size: int, rng: np.random.Generator) -> np.ndarray:
    """A pen wandering with momentum: many turns and crossings, smoothed."""
    count = int(rng.integers(20, 50))
    heading, position, points = rng.uniform(0, 2 * np.pi), np.full(2, size / 2), []
    for _ in range(count):
        heading += rng.normal(0, 1.0)
        position = np.clip(position + size * 0.12 * np.array([np.cos(heading), np.sin(heading)]),
                           size * 0.1, size * 0.9)  # fmt: skip
        points.append(position.copy())
    smooth = np.array(points)
    smooth[1:-1] = (smooth[:-2] + 2 * smooth[1:-1] + smooth[2:]) / 4
    return _draw(size, [[tuple(p) for p in smooth]], size * rng.uniform(0.015, 0.05))


def shape(size: int, rng: np.random.Generator) -> np.ndarray:
    """A polygon (triangle to octagon, a star, a cross), outlined or filled, or a filled
    ellipse."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (size, size), 0)
    pen = ImageDraw.Draw(image)
    centre, radius = size / 2, size * rng.uniform(0.25, 0.42)
    kind = rng.integers(0, 4)
    if kind == 0:  # filled ellipse: a blot of ink, no hole
        ry = radius * rng.uniform(0.5, 1.0)
        pen.ellipse([centre - radius, centre - ry, centre + radius, centre + ry], fill=255)
        return np.asarray(image, np.float32) / 255.0
    corners = int(rng.integers(3, 9))
    turn = rng.uniform(0, 2 * np.pi)
    angles = turn + np.arange(corners) * 2 * np.pi / corners
    radii = np.full(corners, radius)
    if kind == 2:  # a star: inner corners between the outer ones
        angles = turn + np.arange(2 * corners) * np.pi / corners
        radii = np.where(np.arange(2 * corners) % 2, radius * rng.uniform(0.3, 0.55), radius)
    points = [
        (centre + r * np.cos(a), centre + r * np.sin(a)) for r, a in zip(radii, angles, strict=True)
    ]
    if kind == 3:  # a cross: two strokes through the middle
        half = len(points) // 2
        return _draw(size, [[points[0], points[half]], [points[1], points[1 + half]]],
                     size * rng.uniform(0.03, 0.08))  # fmt: skip
    if rng.random() < 0.5:
        pen.polygon(points, fill=255)
    else:
        width = max(1, round(size * rng.uniform(0.02, 0.07)))
        pen.line([*points, points[0]], fill=255, width=width, joint="curve")
    return np.asarray(image, np.float32) / 255.0


def texture(size: int, rng: np.random.Generator) -> np.ndarray:
    """Hatching, a grid, a checkerboard or a field of dots across most of the canvas."""
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32)
    period = size * rng.uniform(0.06, 0.2)
    angle = rng.uniform(0, np.pi)
    along = cols * np.cos(angle) + rows * np.sin(angle)
    across = -cols * np.sin(angle) + rows * np.cos(angle)
    kind = rng.integers(0, 4)
    width = rng.uniform(0.15, 0.4)
    if kind == 0:  # hatching
        ink = (along / period) % 1 < width
    elif kind == 1:  # a grid
        ink = ((along / period) % 1 < width / 2) | ((across / period) % 1 < width / 2)
    elif kind == 2:  # a checkerboard
        ink = (np.floor(along / period) + np.floor(across / period)) % 2 == 0
    else:  # dots
        ink = ((along / period) % 1 - 0.5) ** 2 + ((across / period) % 1 - 0.5) ** 2 < width**2
    margin = int(size * rng.uniform(0.05, 0.2))
    frame = np.zeros((size, size), bool)
    frame[margin : size - margin, margin : size - margin] = True
    return (ink & frame).astype(np.float32)


def dot(size: int, rng: np.random.Generator) -> np.ndarray:
    """One to three small dots anywhere on the page."""
    strokes = []
    for _ in range(int(rng.integers(1, 4))):
        x, y = rng.uniform(0.1, 0.9, 2) * size
        strokes.append([(x, y), (x + rng.uniform(0, 1), y + rng.uniform(0, 1))])
    return _draw(size, strokes, size * rng.uniform(0.01, 0.06))


def smudge(size: int, rng: np.random.Generator) -> np.ndarray:
    """One to three soft blobs of faint ink, like a smear or a thumbprint."""
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32)
    ink = np.zeros((size, size), np.float32)
    for _ in range(int(rng.integers(1, 4))):
        x, y = rng.uniform(0.25, 0.75, 2) * size
        sx, sy = rng.uniform(0.04, 0.2, 2) * size
        distance = ((cols - x) / sx) ** 2 + ((rows - y) / sy) ** 2  # squared, in spreads
        ink += rng.uniform(0.3, 0.9) * np.exp(-distance / 2)
    return np.clip(ink, 0, 1)


KINDS: dict[str, Callable[[int, np.random.Generator], np.ndarray]] = {
    "letter": letter,
    "word": word,
    "scribble": scribble,
    "shape": shape,
    "texture": texture,
    "dot": dot,
    "smudge": smudge,
}


def non_digit(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random non-digit of ``kind`` (one of ``KINDS``): ``(size, size)`` ink coverage 0..1."""
    if kind not in KINDS:
        names = ", ".join(KINDS)
        raise ValueError(f"Unknown kind of non-digit {kind!r}. Expected one of: {names}.")
    return KINDS[kind](size, rng)
