"""Digits in the Keras ``mnist.npz`` layout: ``x_train, y_train, x_test, y_test``."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import numpy as np

from barenet.datasets.dataset import DataError, Dataset
from barenet.saving import check_archive

SPLITS = ("x_train", "y_train", "x_test", "y_test")


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
            arrays = {key: archive[key] for key in SPLITS}
            for key, value in arrays.items():
                if not isinstance(value, np.ndarray):
                    raise DataError(f"{path}: the member {key} is not a NumPy array (.npy).")
    except DataError:
        raise
    except ValueError as error:
        raise DataError(f"{path}: cannot read the arrays without unpickling ({error}).") from None
    except (OSError, EOFError, zipfile.BadZipFile, gzip.BadGzipFile) as error:
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
    if images.dtype != np.uint8:
        bad = ~np.isfinite(images) | (images < 0) | (images > 255) | (images != np.round(images))
        if bad.any():
            index = tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), images.shape))
            raise DataError(
                f"{path}: x_{split}{list(index)} = {images[index]} is not a pixel value "
                "(an integer in 0..255)."
            )
        images = images.astype(np.uint8)
    if not np.issubdtype(labels.dtype, np.integer) or (labels.size and labels.max() > 9):
        raise DataError(f"{path}: y_{split} must hold integer labels 0..9.")
    if labels.size and labels.min() < 0:
        raise DataError(f"{path}: y_{split} must hold integer labels 0..9.")
    return images, labels.astype(np.uint8)
