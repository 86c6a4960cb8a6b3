"""Keras-layout .npz files: loaded, checked, and never unpickled."""

import pickle
import zipfile

import numpy as np
import pytest

from barenet.datasets import DataError, load_data


def npz_arrays(rng, train=12, test=4):
    return {
        "x_train": rng.integers(0, 256, (train, 28, 28)).astype(np.uint8),
        "y_train": rng.integers(0, 10, train).astype(np.uint8),
        "x_test": rng.integers(0, 256, (test, 28, 28)).astype(np.uint8),
        "y_test": rng.integers(0, 10, test).astype(np.uint8),
    }


def test_npz(tmp_path, rng):
    arrays = npz_arrays(rng)
    arrays["x_test"] = arrays["x_test"].reshape(4, 784).astype(np.float32)  # flat floats work too
    np.savez(tmp_path / "mnist.npz", **arrays)
    data = load_data(tmp_path / "mnist.npz")
    np.testing.assert_array_equal(data.x_train, arrays["x_train"])
    assert data.x_test.shape == (4, 28, 28) and data.x_test.dtype == np.uint8


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: a.pop("y_test"), r"lacks the arrays \['y_test'\]"),
        (
            lambda a: a.update(x_train=np.zeros((12, 28, 27))),
            r"x_train has shape \(12, 28, 27\); expected \(N, 28, 28\)",
        ),
        (
            lambda a: a.update(y_train=np.zeros(11, int)),
            r"y_train has shape \(11,\) but x_train holds 12 images",
        ),
        (
            lambda a: a.update(x_test=np.full((4, 28, 28), 300.0)),
            r"x_test\[0, 0, 0\] = 300.0 is not a pixel value",
        ),
        (lambda a: a.update(x_test=np.full((4, 28, 28), np.nan)), "is not a pixel value"),
        (lambda a: a.update(y_test=np.array([1, 2, 10, 3])), "must hold integer labels 0..9"),
    ],
)
def test_bad_npz(tmp_path, rng, change, message):
    arrays = npz_arrays(rng)
    change(arrays)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=message):
        load_data(tmp_path / "bad.npz")


def test_pickled_npz_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(
        path,
        x_train=np.array([{"a": 1}], dtype=object),
        y_train=np.zeros(1),
        x_test=np.zeros(1),
        y_test=np.zeros(1),
    )
    with pytest.raises(DataError, match="without unpickling"):
        load_data(path)
    path.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(DataError):
        load_data(path)


def test_empty_splits_and_members_that_are_not_arrays(tmp_path, rng):
    images = rng.integers(0, 256, (10, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 10)
    empty = tmp_path / "empty_test.npz"
    np.savez(empty, x_train=images, y_train=labels, x_test=images[:0], y_test=labels[:0])
    with pytest.raises(DataError, match="holds no test images"):
        load_data(empty)
    path = tmp_path / "raw.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for key in ("x_train", "y_train", "x_test", "y_test"):
            archive.writestr(key, b"not an npy file")  # no .npy member of that name
    with pytest.raises(DataError, match="lacks the arrays|is not a NumPy array"):
        load_data(path)


def test_images_of_another_size_are_refused_at_load(tmp_path, rng):
    big = rng.integers(0, 256, (10, 32, 32), dtype=np.uint8)
    path = tmp_path / "big.npz"
    labels = rng.integers(0, 10, 10)
    np.savez(path, x_train=big, y_train=labels, x_test=big, y_test=labels)
    with pytest.raises(DataError, match="expected \\(N, 28, 28\\)|read 28x28"):
        load_data(path)
