"""Fine-tuning a digit model on one person's digits without forgetting MNIST.

A few dozen of a person's digits are too few to train on alone: a few epochs on them would pull the
network towards that person and away from everyone else (catastrophic forgetting). So each epoch
mixes them, repeated and randomly shifted, rotated and scaled, into a random sample of MNIST's
training images (a quarter of the batch is the person's). The learning rate starts at a fifth of
the cnn preset's and falls to zero on a half cosine over the run, which forgets less of MNIST than
a constant rate. The model is measured before and after on the person's held-out digits and on
MNIST's test set.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from barenet.augment import RandomAffine
from barenet.datasets import Dataset, load_mnist
from barenet.model import Sequential
from barenet.optimizers import Adam
from barenet.schedules import CosineDecay

PERSON_SHARE = 0.25  # of every epoch's images, the person's (repeated as often as needed)


@dataclass(frozen=True)
class FinetuneSettings:
    # 8 epochs on a falling rate read a person's validation digits as well as 4 on a constant
    # one, and cost MNIST less (docs/your-digit.md, "Learn my handwriting")
    epochs: int = 8
    # MNIST training images mixed into each epoch: with 12,000, 300 of a writer's digits cost
    # MNIST 0.4 points (benchmarks/reading.md)
    mnist_images: int = 24_000
    learning_rate: float = 4e-4  # Adam's at the start, a fifth of the cnn preset's; falls to 0
    batch_size: int = 128
    seed: int = 0


@dataclass(frozen=True)
class FinetuneResult:
    """The fine-tuned model, and the accuracies before and after (None where not measured)."""

    model: Sequential
    person_before: float | None  # on the person's held-out digits
    person_after: float | None
    mnist_before: float
    mnist_after: float
    person_train: int
    person_test: int
    seconds: float


def mixed_training_set(
    person: Dataset, mnist: tuple[np.ndarray, np.ndarray], settings: FinetuneSettings
) -> tuple[np.ndarray, np.ndarray]:
    """The person's training digits, repeated to ``PERSON_SHARE`` of the set, and a random
    sample of MNIST: ``(N, 28, 28)`` uint8 images and ``(N,)`` labels."""
    rng = np.random.default_rng(settings.seed)
    images, labels = mnist
    picked = rng.choice(len(images), min(settings.mnist_images, len(images)), replace=False)
    wanted = settings.mnist_images * PERSON_SHARE / (1 - PERSON_SHARE)
    repeats = max(1, math.ceil(wanted / len(person.x_train)))
    x = np.concatenate([images[picked], np.tile(person.x_train, (repeats, 1, 1))])
    y = np.concatenate([labels[picked], np.tile(person.y_train, repeats)])
    return x, y


def learning_rate_schedule(images: int, settings: FinetuneSettings) -> CosineDecay:
    """``settings.learning_rate`` falling to 0 on a half cosine over the run's updates:
    ``epochs * ceil(images / batch_size)``."""
    updates = settings.epochs * math.ceil(images / settings.batch_size)
    return CosineDecay(settings.learning_rate, total_steps=updates)


def finetune(
    model: Sequential, person: Dataset, settings: FinetuneSettings = FinetuneSettings()
) -> FinetuneResult:
    """Fine-tune ``model`` (in place) on ``person``'s training split mixed with MNIST."""
    (mnist_x, mnist_y), (test_x, test_y) = load_mnist()
    has_test = len(person.x_test) > 0

    def person_accuracy() -> float | None:
        return model.evaluate(person.x_test, person.y_test)["accuracy"] if has_test else None

    person_before, mnist_before = person_accuracy(), model.evaluate(test_x, test_y)["accuracy"]
    x, y = mixed_training_set(person, (mnist_x, mnist_y), settings)
    model.compile(loss="cross_entropy", optimizer=Adam(learning_rate_schedule(len(x), settings)))
    started = time.perf_counter()
    model.fit(
        x,
        y,
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        verbose=0,
        seed=settings.seed,
        augment=RandomAffine(),
    )
    seconds = time.perf_counter() - started
    return FinetuneResult(
        model,
        person_before,
        person_accuracy(),
        mnist_before,
        model.evaluate(test_x, test_y)["accuracy"],
        len(person.x_train),
        len(person.x_test),
        seconds,
    )
