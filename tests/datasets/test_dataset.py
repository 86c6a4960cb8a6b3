"""Dataset: limiting the training split, its checksum, and holding out a test split."""

import numpy as np
import pytest

from barenet.datasets import DataError, Dataset
from barenet.datasets.dataset import hold_out


def digits(count, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, 28, 28), dtype=np.uint8), rng.integers(0, 10, count)


def test_limit_train_keeps_the_first_images_and_the_test_split():
    x, y = digits(50)
    data = Dataset(x[:40], y[:40], x[40:], y[40:], "mine")
    small = data.limit_train(10)
    np.testing.assert_array_equal(small.x_train, x[:10])
    assert len(small.x_test) == 10 and data.limit_train(None) is data
    with pytest.raises(DataError, match="--train-limit must be at least 1"):
        data.limit_train(0)


def test_the_checksum_follows_the_data():
    x, y = digits(20)
    first = Dataset(x, y, x, y, "a").checksum()
    assert first == Dataset(x.copy(), y, x, y, "b").checksum()
    x[0, 0, 0] ^= 1
    assert Dataset(x, y, x, y, "a").checksum() != first


def test_the_checksum_is_hashed_in_slices_yet_the_digest_of_the_whole_arrays(monkeypatch, tmp_path):
    import hashlib

    import barenet.datasets.dataset as dataset

    x, y = digits(50, seed=3)
    mapped = np.memmap(tmp_path / "x", np.uint8, "w+", shape=x.shape)
    mapped[:] = x
    whole = hashlib.sha256()
    for array in (x[:40], y[:40], x[40:], y[40:]):  # the way it was computed before: one copy
        whole.update(np.ascontiguousarray(array).tobytes())
    monkeypatch.setattr(dataset, "CHECKSUM_ROWS_BYTES", 3 * 784)  # slices of 3 images
    for images in (x, mapped):
        data = Dataset(images[:40], y[:40], images[40:], y[40:], "mine")
        assert data.checksum() == whole.hexdigest()


def test_the_checksum_is_taken_once_per_dataset(monkeypatch):
    import barenet.datasets.dataset as dataset

    x, y = digits(30)
    data = Dataset(x[:20], y[:20], x[20:], y[20:], "mine")
    first = data.checksum()
    hashes = []
    monkeypatch.setattr(dataset.hashlib, "sha256", lambda: hashes.append(1))
    assert data.checksum() == first and hashes == []  # a run asks more than once
    limited = data.limit_train(10)  # another data set: its own checksum
    monkeypatch.undo()
    assert limited.checksum() != first


def test_hold_out_takes_the_last_seventh_and_says_so():
    x, y = digits(70)
    data = hold_out(x, y, "mine.csv", reason="mine.csv has no test split")
    assert len(data.x_train) == 60 and len(data.x_test) == 10
    np.testing.assert_array_equal(data.x_test, x[60:])
    assert data.notes == [
        "mine.csv has no test split: held out its last 10 samples as the test set."
    ]
    with pytest.raises(DataError, match="at least 2 are needed"):
        hold_out(x[:1], y[:1], "one.csv", reason="tiny")
