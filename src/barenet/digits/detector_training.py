"""Training the digit detector (``detector.py``): the data it learns from, and its threshold.

    python -m barenet.digits.detector_training --out src/barenet/digits/models/digit-detector.npz

Digits: MNIST's first 50,000 training images as they are, and some of them drawn on a page,
photographed, or redrawn in a random style of ``styles.STYLES`` (another pen, a close-up, chalk,
a dark-mode screen, ...) and prepared again by ``imaging.to_mnist``, so that the detector knows
what that preparation does to a digit. Non-digits: every kind in ``nondigits.KINDS``, drawn,
photographed or sent in a style, prepared the same way. MNIST's last 10,000 training images and
new non-digits (other seeds) are the validation set the threshold is chosen on; the test set is
never looked at.
"""

from __future__ import annotations

import argparse
import io
import time
from dataclasses import dataclass

import numpy as np

from barenet.datasets import Dataset, load_mnist
from barenet.digits.config import TrainConfig
from barenet.digits.detector import DIGIT
from barenet.digits.imaging import BlankImageError, load_digit, to_mnist
from barenet.digits.nondigits import KINDS, non_digit
from barenet.digits.paper import photograph, placed_ink
from barenet.digits.recipe import train
from barenet.digits.styles import STYLES, styled_digit, styled_ink
from barenet.model import Sequential

DETECTOR_CONFIG = TrainConfig(
    layers=[784, 64, 2], conv=[8, 16], epochs=6, batch_size=128, augment="affine", seed=0
)
TRAIN_DIGITS = 50_000  # MNIST training images the detector learns from; the rest validate
STYLE_SHARE = 0.6  # of the redrawn digits and of the non-digits, those sent in a random style
DIGITS_REJECTED = 0.005  # the share of validation digits the threshold may reject


@dataclass(frozen=True)
class Prepared:
    """Images prepared as the network sees them, and how many could not be (no ink found)."""

    inputs: np.ndarray  # (N, 28, 28) uint8
    blank: int


def _prepare(
    coverages: list[np.ndarray],
    rng: np.random.Generator,
    photo_share: float,
    style_share: float = 0.0,
    styled: list[bytes | None] | None = None,
) -> Prepared:
    """Ink coverages (0..1) drawn dark on white, or photographed (``photo_share`` of them), or
    sent in a random style of ``styles.STYLES`` (``style_share``; ``styled`` holds the file of
    each already drawn that way, as digits are), each prepared by ``to_mnist``."""
    inputs, blank = [], 0
    for index, coverage in enumerate(coverages):
        drawn = styled[index] if styled is not None else None
        try:
            if drawn is not None:
                inputs.append(load_digit(io.BytesIO(drawn), name="styled"))
            elif rng.random() < style_share:
                style = STYLES[rng.choice(list(STYLES))]
                inputs.append(load_digit(io.BytesIO(styled_ink(coverage, style, rng)), name="s"))
            elif rng.random() < photo_share:
                side = int(max(coverage.shape) * rng.uniform(1.2, 1.8))
                canvas = np.zeros((side, side), np.float32)
                top, left = rng.integers(0, side - np.array(coverage.shape) + 1)
                canvas[top : top + coverage.shape[0], left : left + coverage.shape[1]] = coverage
                inputs.append(load_digit(io.BytesIO(photograph(canvas, rng)), name="photo"))
            else:
                inputs.append(to_mnist(255.0 * (1.0 - coverage)))
        except BlankImageError:
            blank += 1
    return Prepared(np.stack(inputs) if inputs else np.zeros((0, 28, 28), np.uint8), blank)


def prepared_digits(
    images: np.ndarray, rng: np.random.Generator, photo_share: float, style_share: float = 0.0
) -> Prepared:
    """MNIST-style digits ``(N, 28, 28)`` drawn on a page, photographed, or redrawn in a random
    style of ``styles.STYLES`` (``style_share`` of them: their strokes drawn again with another
    pen), then prepared."""
    coverages, styled = [], []
    for image in images:
        side = int(rng.integers(100, 200))
        coverages.append(placed_ink(image, rng, (side, side)))
        restyle = rng.random() < style_share
        style = STYLES[rng.choice(list(STYLES))]
        styled.append(styled_digit(image, style, rng) if restyle and image.any() else None)
    return _prepare(coverages, rng, photo_share, styled=styled)


