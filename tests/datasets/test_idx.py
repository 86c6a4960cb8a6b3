"""IDX files and folders: train/test pairs, held-out splits, and each kind of damage named."""

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from barenet.datasets import DataError, load_data

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


def test_sizes_are_checked_before_the_data_is_read(tmp_path, rng):
    make_split(tmp_path, "train", 5, rng)
    images = tmp_path / "train-images-idx3-ubyte.gz"
    header = gzip.decompress(images.read_bytes())[:16]
    with gzip.open(images, "wb") as handle:  # 5 images, then 64 MB of zeros never declared
        handle.write(header + bytes(5 * 784))
        for _ in range(64):
            handle.write(bytes(2**20))
    with pytest.raises(DataError, match="longer than its header says: .* more data follows"):
        load_data(tmp_path)
    huge = struct.pack(">BBBBIII", 0, 0, 8, 3, 10**6, 28000, 28000)  # claims 784 TB
    images.write_bytes(gzip.compress(huge))
    needs = r"too large to read into memory, and its memory-mapped copy needs 784,000.0 GB in"
    with pytest.raises(DataError, match=needs):
        load_data(tmp_path)
