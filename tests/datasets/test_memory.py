"""Memory that does not grow with the format: every reader's peak of Python allocations, on
20,000 generated digits, stays near the size of its uint8 result; a plain IDX file is
memory-mapped and allocates almost nothing; a source past the in-memory limit (scaled down here)
is converted once into the data cache and memory-mapped from there."""

import gzip
import os
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import barenet as bn
import barenet.datasets.cache as cache
from barenet.datasets import DataError, load_data, load_npz, read_digit_csv
from barenet.datasets.idx import read_idx

COUNT = 20_000
RESULT = COUNT * 785  # uint8 pixels and labels: 15.7 MB
CHUNK_ALLOWANCE = 24 * 2**20  # one chunk of text and its parsed table, whatever the count


def bounded(result_bytes: int = RESULT) -> int:
    """The most a reader may allocate: its result, half again, and one chunk."""
    return int(1.5 * result_bytes) + CHUNK_ALLOWANCE


def peak_of(read):
    """``read()``'s result and the peak of the Python allocations made while it ran."""
    tracemalloc.start()
    try:
        result = read()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def digits():
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, (COUNT, 28, 28), dtype=np.uint8), rng.integers(0, 10, COUNT)


@pytest.fixture(scope="module")
def csv_files(tmp_path_factory, digits):
    """The digits as a Kaggle CSV, plain and gzip (random pixels: long rows of text)."""
    images, labels = digits
    folder = tmp_path_factory.mktemp("csv")
    cells = [str(value).encode() for value in range(256)]
    rows = np.column_stack([labels, images.reshape(COUNT, 784)]).tolist()
    text = b"label," + b",".join(b"pixel%d" % i for i in range(784)) + b"\n"
    text += b"".join(b",".join([cells[value] for value in row]) + b"\n" for row in rows)
    (folder / "digits.csv").write_bytes(text)
    (folder / "digits.csv.gz").write_bytes(gzip.compress(text, compresslevel=1))
    return folder / "digits.csv", folder / "digits.csv.gz"


def copies(folder):
    """The folders in the data cache, half-built ones (``.NAME.*``) included."""
    return sorted(path for path in folder.iterdir() if path.is_dir())


def write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data, compresslevel=1) if path.suffix == ".gz" else data)
    return path


@pytest.mark.parametrize("which", ["plain", "gzip"])
def test_a_csv_is_read_in_the_memory_of_its_result(csv_files, digits, which):
    path = csv_files[which == "gzip"]
    (images, labels), peak = peak_of(lambda: read_digit_csv(path))
    np.testing.assert_array_equal(images, digits[0])
    np.testing.assert_array_equal(labels, digits[1])
    assert peak <= bounded(), f"{peak / 2**20:.0f} MiB for a {RESULT / 2**20:.0f} MiB result"


def test_a_gzip_idx_file_is_read_in_the_memory_of_its_result(tmp_path, digits):
    path = write_idx(tmp_path / "train-images-idx3-ubyte.gz", digits[0])
    images, peak = peak_of(lambda: read_idx(path, 3))
    np.testing.assert_array_equal(images, digits[0])
    assert peak <= bounded(images.nbytes)


