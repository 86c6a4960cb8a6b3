"""The digit detector's images: digits and non-digits drawn, photographed or sent in a style,
and prepared as the network sees them (``detector_training`` learns from them and validates on
them; the reader's training draws digits the same way).

A digit is placed on a page, photographed on synthetic paper, or its strokes drawn again in a
style of ``styles.STYLES``; a non-digit (``nondigits.KINDS``) the same. Every image then goes
through ``imaging.to_mnist``, so that the networks learn what that preparation does to it. The
images are made in parts of ``PART``, each from a seed of its own, in one process per core: the
same images whatever the number of processes.
"""

from __future__ import annotations

import io
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from barenet.digits.imaging import BlankImageError, load_digit, to_mnist
from barenet.digits.nondigits import KINDS, non_digit
from barenet.digits.paper import photograph, placed_ink
from barenet.digits.styles import STYLES, styled_digit, styled_ink
from barenet.digits.workers import exit_with_parent

STYLE_SHARE = 0.6  # of the redrawn digits and of the non-digits, those sent in a random style
PHOTO_SHARE = 0.5  # of the others, those photographed (the rest are drawn on a page)
PART = 500  # images made from one seed
# the ways of sending an image besides the styles (whose names they must not share: one is "photo")
DRAWN, PHOTOGRAPHED = "drawn on a page", "photographed on paper"


@dataclass(frozen=True)
class Prepared:
    """Images prepared as the network sees them, and how many could not be (no ink found)."""

    inputs: np.ndarray  # (N, 28, 28) uint8
    blank: int
    ways: tuple[str, ...] = ()  # how each was sent: DRAWN, PHOTOGRAPHED or a style's name
    kept: tuple[int, ...] = ()  # the index of each input among the images given


def _prepare(
    coverages: list[np.ndarray],
    rng: np.random.Generator,
    photo_share: float,
    style_share: float = 0.0,
    styled: Sequence[tuple[str, bytes] | None] | None = None,
    styles: Sequence[str] = tuple(STYLES),
) -> Prepared:
    """Ink coverages (0..1) drawn dark on white, or photographed (``photo_share`` of them), or
    sent in a random style of ``styles`` (``style_share``; ``styled`` holds the style and file of
    each already drawn that way, as digits are), each prepared by ``to_mnist``."""
    inputs, ways, kept, blank = [], [], [], 0
    for index, coverage in enumerate(coverages):
        drawn = styled[index] if styled is not None else None
        try:
            if drawn is not None:
                way = drawn[0]
                inputs.append(load_digit(io.BytesIO(drawn[1]), name="styled"))
            elif rng.random() < style_share:
                way = str(rng.choice(list(styles)))
                file = styled_ink(coverage, STYLES[way], rng)
                inputs.append(load_digit(io.BytesIO(file), name="styled"))
            elif rng.random() < photo_share:
                way = PHOTOGRAPHED
                side = int(max(coverage.shape) * rng.uniform(1.2, 1.8))
                canvas = np.zeros((side, side), np.float32)
                top, left = rng.integers(0, side - np.array(coverage.shape) + 1)
                canvas[top : top + coverage.shape[0], left : left + coverage.shape[1]] = coverage
                inputs.append(load_digit(io.BytesIO(photograph(canvas, rng)), name="photo"))
            else:
                way = DRAWN
                inputs.append(to_mnist(255.0 * (1.0 - coverage)))
            ways.append(way)
            kept.append(index)
        except BlankImageError:
            blank += 1
    stacked = np.stack(inputs) if inputs else np.zeros((0, 28, 28), np.uint8)
    return Prepared(stacked, blank, tuple(ways), tuple(kept))


def prepared_digits(
    images: np.ndarray,
    rng: np.random.Generator,
    photo_share: float,
    style_share: float = 0.0,
    styles: Sequence[str] = tuple(STYLES),
) -> Prepared:
    """MNIST-style digits ``(N, 28, 28)`` drawn on a page, photographed, or redrawn in a random
    style of ``styles`` (``style_share`` of them: their strokes drawn again with another pen),
    then prepared."""
    coverages, styled = [], []
    for image in images:
        side = int(rng.integers(100, 200))
        coverages.append(placed_ink(image, rng, (side, side)))
        restyle = rng.random() < style_share
        style = str(rng.choice(list(styles)))
        restyled = restyle and image.any()
        styled.append((style, styled_digit(image, STYLES[style], rng)) if restyled else None)
    return _prepare(coverages, rng, photo_share, styled=styled)


