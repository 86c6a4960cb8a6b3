"""Digits in the Keras ``mnist.npz`` layout: ``x_train, y_train, x_test, y_test``.

uint8 members are read as NumPy reads them, into an array of their own size. Pixels stored as
another number type (float64 takes eight bytes a pixel) are read from the archive and converted
to uint8 a chunk at a time, so they never take more memory than the uint8 result and a chunk.
"""

from __future__ import annotations

import gzip
import zipfile
import zlib
from pathlib import Path

import numpy as np

from barenet.datasets.dataset import DataError, Dataset
from barenet.saving import check_archive

SPLITS = ("x_train", "y_train", "x_test", "y_test")
CHUNK_VALUES = 2**20  # pixels of another type than uint8 converted at a time
HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def load_npz(path: Path) -> Dataset:
    """Load a Keras-layout ``mnist.npz`` with ``x_train, y_train, x_test, y_test``."""
    try:
        if zipfile.is_zipfile(path):  # a bare .npy is named as such below
            check_archive(path, DataError, "a data file")
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise DataError(f"{path} holds a single array, not x_train/y_train/x_test/y_test.")
        with archive:
            missing = [key for key in SPLITS if key not in archive.files]
            if missing:
                raise DataError(
                    f"{path} lacks the arrays {missing}; a Keras-layout mnist.npz has x_train, "
                    f"y_train, x_test and y_test (found: {archive.files})."
                )
            arrays = {key: _member(path, archive, key) for key in SPLITS}
            for key, value in arrays.items():
                if not isinstance(value, np.ndarray):
                    raise DataError(f"{path}: the member {key} is not a NumPy array (.npy).")
    except DataError:
        raise
    except ValueError as error:
        raise DataError(f"{path}: cannot read the arrays without unpickling ({error}).") from None
    except (OSError, EOFError, zipfile.BadZipFile, gzip.BadGzipFile, zlib.error) as error:
        raise DataError(f"{path} is corrupt or truncated ({error}).") from None
    except (RuntimeError, NotImplementedError) as error:  # encrypted, unknown compression
        raise DataError(f"{path}: a member cannot be read ({error}).") from None
    x_train, y_train = _checked_npz_split(path, arrays["x_train"], arrays["y_train"], "train")
    x_test, y_test = _checked_npz_split(path, arrays["x_test"], arrays["y_test"], "test")
    return Dataset(x_train, y_train, x_test, y_test, str(path))


def _checked_npz_split(
    path: Path, images: np.ndarray, labels: np.ndarray, split: str
) -> tuple[np.ndarray, np.ndarray]:
    if images.ndim == 2 and images.shape[1] == 784:
        images = images.reshape(-1, 28, 28)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"{path}: x_{split} has shape {images.shape}; expected (N, 28, 28).")
    if labels.shape != (len(images),):
        raise DataError(
            f"{path}: y_{split} has shape {labels.shape} but x_{split} holds {len(images)} "
            f"images; expected ({len(images)},)."
        )
    if not np.issubdtype(images.dtype, np.number):
        raise DataError(f"{path}: x_{split} has dtype {images.dtype}; expected numbers 0..255.")
    if images.dtype != np.uint8:  # a member that _member left to NumPy (Fortran order)
        _check_pixels(path, f"x_{split}", images.reshape(-1), images.shape)
        images = images.astype(np.uint8)
    if not np.issubdtype(labels.dtype, np.integer) or (labels.size and labels.max() > 9):
        raise DataError(f"{path}: y_{split} must hold integer labels 0..9.")
    if labels.size and labels.min() < 0:
        raise DataError(f"{path}: y_{split} must hold integer labels 0..9.")
    return images, labels.astype(np.uint8)


def _member(path: Path, archive: np.lib.npyio.NpzFile, key: str) -> np.ndarray:
    """The member ``key``: as NumPy loads it, but for pixels of a number type other than uint8,
    read and converted to uint8 a chunk at a time. (NumPy gives a member that is not ``.npy``
    as bytes, which ``load_npz`` refuses.)"""
    name, members = f"{key}.npy", archive.zip
    assert members is not None  # an NpzFile opened from a path holds its ZipFile
    if not key.startswith("x_") or name not in members.namelist():
        return archive[key]  # labels are a byte or a few per image: read as they are
    with members.open(name) as member:
        read_header = HEADER_READERS.get(np.lib.format.read_magic(member))
        if read_header is None:
            return archive[key]
        shape, fortran_order, dtype = read_header(member)
        if dtype == np.uint8 or fortran_order or not np.issubdtype(dtype, np.number):
            return archive[key]  # NumPy reads it whole; _checked_npz_split refuses what is wrong
        pixels = np.empty(shape, np.uint8)
        flat = pixels.reshape(-1)  # (N * H * W,): a view, filled in place
        for start in range(0, flat.size, CHUNK_VALUES):
            count = min(CHUNK_VALUES, flat.size - start)
            data = member.read(count * dtype.itemsize)
            if len(data) < count * dtype.itemsize:
                raise DataError(f"{path}: the member {key} is truncated.")
            values = np.frombuffer(data, dtype)
            _check_pixels(path, key, values, shape, start)
            flat[start : start + count] = values
    return pixels


def _check_pixels(
    path: Path, key: str, values: np.ndarray, shape: tuple[int, ...], start: int = 0
) -> None:
    """Refuse a pixel that is not an integer in 0..255, naming its index in ``shape``; ``values``
    are the member's flat values from ``start``."""
    bad = ~np.isfinite(values) | (values < 0) | (values > 255) | (values != np.round(values))
    if bad.any():
        at = int(np.argmax(bad))
        index = [int(i) for i in np.unravel_index(start + at, shape)]
        raise DataError(
            f"{path}: {key}{index} = {values[at]} is not a pixel value (an integer in 0..255)."
        )