def prepared_non_digits(
    count: int,
    rng: np.random.Generator,
    photo_share: float,
    kinds: tuple[str, ...] = tuple(KINDS),
    style_share: float = 0.0,
) -> tuple[Prepared, list[str]]:
    """``count`` non-digits, the kinds in turn; with the kind of each prepared input."""
    names = [kinds[index % len(kinds)] for index in range(count)]
    prepared, kept = [], []
    for name in names:
        coverage = non_digit(name, int(rng.integers(96, 160)), rng)
        one = _prepare([coverage], rng, photo_share, style_share)
        if len(one.inputs):
            prepared.append(one.inputs[0])
            kept.append(name)
    inputs = np.stack(prepared)
    return Prepared(inputs, count - len(inputs)), kept


def training_set(rng: np.random.Generator, redrawn: int, negatives: int) -> Dataset:
    """Digits (label 1) against non-digits (label 0), shuffled; the test split is a token one
    (the threshold is chosen on ``validation_set``)."""
    (images, _), _ = load_mnist()
    digits = images[:TRAIN_DIGITS]
    picked = rng.choice(TRAIN_DIGITS, redrawn, replace=False)
    redrawn_digits = prepared_digits(digits[picked], rng, 0.5, STYLE_SHARE).inputs
    others = prepared_non_digits(negatives, rng, 0.5, style_share=STYLE_SHARE)[0].inputs
    x = np.concatenate([digits, redrawn_digits, others])
    y = np.concatenate([np.full(len(digits) + len(redrawn_digits), DIGIT), np.zeros(len(others))])
    order = rng.permutation(len(x))
    x, y = x[order], y[order].astype(np.uint8)
    return Dataset(x[:-1000], y[:-1000], x[-1000:], y[-1000:], "MNIST digits and non-digits")


def validation_set(rng: np.random.Generator, negatives: int) -> tuple[np.ndarray, np.ndarray]:
    """MNIST's last 10,000 training digits (a third of them redrawn or photographed) and new
    non-digits: inputs ``(N, 28, 28)`` and labels ``(N,)`` (1: a digit)."""
    (images, _), _ = load_mnist()
    held = images[TRAIN_DIGITS:]
    redrawn = prepared_digits(held[: len(held) // 3], rng, 0.5, STYLE_SHARE).inputs
    others = prepared_non_digits(negatives, rng, 0.5, style_share=STYLE_SHARE)[0].inputs
    x = np.concatenate([held[len(held) // 3 :], redrawn, others])
    y = np.concatenate([np.ones(len(held) - len(held) // 3 + len(redrawn)), np.zeros(len(others))])
    return x, y.astype(np.uint8)


def choose_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """The ``P(digit)`` below which ``DIGITS_REJECTED`` of the validation digits fall."""
    return float(np.quantile(scores[labels == DIGIT], DIGITS_REJECTED))


def train_detector(seed: int = 0, redrawn: int = 10_000, negatives: int = 30_000) -> Sequential:
    """Generate the data, train the detector, choose and save its threshold in its metadata."""
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    data = training_set(rng, redrawn, negatives)
    x_val, y_val = validation_set(np.random.default_rng(seed + 1000), negatives // 5)
    generated = time.perf_counter() - started
    run = train(DETECTOR_CONFIG.replace(seed=seed), data, preset="digit-detector")
    scores = run.model.predict_proba(x_val)[:, DIGIT]
    threshold = choose_threshold(scores, y_val)
    run.model.metadata.update(
        threshold=threshold,
        validation={
            "digits_rejected": float(np.mean(scores[y_val == DIGIT] < threshold)),
            "non_digits_rejected": float(np.mean(scores[y_val != DIGIT] < threshold)),
            "digits": int(np.sum(y_val == DIGIT)),
            "non_digits": int(np.sum(y_val != DIGIT)),
        },
        generation_seconds=generated,
    )
    return run.model


def main() -> None:
    parser = argparse.ArgumentParser(description="Train barenet's digit detector.")
    parser.add_argument("--out", required=True, help="the model file to write")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    model = train_detector(args.seed)
    model.save(args.out, include_optimizer=False)
    validation = model.metadata["validation"]
    print(
        f"wrote {args.out}: threshold {model.metadata['threshold']:.4f}; validation: "
        f"{validation['non_digits_rejected']:.1%} of non-digits and "
        f"{validation['digits_rejected']:.2%} of digits rejected; "
        f"train {model.metadata['metrics']['train_seconds']:.0f} s"
    )


if __name__ == "__main__":
    main()
