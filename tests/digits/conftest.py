import numpy as np
import pytest

from barenet.datasets import Dataset


@pytest.fixture(scope="session")
def tiny_digits() -> Dataset:
    """2,000 training and 200 test 'digits': noise with a class-dependent bright bar, so that a
    small network learns them in one epoch."""
    rng = np.random.default_rng(7)

    def split(count):
        labels = rng.integers(0, 10, count).astype(np.uint8)
        images = rng.integers(0, 40, (count, 28, 28)).astype(np.uint8)
        images[np.arange(count), 2 + 2 * labels, 4:24] = 255  # digit d: a bar on row 2 + 2d
        return images, labels

    (x_train, y_train), (x_test, y_test) = split(2000), split(200)
    return Dataset(x_train, y_train, x_test, y_test, "tiny synthetic digits")
