"""Training the default CNN on MNIST and on MNIST's digits drawn again as people send them."""

import dataclasses

import numpy as np

from barenet.datasets import load_mnist
from barenet.digits import reader_training
from barenet.digits.presets import get_preset
from barenet.digits.reader_training import restyled_training_set, train_reader


def test_restyled_digits_join_mnist_with_their_own_labels():
    (images, labels), (test_images, test_labels) = load_mnist()
    data = restyled_training_set(seed=3, restyled=8, workers=1)
    picked = np.sort(np.random.default_rng(3).choice(len(images), 8, replace=False))
    assert len(data.x_train) == len(data.y_train) == len(images) + 8  # none came out blank
    assert np.array_equal(data.x_train[: len(images)], images)
    assert np.array_equal(data.y_train[len(images) :], labels[picked])
    assert np.array_equal(data.x_test, test_images) and np.array_equal(data.y_test, test_labels)
    drawn = data.x_train[len(images) :]
    assert drawn.dtype == np.uint8 and drawn.max() == 255
    pairs = zip(drawn, images[picked], strict=True)
    assert not any(np.array_equal(one, original) for one, original in pairs)


def test_a_short_run_trains_the_preset_and_says_what_it_learnt_from(monkeypatch):
    quick = get_preset("cnn-quick")
    short = dataclasses.replace(quick, config=quick.config.replace(epochs=1, train_limit=2000))
    monkeypatch.setattr(reader_training, "get_preset", lambda name: short)
    model = train_reader(seed=1, restyled=6, workers=1)
    assert model.metadata["restyled"] == 6
    assert "drawn again" in model.metadata["data"]["source"]
    assert model.metadata["metrics"]["test_accuracy"] > 0.5
