"""load_data: a clear error for a missing path or an unknown format."""

import numpy as np
import pytest

from barenet.datasets import DataError, load_data
from tests.helpers import write_digit_csv


def test_missing_paths_and_unknown_formats(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_data(tmp_path / "nowhere")
    with pytest.raises(DataError, match="holds no IDX files"):
        load_data(tmp_path)
    (tmp_path / "data.txt").write_text("hello")
    with pytest.raises(DataError, match="unknown data format"):
        load_data(tmp_path / "data.txt")


def test_images_to_predict_are_every_csv_row_or_the_test_split(tmp_path):
    from barenet.datasets import load_images, load_mnist

    _, (x_test, _) = load_mnist()
    unlabelled = write_digit_csv(tmp_path / "test.csv", x_test[:5])
    labelled = write_digit_csv(tmp_path / "train.csv", x_test[:5], [3] * 5)
    for path in (unlabelled, labelled):  # every row, labels or not: nothing held out
        images, what = load_images(path)
        assert images.shape == (5, 28, 28) and (images == x_test[:5]).all()
        assert what == f"the 5 rows of {path.name}"
    np_file = tmp_path / "mnist.npz"
    np.savez(
        np_file,
        x_train=x_test[:8],
        y_train=np.zeros(8, np.uint8),
        x_test=x_test[:3],
        y_test=np.zeros(3, np.uint8),
    )
    images, what = load_images(np_file)
    assert (images == x_test[:3]).all() and what.startswith("the 3 test images of")
    with pytest.raises(DataError, match="does not exist"):
        load_images(tmp_path / "missing.csv")


def test_every_row_trains_when_the_test_set_is_elsewhere(tmp_path):
    from barenet.datasets import load_mnist

    _, (x_test, y_test) = load_mnist()
    labelled = write_digit_csv(tmp_path / "train.csv", x_test[:14], y_test[:14])
    assert len(load_data(labelled).x_train) == 12  # by default 1/7 is held out for testing
    every = load_data(labelled, test_elsewhere=True)
    assert len(every.x_train) == 14 and every.x_test.shape == (0, 28, 28)
    assert every.test_elsewhere and "no test accuracy" in every.notes[0]
    unlabelled = write_digit_csv(tmp_path / "test.csv", x_test[:3])
    for source, message in [
        (None, "The shipped MNIST has a test split of its own"),
        (tmp_path, "has a test split of its own"),
        (unlabelled, "has no label column"),
        (tmp_path / "gone.csv", "does not exist"),
    ]:
        with pytest.raises(DataError, match=message):
            load_data(source, test_elsewhere=True)
