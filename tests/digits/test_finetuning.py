"""Fine-tuning on a person's digits: the mix, and a short run that learns and reports."""

import numpy as np
import pytest

from barenet.datasets import Dataset, load_mnist
from barenet.digits.config import TrainConfig
from barenet.digits.finetuning import (
    PERSON_SHARE,
    FinetuneSettings,
    finetune,
    learning_rate_schedule,
    mixed_training_set,
)
from barenet.digits.recipe import build_model


def person_set(count=40):
    """A "person" who writes every digit upside down: MNIST test digits rotated by 180 degrees."""
    _, (images, labels) = load_mnist()
    flipped = images[:, ::-1, ::-1]
    return Dataset(flipped[:count], labels[:count], flipped[count : 3 * count],
                   labels[count : 3 * count], "upside down")  # fmt: skip


def test_the_person_makes_a_quarter_of_the_mix():
    person = person_set()
    mnist = load_mnist()[0]
    x, y = mixed_training_set(person, mnist, FinetuneSettings(mnist_images=1200))
    assert len(x) == len(y) == 1200 + 400  # 40 digits repeated 10 times
    assert 400 / len(x) == PERSON_SHARE
    np.testing.assert_array_equal(x[-40:], person.x_train)


def test_finetuning_learns_the_persons_digits():
    rng_config = TrainConfig(layers=[784, 64, 10], epochs=2, seed=0)
    model = build_model(rng_config)
    (x, y), _ = load_mnist()
    model.compile(loss="cross_entropy", optimizer="adam")
    model.fit(x[:6000], y[:6000], epochs=2, batch_size=128, verbose=0, seed=0)
    settings = FinetuneSettings(epochs=3, mnist_images=3000, learning_rate=1e-3)
    result = finetune(model, person_set(), settings)
    assert result.person_after > result.person_before + 0.1  # upside-down digits, learnt
    assert result.mnist_after > 0.8  # and MNIST is not forgotten
    assert (result.person_train, result.person_test) == (40, 80)
    # the rate fell on its cosine over exactly the run's updates: at its end, and not before
    schedule = result.model.optimizer.learning_rate
    assert schedule == learning_rate_schedule(3000 + 1000, settings)
    assert result.model.optimizer.iterations == schedule.total_steps == 3 * 32  # ceil(4000/128)
    assert schedule(schedule.total_steps - 1) < 1e-3 * settings.learning_rate < schedule(88)


def test_the_rate_starts_at_the_setting_and_falls_to_zero_over_the_run():
    settings = FinetuneSettings(epochs=2, batch_size=100, learning_rate=4e-4)
    schedule = learning_rate_schedule(1050, settings)  # 11 batches an epoch, the last of 50
    assert schedule.total_steps == 22
    assert schedule(0) == 4e-4
    assert schedule(11) == pytest.approx(2e-4)  # half way down, half way through
    assert schedule(22) == 0.0
