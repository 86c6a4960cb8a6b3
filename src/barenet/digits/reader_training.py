"""Training a CNN on digits as people send them, not only as MNIST scanned them.

    python -m barenet.digits.reader_training --out cnn-deep-people-0.npz

A network trained on MNIST alone learns MNIST's pens and scanner. A person's digit reaches it
through ``imaging.to_mnist``: another pen's strokes, found on paper, a board or a screen, cropped,
thickened to MNIST's width and scaled. So the network learns from MNIST's 60,000 training digits
and from ``RESTYLED`` of them drawn again the ways people send digits (on a page, photographed,
or in a random style of ``styles.STYLES``: another pen, a close-up, chalk, a dark-mode screen,
...) and prepared by the package's own preparation, with their labels. The images are made as
the digit detector's are (``detector_data.generated_digits``: in parts, one process per
core, the same images for any number of processes). MNIST's test set is left as it is.

It is the candidate for the default model (``docs/presets.md``, "The shipped models"): it reads
people's digits as well as the shipped CNN, where ``cnn-deep`` trained on MNIST alone reads them
worse.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from barenet.datasets import Dataset, load_mnist
from barenet.digits.detector_data import generated_digits
from barenet.digits.presets import get_preset
from barenet.digits.recipe import train
from barenet.digits.workers import usable_cores
from barenet.model import Sequential

READER_PRESET = "cnn-deep"
RESTYLED = 30_000  # MNIST training digits drawn again as people send them


def restyled_training_set(seed: int, restyled: int, workers: int) -> Dataset:
    """MNIST, with ``restyled`` of its training digits (picked by ``seed``) drawn again and
    prepared added to its training split; labels kept, the test split MNIST's own."""
    (images, labels), (test_images, test_labels) = load_mnist()
    picked = np.sort(np.random.default_rng(seed).choice(len(images), restyled, replace=False))
    made = generated_digits(images[picked], [seed, 10], workers)
    made_labels = labels[picked][np.asarray(made.kept, dtype=np.intp)]
    return Dataset(
        np.concatenate([images, made.inputs]),
        np.concatenate([labels, made_labels]),
        test_images,
        test_labels,
        f"MNIST, and {len(made_labels):,} of its training digits drawn again as people send them",
    )


def train_reader(seed: int = 0, restyled: int = RESTYLED, workers: int | None = None) -> Sequential:
    """Make the images, then train ``READER_PRESET``'s network on them (``seed`` for both)."""
    started = time.perf_counter()
    data = restyled_training_set(seed, restyled, usable_cores() if workers is None else workers)
    generated = time.perf_counter() - started
    config = get_preset(READER_PRESET).config.replace(seed=seed)
    run = train(config, data, preset=READER_PRESET)
    run.model.metadata.update(restyled=restyled, generation_seconds=generated)
    return run.model


def main() -> None:
    parser = argparse.ArgumentParser(description="Train a CNN on MNIST and on people's digits.")
    parser.add_argument("--out", required=True, help="the model file to write")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    model = train_reader(args.seed)
    model.save(args.out, include_optimizer=False)
    metrics = model.metadata["metrics"]
    print(
        f"wrote {args.out}: MNIST test accuracy {metrics['test_accuracy']:.2%}; images made in "
        f"{model.metadata['generation_seconds']:.0f} s, trained in "
        f"{metrics['train_seconds']:.0f} s"
    )


if __name__ == "__main__":
    main()
