"""``Dataset``: train and test splits of digit images, as every loader returns them."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

HOLD_OUT_FRACTION = 1 / 7  # MNIST's own test share: 10,000 of 70,000
CHECKSUM_ROWS_BYTES = 2**24  # hash 16 MiB of rows at a time, never a copy of a whole split


class DataError(ValueError):
    """A data file is missing, malformed or does not match the expected layout."""


@dataclass
class Dataset:
    """Train and test splits of 28x28 digit images.

    Shape:
        - x_train, x_test: ``(N, 28, 28)`` uint8; y_train, y_test: ``(N,)`` uint8 in 0..9.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    notes: list[str] = field(default_factory=list)  # what the loader decided, said to the user
    # True when the test set is elsewhere (Kaggle's unlabelled test.csv): every labelled row
    # trains, and the test split is empty.
    test_elsewhere: bool = False
    # The checksum, once taken: a run asks for it more than once, and hashing a large memory-
    # mapped set reads it all from the disk again. (Nothing writes into a Dataset's arrays.)
    _checksum: str | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for split, images in (("training", self.x_train), ("test", self.x_test)):
            if len(images) == 0 and not (split == "test" and self.test_elsewhere):
                raise DataError(f"{self.source} holds no {split} images; a data set needs both.")
            if images.shape[1:] != (28, 28):
                height, width = images.shape[1:3] if images.ndim == 3 else (None, None)
                raise DataError(
                    f"{self.source}: the {split} images are {height}x{width}; barenet's digit "
                    "models read 28x28 images (MNIST's size)."
                )

    def checksum(self) -> str:
        """SHA256 of the four arrays' bytes: which data a model was trained on."""
        if self._checksum is not None:
            return self._checksum
        digest = hashlib.sha256()
        for array in (self.x_train, self.y_train, self.x_test, self.y_test):
            # Hashing slices of rows in order gives the digest of the whole array's bytes.
            rows = max(1, CHECKSUM_ROWS_BYTES // max(1, array[:1].nbytes))
            for start in range(0, len(array), rows):
                digest.update(np.ascontiguousarray(array[start : start + rows]).data)
        self._checksum = digest.hexdigest()
        return self._checksum

    def limit_train(self, count: int | None) -> Dataset:
        """The same data with only the first ``count`` training samples."""
        if count is None:
            return self
        if count < 1:
            raise DataError(f"--train-limit must be at least 1. Received: {count}")
        return dataclasses.replace(self, x_train=self.x_train[:count], y_train=self.y_train[:count])


def hold_out(
    images: np.ndarray, labels: np.ndarray, source: str, reason: str, notes: Sequence[str] = ()
) -> Dataset:
    """Split off the last 1/7 of the samples as a test set, with a note saying so (before
    ``notes``, the loader's own)."""
    test = max(1, round(len(images) * HOLD_OUT_FRACTION))
    if len(images) < 2:
        raise DataError(f"{source} has {len(images)} sample; at least 2 are needed to split.")
    note = f"{reason}: held out its last {test:,} samples as the test set."
    splits = images[:-test], labels[:-test], images[-test:], labels[-test:]
    return Dataset(*splits, source, [note, *notes])
