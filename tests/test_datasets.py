"""Loaders for every format on small synthetic files, and a clear error for each malformed case."""

import gzip
import pickle
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from barenet.csvdata import read_digit_csv
from barenet.datasets import load_data, load_idx_folder, load_mnist, shipped_mnist_dir
from barenet.errors import DataError

FASHION = Path("/usr/share/datasets/fashion-mnist")


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx(path: Path, array: np.ndarray) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def make_split(folder: Path, prefix: str, count: int, rng, suffix: str = ".gz"):
    images = rng.integers(0, 256, (count, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, count).astype(np.uint8)
    write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
    return images, labels


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


def test_idx_folder_with_train_and_test(tmp_path, rng):
    images, labels = make_split(tmp_path, "train", 30, rng)
    make_split(tmp_path, "t10k", 10, rng, suffix="")  # uncompressed works too
    data = load_data(tmp_path)
    np.testing.assert_array_equal(data.x_train, images)
    np.testing.assert_array_equal(data.y_train, labels)
    assert data.x_test.shape == (10, 28, 28) and data.notes == []


def test_idx_folder_without_test_split_holds_one_out(tmp_path, rng):
    make_split(tmp_path, "train", 70, rng)
    data = load_data(tmp_path)
    assert (len(data.x_train), len(data.x_test)) == (60, 10)
    assert "held out its last 10 samples as the test set" in data.notes[0]


@pytest.mark.skipif(not FASHION.exists(), reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_debian():
    data = load_data(FASHION)
    assert data.x_train.shape == (60000, 28, 28) and data.x_test.shape == (10000, 28, 28)


def test_wrong_magic(tmp_path, rng):
    make_split(tmp_path, "train", 5, rng)
    labels = tmp_path / "train-labels-idx1-ubyte.gz"
    labels.write_bytes(gzip.compress(b"\x00\x00\x08\x03" + bytes(20)))
    with pytest.raises(
        DataError, match=r"wrong magic number 0x00000803 at byte 0; expected 0x00000801"
    ):
        load_data(tmp_path)


def test_truncated_idx(tmp_path, rng):
    make_split(tmp_path, "train", 5, rng)
    images = tmp_path / "train-images-idx3-ubyte.gz"
    data = gzip.decompress(images.read_bytes())
    images.write_bytes(gzip.compress(data[:-100]))
    with pytest.raises(
        DataError,
        match=r"truncated: the header declares shape \(5, 28, 28\), which needs 3936 bytes, "
        r"but it has 3836",
    ):
        load_data(tmp_path)


@pytest.mark.parametrize("cut", [0.5, 0.95])
def test_truncated_or_corrupt_gzip(tmp_path, rng, cut):
    make_split(tmp_path, "train", 50, rng)
    images = tmp_path / "train-images-idx3-ubyte.gz"
    data = images.read_bytes()
    images.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(DataError, match="gzip data is corrupt or truncated"):
        load_data(tmp_path)


def test_garbage_gzip(tmp_path, rng):
    make_split(tmp_path, "train", 5, rng)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b\x08\x00garbage-garbage")
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz: the gzip data is corrupt"):
        load_data(tmp_path)


def test_count_mismatch(tmp_path, rng):
    make_split(tmp_path, "train", 5, rng)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(4))
    with pytest.raises(DataError, match="holds 5 images but .* holds 4 labels"):
        load_data(tmp_path)


def test_label_out_of_range(tmp_path, rng):
    make_split(tmp_path, "train", 5, rng)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.array([1, 2, 12, 3, 4]))
    with pytest.raises(DataError, match=r"label 12 at index 2 \(byte offset 10\) is outside 0..9"):
        load_data(tmp_path)


def test_missing_paths_and_unknown_formats(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_data(tmp_path / "nowhere")
    with pytest.raises(DataError, match="holds no IDX files"):
        load_data(tmp_path)
    (tmp_path / "data.txt").write_text("hello")
    with pytest.raises(DataError, match="unknown data format"):
        load_data(tmp_path / "data.txt")


# -- Keras-layout npz --------------------------------------------------------------------------


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


# -- Kaggle-layout CSV -------------------------------------------------------------------------


def write_csv(path: Path, labels, pixels, header=True):
    lines = []
    if header:
        lines.append(",".join(["label"] * (labels is not None) + [f"pixel{i}" for i in range(784)]))
    for row in range(len(pixels)):
        cells = ([str(labels[row])] if labels is not None else []) + [str(v) for v in pixels[row]]
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_with_header_and_labels(tmp_path, rng):
    pixels = rng.integers(0, 256, (14, 784))
    labels = rng.integers(0, 10, 14)
    data = load_data(write_csv(tmp_path / "train.csv", labels, pixels))
    assert (len(data.x_train), len(data.x_test)) == (12, 2)
    np.testing.assert_array_equal(data.x_train.reshape(12, 784), pixels[:12])
    np.testing.assert_array_equal(data.y_test, labels[12:])
    assert "train.csv has no test split: held out its last 2 samples" in data.notes[0]


def test_csv_without_header(tmp_path, rng):
    pixels = rng.integers(0, 256, (3, 784))
    images, labels = read_digit_csv(
        write_csv(tmp_path / "plain.csv", [1, 2, 3], pixels, header=False)
    )
    assert labels.tolist() == [1, 2, 3] and images.shape == (3, 28, 28)


def test_unlabelled_csv_is_a_test_set(tmp_path, rng):
    path = write_csv(tmp_path / "test.csv", None, rng.integers(0, 256, (3, 784)))
    images, labels = read_digit_csv(path)
    assert labels is None and images.shape == (3, 28, 28)
    with pytest.raises(DataError, match="no label column .* unlabelled test set"):
        load_data(path)


def corrupt_csv(tmp_path, rng, row, cell_index, value):
    pixels = rng.integers(0, 256, (4, 784)).astype(object)
    labels = [1, 2, 3, 4]
    path = write_csv(tmp_path / "bad.csv", labels, pixels)
    lines = path.read_text().splitlines()
    cells = lines[row].split(",")
    if value is None:
        cells = cells[:cell_index]
    else:
        cells[cell_index] = value
    lines[row] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    "row, cell, value, message",
    [
        (3, 10, "abc", r"bad.csv, row 4, column 11: 'abc' is not a number"),
        (2, 5, "nan", r"bad.csv, row 3, column 6: the cell is NaN"),
        (4, 700, None, r"bad.csv, row 5: 700 columns; expected 785 .* cut short"),
        (1, 3, "256", r"bad.csv, row 2, column 4: 256 is not a pixel value"),
        (1, 3, "-1", r"row 2, column 4: -1 is not a pixel value"),
        (1, 3, "1.5", r"row 2, column 4: 1.5 is not a pixel value"),
        (3, 0, "10", r"bad.csv, row 4, column 1: 10 is not a label"),
    ],
)
def test_malformed_csv_cells(tmp_path, rng, row, cell, value, message):
    with pytest.raises(DataError, match=message):
        load_data(corrupt_csv(tmp_path, rng, row, cell, value))


def test_csv_with_wrong_width_and_empty(tmp_path):
    (tmp_path / "narrow.csv").write_text("1,2,3\n4,5,6\n")
    with pytest.raises(DataError, match="row 1: 3 columns; expected 785"):
        load_data(tmp_path / "narrow.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="is empty"):
        load_data(tmp_path / "empty.csv")
