"""The IDX file format of MNIST (and Fashion-MNIST), plain or gzip-compressed, and folders of
such files.

Layout: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions, then each
dimension as a big-endian uint32, then the data. Images are ``(N, 28, 28)``, labels ``(N,)``.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

import numpy as np

from barenet.datasets.cache import cache_note, cached, fits_in_memory
from barenet.datasets.dataset import DataError, Dataset, hold_out
from barenet.datasets.mapped import map_read_only

UNSIGNED_BYTE = 0x08


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[BinaryIO]:
    """An IDX file's uncompressed bytes as a stream; damage and read errors become DataError."""
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as handle:
            yield cast(BinaryIO, handle)
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise DataError(
            f"{path}: the gzip data is corrupt or truncated ({error}). Download the file again."
        ) from None
    except OSError as error:
        raise DataError(f"{path}: cannot read the file ({error.strerror or error}).") from None


READ_BLOCK = 2**20  # bytes decompressed at a time when copying or hashing a file


def read_idx(path: str | Path, expected_dims: int) -> np.ndarray:
    """Read an IDX file (``.gz`` or plain) with ``expected_dims`` dimensions, checking every
    size against the header before the data is used.

    A plain file is memory-mapped, read-only: its size is checked, its data is never read here,
    and its rows take memory only while they are used (the operating system pages them in and
    out), so a data set larger than memory trains. A ``.gz`` file is decompressed straight into
    memory of the declared size, and no further than one byte beyond it (to notice a file
    longer than that); one whose data does not fit in memory (``cache.fits_in_memory``) is
    converted once into the data cache and memory-mapped from there (see ``cache.py``).

    Shape:
        - Returns: uint8 ``(N, H, W)`` for ``expected_dims=3``, ``(N,)`` for 1.
    """
    path = Path(path)
    header_size = 4 + 4 * expected_dims
    with _opened(path) as handle:
        shape = _parse_header(handle.read(header_size), path, expected_dims)
        size = int(np.prod(shape, dtype=np.int64))
        if path.suffix != ".gz":
            found = os.fstat(handle.fileno()).st_size - header_size
            _check_length(path, shape, found, found > size)
            return _mapped(path, shape, header_size)
        if not fits_in_memory(size):
            return _decompressed_copy(path, expected_dims, size)
        data = handle.read(size)  # gzip decompresses into one bytes object of this size
        longer = bool(handle.read(1))
    _check_length(path, shape, len(data), longer)
    return np.frombuffer(data, np.uint8).reshape(shape)  # the bytes themselves: no copy


def _check_length(path: Path, shape: tuple[int, ...], found: int, longer: bool) -> None:
    """Refuse a file whose data after the header is not exactly what the header declares."""
    header_size = 4 + 4 * len(shape)
    size = int(np.prod(shape, dtype=np.int64))
    needs = f"the header declares shape {shape}, which needs {header_size + size} bytes"
    if longer:
        raise DataError(
            f"{path}: the file is longer than its header says: {needs}, but more data follows "
            f"byte offset {header_size + size}."
        )
    if found < size:
        raise DataError(
            f"{path}: the file is truncated: {needs}, but it has {header_size + found} "
            f"(data ends at byte offset {header_size + found})."
        )


def _mapped(path: Path, shape: tuple[int, ...], header_size: int) -> np.ndarray:
    """The data of a plain IDX file (its size already checked), memory-mapped read-only."""
    if 0 in shape:
        return np.zeros(shape, np.uint8)  # nothing to map: mmap refuses a length of 0
    try:
        return map_read_only(path, header_size, shape)
    except (OSError, ValueError) as error:
        raise DataError(f"{path}: cannot memory-map the file ({error}).") from None


def _decompressed_copy(path: Path, expected_dims: int, size: int) -> np.ndarray:
    """A large ``.gz`` IDX file, memory-mapped from its decompressed copy in the data cache."""
    name = path.name.removesuffix(".gz")

    def decompress(folder: Path) -> None:
        with (folder / name).open("wb") as copy:
            for block in _blocks(path, expected_dims, size):
                copy.write(block)

    return read_idx(cached(path, size, decompress) / name, expected_dims)


def _blocks(path: Path, expected_dims: int, size: int) -> Iterator[bytes]:
    """An IDX file's header, then its data a block at a time, its length checked at the end."""
    header_size = 4 + 4 * expected_dims
    with _opened(path) as source:
        shape = _parse_header(source.read(header_size), path, expected_dims)
        yield idx_header(shape)
        found = 0
        while found < size and (block := source.read(min(READ_BLOCK, size - found))):
            yield block
            found += len(block)
        _check_length(path, shape, found, bool(source.read(1)))


