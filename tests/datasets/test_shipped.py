"""The shipped MNIST: Keras' shapes and counts, verified against its SHA256 sums."""

import gzip
import shutil

import numpy as np
import pytest

from barenet.datasets import DataError, load_idx_folder, load_mnist, shipped_mnist_dir


def test_shipped_mnist_like_keras():
    (x_train, y_train), (x_test, y_test) = load_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == y_train.dtype == np.uint8
    assert y_test.shape == (10000,) and set(np.unique(y_train)) == set(range(10))
    assert y_train[:5].tolist() == [5, 0, 4, 1, 9]  # the canonical first labels


def test_a_damaged_shipped_file_fails_its_checksum(tmp_path):
    shutil.copytree(shipped_mnist_dir(), tmp_path / "mnist")
    labels = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(gzip.decompress(labels.read_bytes()))
    data[100] = (data[100] + 1) % 10  # one label changed, still a valid file
    labels.write_bytes(gzip.compress(bytes(data)))
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz does not match its SHA256"):
        load_idx_folder(tmp_path / "mnist", verify=True)