def prepared_non_digits(
    count: int,
    rng: np.random.Generator,
    photo_share: float,
    kinds: tuple[str, ...] = tuple(KINDS),
    style_share: float = 0.0,
    styles: Sequence[str] = tuple(STYLES),
) -> tuple[Prepared, list[str]]:
    """``count`` non-digits, the kinds in turn, drawn, photographed or sent in a random style of
    ``styles`` (``style_share`` of them), then prepared; with the kind of each prepared input."""
    names = [kinds[index % len(kinds)] for index in range(count)]
    prepared, ways, kept = [], [], []
    for index, name in enumerate(names):
        coverage = non_digit(name, int(rng.integers(96, 160)), rng)
        one = _prepare([coverage], rng, photo_share, style_share, styles=styles)
        if len(one.inputs):
            prepared.append(one.inputs[0])
            ways.append(one.ways[0])
            kept.append(index)
    inputs = np.stack(prepared)
    kept_kinds = [names[index] for index in kept]
    return Prepared(inputs, count - len(inputs), tuple(ways), tuple(kept)), kept_kinds


def _mix(styles: tuple[str, ...] | None) -> tuple[float, tuple[str, ...]]:
    """A part's share sent in a style, and the styles: for ``None`` the usual mix
    (``STYLE_SHARE`` in any style, the others drawn or photographed), else every image in one of
    ``styles`` (the training's ``THIN_PENS``)."""
    return (STYLE_SHARE, tuple(STYLES)) if styles is None else (1.0, styles)


def _digits_part(task: tuple[np.ndarray, list[int], tuple[str, ...] | None]) -> Prepared:
    images, seed, styles = task
    share, pens = _mix(styles)
    return prepared_digits(images, np.random.default_rng(seed), PHOTO_SHARE, share, pens)


def _non_digits_part(task: tuple[int, list[int], tuple[str, ...] | None]) -> Prepared:
    count, seed, styles = task
    share, pens = _mix(styles)
    rng = np.random.default_rng(seed)
    return prepared_non_digits(count, rng, PHOTO_SHARE, style_share=share, styles=pens)[0]


def _in_parts(make: Callable[[Any], Prepared], tasks: list[Any], workers: int) -> Prepared:
    """Every part made (in ``workers`` spawned processes when more than one), joined in order.
    A spawned process imports this module afresh: only what the parent does (the parts) may be
    patched, not what a part reads (``STYLE_SHARE``, ``PHOTO_SHARE``)."""
    if not tasks:
        return Prepared(np.zeros((0, 28, 28), np.uint8), 0)
    if workers > 1:
        context = multiprocessing.get_context("spawn")  # forking beside BLAS threads can hang
        with ProcessPoolExecutor(
            min(workers, len(tasks)), mp_context=context, initializer=exit_with_parent
        ) as pool:
            parts = list(pool.map(make, tasks))
    else:
        parts = [make(task) for task in tasks]
    return Prepared(
        np.concatenate([part.inputs for part in parts]),
        sum(part.blank for part in parts),
        tuple(way for part in parts for way in part.ways),
        tuple(at * PART + index for at, part in enumerate(parts) for index in part.kept),
    )


def generated_digits(
    images: np.ndarray,
    seed: list[int],
    workers: int = 1,
    styles: tuple[str, ...] | None = None,
) -> Prepared:
    """``images`` each drawn on a page, photographed or redrawn in a style (with ``styles``:
    each redrawn in one of them), and prepared: in parts of ``PART``, the part ``i`` from the
    seed ``[*seed, i]``."""
    tasks = [
        (images[at : at + PART], [*seed, at // PART], styles) for at in range(0, len(images), PART)
    ]
    return _in_parts(_digits_part, tasks, workers)


def generated_non_digits(
    count: int, seed: list[int], workers: int = 1, styles: tuple[str, ...] | None = None
) -> Prepared:
    """``count`` non-digits, made and prepared like ``generated_digits``' digits."""
    tasks = [(min(PART, count - at), [*seed, at // PART], styles) for at in range(0, count, PART)]
    return _in_parts(_non_digits_part, tasks, workers)
