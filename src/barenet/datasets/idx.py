"""The IDX file format of MNIST (and Fashion-MNIST), plain or gzip-compressed, and folders of
such files.

Layout: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions, then each
dimension as a big-endian uint32, then the data. Images are ``(N, 28, 28)``, labels ``(N,)``.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

import numpy as np

from barenet.datasets.dataset import DataError, Dataset, hold_out

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


def read_idx_bytes(path: Path) -> bytes:
    """The uncompressed bytes of an IDX file (``.gz`` files are decompressed)."""
    with _opened(path) as handle:
        return handle.read()


MAX_IDX_BYTES = 2**30  # 1 GiB of pixels, 20x MNIST's training images: refused before reading


def read_idx(path: str | Path, expected_dims: int) -> np.ndarray:
    """Read an IDX file (``.gz`` or plain) with ``expected_dims`` dimensions, checking every
    size. The header is checked before the data is read, and only as many bytes as it declares
    are decompressed (plus one, to notice a file longer than that)."""
    path = Path(path)
    header_size = 4 + 4 * expected_dims
    with _opened(path) as handle:
        shape = _parse_header(handle.read(header_size), path, expected_dims)
        size = int(np.prod(shape, dtype=np.int64))
        if size > MAX_IDX_BYTES:
            raise DataError(
                f"{path}: the header declares shape {shape}, {size / 2**30:.3g} GiB of data, "
                f"over barenet's limit of {MAX_IDX_BYTES / 2**30:.3g} GiB."
            )
        data = handle.read(size)
        longer = bool(handle.read(1))
    needs = f"the header declares shape {shape}, which needs {header_size + size} bytes"
    if longer:
        raise DataError(
            f"{path}: the file is longer than its header says: {needs}, but more data follows "
            f"byte offset {header_size + size}."
        )
    if len(data) < size:
        raise DataError(
            f"{path}: the file is truncated: {needs}, but it has {header_size + len(data)} "
            f"(data ends at byte offset {header_size + len(data)})."
        )
    return np.frombuffer(data, np.uint8).reshape(shape)


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
    """Read matching image ``(N, H, W)`` and label ``(N,)`` files and check they agree."""
    images = read_idx(images_path, 3)
    labels = read_idx(labels_path, 1)
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
    if "test" not in loaded:
        return hold_out(x_train, y_train, str(folder), f"{folder} has no t10k files")
    x_test, y_test = loaded["test"]
    return Dataset(x_train, y_train, x_test, y_test, str(folder))


def _verify_checksums(folder: Path, files: list[Path]) -> None:
    expected = _expected_sums(folder)
    for path in files:
        actual = hashlib.sha256(read_idx_bytes(path)).hexdigest()
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