def test_a_plain_idx_folder_is_memory_mapped_and_trains(tmp_path, digits):
    images, labels = digits
    write_idx(tmp_path / "train-images-idx3-ubyte", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    data, peak = peak_of(lambda: load_data(tmp_path))
    assert peak < 2**20 + labels.nbytes  # the labels are read; the pixels never are
    assert isinstance(data.x_train, np.memmap) and not data.x_train.flags.writeable
    np.testing.assert_array_equal(data.x_test, images[-len(data.x_test) :])
    model = bn.Sequential([bn.Flatten(), bn.Rescaling(1 / 255), bn.Dense(784, 10)])
    model.compile("cross_entropy").fit(data.x_train, data.y_train, epochs=1, verbose=0)
    assert model.evaluate(data.x_test, data.y_test)["loss"] > 0


def test_float_pixels_in_an_npz_are_converted_a_chunk_at_a_time(tmp_path, digits):
    images, labels = digits
    path = tmp_path / "floats.npz"
    np.savez(path, x_train=images.astype(np.float64), y_train=labels, x_test=images[:10],
             y_test=labels[:10])  # fmt: skip
    data, peak = peak_of(lambda: load_npz(path))
    np.testing.assert_array_equal(data.x_train, images)
    assert data.x_train.dtype == np.uint8
    assert peak <= bounded(), f"{peak / 2**20:.0f} MiB, where the float64 member is 125 MB"


def test_a_csv_past_the_memory_limit_is_memory_mapped_from_the_cache(
    csv_files, digits, monkeypatch, tmp_path
):
    monkeypatch.setenv("BARENET_DATA_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "IN_MEMORY_BYTES", 2**20)
    path = csv_files[1]
    (images, labels), peak = peak_of(lambda: read_digit_csv(path))
    assert isinstance(images, np.memmap) and str(images.filename).startswith(
        str(tmp_path / "cache")
    )
    np.testing.assert_array_equal(images, digits[0])
    np.testing.assert_array_equal(labels, digits[1])
    assert peak <= labels.nbytes * 3 + CHUNK_ALLOWANCE  # the converting took a chunk's memory
    entries = copies(tmp_path / "cache")
    assert [entry.name for entry in entries] == [cache.file_sha256(path)]  # nothing half-built
    stamp = (entries[0] / "images-idx3-ubyte").stat().st_mtime_ns
    data = load_data(path)  # the second read uses the copy
    assert (entries[0] / "images-idx3-ubyte").stat().st_mtime_ns == stamp
    assert "memory map of its uncompressed copy in" in data.notes[-1]


def test_a_large_gzip_idx_file_is_memory_mapped_from_the_cache(tmp_path, digits, monkeypatch):
    monkeypatch.setenv("BARENET_DATA_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "IN_MEMORY_BYTES", 2**20)
    path = write_idx(tmp_path / "train-images-idx3-ubyte.gz", digits[0])
    images, peak = peak_of(lambda: read_idx(path, 3))
    assert isinstance(images, np.memmap) and peak < 4 * 2**20
    np.testing.assert_array_equal(images, digits[0])
    write_idx(path, digits[0][:2000])  # a changed source gets a copy of its own
    assert len(read_idx(path, 3)) == 2000 and len(copies(tmp_path / "cache")) == 2


def test_a_damaged_source_or_a_full_disk_leaves_nothing_in_the_cache(tmp_path, digits, monkeypatch):
    monkeypatch.setenv("BARENET_DATA_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "IN_MEMORY_BYTES", 2**10)
    path = write_idx(tmp_path / "train-images-idx3-ubyte.gz", digits[0][:50])
    whole = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(whole[:-100]))
    abandoned = tmp_path / "cache" / ".0123abcd.killed"  # as a killed conversion leaves it
    abandoned.mkdir(parents=True)
    with pytest.raises(DataError, match="the file is truncated"):
        read_idx(path, 3)
    assert copies(tmp_path / "cache") == [] and not abandoned.exists()
    monkeypatch.setattr(cache, "FREE_DISK_MARGIN", 2**62)
    with pytest.raises(DataError, match="Set BARENET_DATA_CACHE to a folder with room"):
        read_idx(path, 3)


def test_the_cache_is_where_the_environment_says(monkeypatch, tmp_path):
    monkeypatch.setenv("BARENET_DATA_CACHE", str(tmp_path / "mine"))
    assert cache.cache_folder() == tmp_path / "mine"
    monkeypatch.delenv("BARENET_DATA_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_folder() == tmp_path / "xdg" / "barenet" / "data"


def vm_flags(path) -> list[str]:
    """The kernel's flags on this process's mapping of ``path`` (``rr``: random-read advice)."""
    lines = Path("/proc/self/smaps").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.endswith(str(path)))
    return next(line for line in lines[start:] if line.startswith("VmFlags:")).split()[1:]


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps"), reason="Linux shows mappings' flags")
def test_a_map_larger_than_the_memory_at_hand_is_advised_random_access(
    tmp_path, digits, monkeypatch
):
    import barenet.datasets.mapped as mapped

    assert mapped.memory_at_hand() > 2**20  # this machine's memory is known, and not tiny
    fits, too_large = (
        write_idx(tmp_path / f"{name}-images-idx3-ubyte", digits[0]) for name in ("a", "b")
    )
    images = read_idx(fits, 3)
    assert "rr" not in vm_flags(fits)  # the kernel's read-ahead, for a file that fits
    monkeypatch.setattr(mapped, "memory_at_hand", lambda: 2**20)  # 1 MiB: nothing fits
    larger = read_idx(too_large, 3)
    assert "rr" in vm_flags(too_large)
    np.testing.assert_array_equal(larger, images)


def test_pixels_fit_in_memory_up_to_a_gib_and_half_the_memory_at_hand(monkeypatch):
    monkeypatch.setattr(cache, "memory_at_hand", lambda: 64 * 2**20)  # a small container
    assert cache.fits_in_memory(32 * 2**20) and not cache.fits_in_memory(32 * 2**20 + 1)
    monkeypatch.setattr(cache, "memory_at_hand", lambda: None)  # where memory is not known
    assert cache.fits_in_memory(2**30) and not cache.fits_in_memory(2**30 + 1)
