"""Training the digit detector (``detector.py``): the data it learns from, and its threshold.

    python -m barenet.digits.detector_training --out src/barenet/digits/models/digit-detector.npz

(``--threshold-of FILE`` trains nothing: it keeps a detector's weights and chooses its
threshold again, on the validation set below.)

Digits: MNIST's first 50,000 training images as they are, and some of them drawn on a page,
photographed, or redrawn in a random style of ``styles.STYLES`` (another pen, a close-up, chalk,
a dark-mode screen, ...) and prepared again by ``imaging.to_mnist``, so that the detector knows
what that preparation does to a digit. Non-digits: every kind in ``nondigits.KINDS``, drawn,
photographed or sent in a style, prepared the same way.

Every way of sending an image (a drawing, a photo, each style) holds as many digits as
non-digits: the redrawn digits and the non-digits are as many and sent in the same shares. With
fewer digits than non-digits in a style, the detector learns that the style itself speaks against
a digit, and rejects that style's real digits (a hairline pen's 7%, when a style held three
non-digits for each digit). The thin pens (``THIN_PENS``) get more of both: a digit written with a
hairline is a thin line, as a scribble is, and these are the digits the detector rejects most.

MNIST's last 10,000 training images (two thirds of them drawn again, three times each) and new
non-digits (other seeds) are the validation set the threshold is chosen on (``detector_threshold``:
no way of sending a digit may lose more than 1% of its digits); the test set is never looked
at. The images are made in parts of ``PART``, each from a seed of its own, in one process per
core: the same images whatever the number of processes.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from barenet.datasets import Dataset, load_mnist
from barenet.digits.config import TrainConfig
from barenet.digits.detector import DIGIT
from barenet.digits.detector_threshold import Validation, with_threshold
from barenet.digits.imaging import BlankImageError, load_digit, to_mnist
from barenet.digits.nondigits import KINDS, non_digit
from barenet.digits.paper import photograph, placed_ink
from barenet.digits.recipe import train
from barenet.digits.styles import STYLES, styled_digit, styled_ink
from barenet.digits.workers import exit_with_parent, usable_cores
from barenet.model import Sequential, load_model

DETECTOR_CONFIG = TrainConfig(
    layers=[784, 128, 2], conv=[16, 32], epochs=8, batch_size=128, augment="affine", seed=0
)
TRAIN_DIGITS = 50_000  # MNIST training images the detector learns from; the rest validate
STYLE_SHARE = 0.6  # of the redrawn digits and of the non-digits, those sent in a random style
PHOTO_SHARE = 0.5  # of the others, those photographed (the rest are drawn on a page)
THIN_PENS = ("hairline pen", "ballpoint")  # the styles whose digits look most like scribbles
THIN_EXTRA = 6_000  # more digits drawn with the thin pens, and as many non-digits
VALIDATION_REDRAWS = 3  # times each held-out digit is drawn again to validate: ~800 per style
PART = 500  # images made from one seed
AS_IS = "MNIST as it is"  # the validation digits not drawn again
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


# A part's task ends with its styles: None for the usual mix (STYLE_SHARE of them in any style,
# the others drawn or photographed), or the only styles to send every image in (THIN_PENS).
def _digits_part(task: tuple[np.ndarray, list[int], tuple[str, ...] | None]) -> Prepared:
    images, seed, styles = task
    rng = np.random.default_rng(seed)
    if styles is None:
        return prepared_digits(images, rng, PHOTO_SHARE, STYLE_SHARE)
    return prepared_digits(images, rng, PHOTO_SHARE, style_share=1.0, styles=styles)


def _non_digits_part(task: tuple[int, list[int], tuple[str, ...] | None]) -> Prepared:
    count, seed, styles = task
    rng = np.random.default_rng(seed)
    if styles is None:
        return prepared_non_digits(count, rng, PHOTO_SHARE, style_share=STYLE_SHARE)[0]
    return prepared_non_digits(count, rng, PHOTO_SHARE, style_share=1.0, styles=styles)[0]


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


def training_set(
    seed: int, redrawn: int, negatives: int, workers: int = 1, thin: int = THIN_EXTRA
) -> Dataset:
    """Digits (label 1) against non-digits (label 0), shuffled; the test split is a token one
    (the threshold is chosen on ``validation_set``). ``thin``: digits redrawn with the
    ``THIN_PENS``, and as many non-digits drawn with them, besides the others."""
    rng = np.random.default_rng(seed)
    (images, _), _ = load_mnist()
    digits = images[:TRAIN_DIGITS]
    picked = rng.choice(TRAIN_DIGITS, redrawn, replace=False)
    redrawn_digits = generated_digits(digits[picked], [seed, 0], workers).inputs
    others = generated_non_digits(negatives, [seed, 1], workers).inputs
    picked_thin = rng.choice(TRAIN_DIGITS, thin, replace=False)
    thin_digits = generated_digits(digits[picked_thin], [seed, 4], workers, THIN_PENS).inputs
    thin_others = generated_non_digits(thin, [seed, 5], workers, THIN_PENS).inputs
    drawn = np.concatenate([redrawn_digits, thin_digits])
    x = np.concatenate([digits, drawn, others, thin_others])
    y = np.concatenate(
        [np.full(len(digits) + len(drawn), DIGIT), np.zeros(len(others) + len(thin_others))]
    )
    order = rng.permutation(len(x))
    x, y = x[order], y[order].astype(np.uint8)
    return Dataset(x[:-1000], y[:-1000], x[-1000:], y[-1000:], "MNIST digits and non-digits")


def validation_set(seed: int, negatives: int, workers: int = 1) -> Validation:
    """MNIST's last 10,000 training digits (a third as they are; the others drawn again
    ``VALIDATION_REDRAWS`` times, each time on a page, photographed or in a style) and new
    non-digits.

    Drawing them again several times gives each way of sending a digit more digits (about 800
    per style, not 270), so that its 1% quantile (``detector_threshold``: at most 8 of 800
    scores below it) is less noisy: the threshold is the least of 18 such quantiles, and a
    minimum of noisy estimates lands low."""
    (images, _), _ = load_mnist()
    held = images[TRAIN_DIGITS:]
    kept = len(held) // 3
    redrawn = [generated_digits(held[kept:], [seed, 2, draw], workers)
               for draw in range(VALIDATION_REDRAWS)]  # fmt: skip
    others = generated_non_digits(negatives, [seed, 3], workers)
    digits = kept + sum(len(part.inputs) for part in redrawn)
    labels = np.concatenate([np.ones(digits), np.zeros(len(others.inputs))])
    return Validation(
        np.concatenate([held[:kept], *(part.inputs for part in redrawn), others.inputs]),
        labels.astype(np.uint8),
        (AS_IS,) * kept + tuple(way for part in redrawn for way in part.ways) + others.ways,
    )


NEGATIVES = 30_000  # non-digits to train on; a fifth as many new ones validate


def train_detector(
    seed: int = 0,
    redrawn: int = 30_000,
    negatives: int = NEGATIVES,
    workers: int | None = None,
    thin: int = THIN_EXTRA,
) -> Sequential:
    """Generate the data, train the detector, choose and save its threshold in its metadata.

    ``workers``: processes making the images (default: one per usable core); the images are
    the same for any number. ``redrawn``, ``negatives``, ``thin``: see ``training_set``.
    """
    workers = usable_cores() if workers is None else workers
    started = time.perf_counter()
    data = training_set(seed, redrawn, negatives, workers, thin)
    validation = validation_for(seed, negatives, workers)
    generated = time.perf_counter() - started
    run = train(DETECTOR_CONFIG.replace(seed=seed), data, preset="digit-detector")
    run.model.metadata["generation_seconds"] = generated
    return with_threshold(run.model, validation)


def validation_for(seed: int, negatives: int, workers: int) -> Validation:
    """The validation set of ``train_detector(seed, negatives=negatives)``: other seeds than
    its training set's, and a fifth as many non-digits."""
    return validation_set(seed + 1000, negatives // 5, workers)


def threshold_anew(
    model: Sequential, seed: int = 0, negatives: int = NEGATIVES, workers: int | None = None
) -> Sequential:
    """``model``'s weights kept, and its threshold chosen again on the validation set that
    ``train_detector(seed, negatives=negatives)`` makes: today's preparation of its images,
    today's rule. Its metadata says so (``threshold_chosen_again``)."""
    workers = usable_cores() if workers is None else workers
    model = with_threshold(model, validation_for(seed, negatives, workers))
    model.metadata["threshold_chosen_again"] = True
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description="Train barenet's digit detector.")
    parser.add_argument("--out", required=True, help="the model file to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threshold-of",
        metavar="FILE",
        help="train nothing: keep this detector's weights and choose its threshold again",
    )
    args = parser.parse_args()
    if args.threshold_of:
        model = threshold_anew(load_model(args.threshold_of), args.seed)
    else:
        model = train_detector(args.seed)
    model.save(args.out, include_optimizer=False)
    validation = model.metadata["validation"]
    by_way = validation["digits_rejected_by_way"]
    worst = max(by_way, key=by_way.get)
    summary = (
        f"wrote {args.out}: threshold {model.metadata['threshold']:.4f}; validation: "
        f"{validation['non_digits_rejected']:.1%} of non-digits and "
        f"{validation['digits_rejected']:.2%} of digits rejected (at most {by_way[worst]:.2%} "
        f"of a way of sending them: {worst})"
    )
    if not args.threshold_of:
        summary += (
            f"; images made in {model.metadata['generation_seconds']:.0f} s, "
            f"trained in {model.metadata['metrics']['train_seconds']:.0f} s"
        )
    print(summary)


if __name__ == "__main__":
    main()
