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
core (``detector_data``): the same images whatever the number of processes.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from barenet.datasets import Dataset, load_mnist
from barenet.digits.config import TrainConfig
from barenet.digits.detector import DIGIT
from barenet.digits.detector_data import generated_digits, generated_non_digits
from barenet.digits.detector_threshold import Validation, with_threshold
from barenet.digits.recipe import train
from barenet.digits.workers import usable_cores
from barenet.model import Sequential, load_model

DETECTOR_CONFIG = TrainConfig(
    layers=[784, 128, 2], conv=[16, 32], epochs=8, batch_size=128, augment="affine", seed=0
)
TRAIN_DIGITS = 50_000  # MNIST training images the detector learns from; the rest validate
THIN_PENS = ("hairline pen", "ballpoint")  # the styles whose digits look most like scribbles
THIN_EXTRA = 6_000  # more digits drawn with the thin pens, and as many non-digits
VALIDATION_REDRAWS = 3  # times each held-out digit is drawn again to validate: ~800 per style
AS_IS = "MNIST as it is"  # the validation digits not drawn again


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