def idx_header(shape: tuple[int, ...]) -> bytes:
    """The header of an unsigned-byte IDX file of ``shape``: magic number, then each size."""
    return bytes([0, 0, UNSIGNED_BYTE, len(shape)]) + np.array(shape, ">u4").tobytes()


def _parse_header(header: bytes, path: Path, expected_dims: int) -> tuple[int, ...]:
    """The shape an IDX header declares, after checking its magic number and data type."""
    kind = "images (idx3)" if expected_dims == 3 else "labels (idx1)"
    if len(header) < 4:
        raise DataError(f"{path}: {len(header)} bytes is too short for an IDX header.")
    if header[0] != 0 or header[1] != 0 or header[3] != expected_dims:
        raise DataError(
            f"{path}: wrong magic number 0x{header[:4].hex()} at byte 0; expected "
            f"0x0000080{expected_dims} for MNIST {kind}."
        )
    if header[2] != UNSIGNED_BYTE:
        raise DataError(
            f"{path}: data type code 0x{header[2]:02x} at byte 2; barenet reads unsigned-byte "
            "(0x08) IDX files."
        )
    expected = 4 + 4 * expected_dims
    if len(header) < expected:
        raise DataError(f"{path}: the header is truncated ({len(header)} of {expected} bytes).")
    return tuple(int(d) for d in np.frombuffer(header, ">u4", count=expected_dims, offset=4))


def read_idx_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read matching image ``(N, H, W)`` and label ``(N,)`` files and check they agree. The
    labels, a byte per image, are read into memory; the images of a plain file stay mapped."""
    images = read_idx(images_path, 3)
    labels = np.array(read_idx(labels_path, 1))
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} "
            "labels; they must be a matching pair."
        )
    if labels.size and labels.max() > 9:
        row = int(np.argmax(labels > 9))
        raise DataError(
            f"{labels_path}: label {labels[row]} at index {row} (byte offset {8 + row}) is "
            "outside 0..9."
        )
    return images, labels


def _find_pairs(folder: Path) -> dict[str, tuple[Path, Path]]:
    """Map a split name ('train', 'test') to its (images, labels) IDX files in ``folder``."""
    pairs = {}
    for images in sorted(folder.glob("*-images-idx3-ubyte*")):
        labels = images.with_name(images.name.replace("-images-idx3-", "-labels-idx1-"))
        if not labels.exists():
            raise DataError(f"{images} has no matching labels file {labels.name} beside it.")
        prefix = images.name.split("-images-")[0].lower()
        split = "test" if prefix in ("t10k", "test") or "test" in prefix else "train"
        if split in pairs:
            raise DataError(f"{folder} holds more than one {split} image file; keep one of each.")
        pairs[split] = (images, labels)
    return pairs


def load_idx_folder(folder: Path, verify: bool) -> Dataset:
    """Load ``train-*`` and ``t10k-*`` (or ``test-*``) IDX image/label pairs from ``folder``."""
    pairs = _find_pairs(folder)
    if not pairs:
        csvs = sorted(folder.glob("*.csv"))
        if csvs:
            raise DataError(f"{folder} has no IDX files; pass one of its CSV files: {csvs[0]}.")
        raise DataError(
            f"{folder} holds no IDX files (expected *-images-idx3-ubyte[.gz] with matching "
            "*-labels-idx1-ubyte[.gz])."
        )
    if verify:
        _verify_checksums(folder, [path for pair in pairs.values() for path in pair])
    loaded = {split: read_idx_pair(*files) for split, files in pairs.items()}
    if "train" not in loaded:
        raise DataError(f"{folder} has test files but no training files (train-images-...).")
    (x_train, y_train) = loaded["train"]
    notes = cache_note(folder, x_train)
    if "test" not in loaded:
        return hold_out(x_train, y_train, str(folder), f"{folder} has no t10k files", notes)
    x_test, y_test = loaded["test"]
    return Dataset(x_train, y_train, x_test, y_test, str(folder), notes)


def _verify_checksums(folder: Path, files: list[Path]) -> None:
    expected = _expected_sums(folder)
    for path in files:
        digest = hashlib.sha256()
        with _opened(path) as handle:
            while block := handle.read(READ_BLOCK):
                digest.update(block)
        actual = digest.hexdigest()
        if path.name in expected and actual != expected[path.name]:
            raise DataError(
                f"{path} does not match its SHA256 in SHA256SUMS (expected "
                f"{expected[path.name][:12]}..., got {actual[:12]}...): the file is damaged. "
                "Reinstall barenet."
            )


def _expected_sums(folder: Path) -> dict[str, str]:
    sums = {}
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        if line.strip():
            digest, name = line.split()[:2]
            sums[name] = digest
    return sums
