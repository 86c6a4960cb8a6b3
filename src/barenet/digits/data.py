"""Every source of labelled digits ``--data`` takes: those ``datasets.load_data`` reads (IDX,
``.npz``, CSV, the shipped MNIST) and a person's ``DIGIT/NAME.png`` folder of images
(``folders.py``), whose images need the application's preparation of a person's image."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from barenet.datasets import DataError, Dataset, load_data, load_images
from barenet.digits.folders import is_digit_folder, load_digit_folder, read_folder


def check_source(path: str | Path | None) -> None:
    """Refuse a path that names something other than a file or a folder: reading a FIFO waits
    forever for a writer, and a device never ends."""
    if path is None:
        return
    path = Path(path)
    if path.exists() and not (path.is_file() or path.is_dir()):
        raise DataError(
            f"{path} is not a regular file or a folder (a FIFO, device or socket); pass a data "
            "file or folder."
        )


def load_digit_data(path: str | Path | None = None, *, test_elsewhere: bool = False) -> Dataset:
    """``datasets.load_data``, and a ``DIGIT/NAME.png`` folder too."""
    check_source(path)
    if path is not None and is_digit_folder(Path(path)):
        if test_elsewhere:
            raise DataError(f"{path} is a folder of images; --no-test-split is for a CSV.")
        return load_digit_folder(path)
    return load_data(path, test_elsewhere=test_elsewhere)


def load_digit_images(path: str | Path) -> tuple[np.ndarray, str]:
    """``datasets.load_images`` (the images to predict in a data source), and the images of a
    ``DIGIT/NAME.png`` folder in the order of its files (digit, then name); of its ``test/``
    when it has ``train/`` and ``test/``, as an IDX folder gives its test split."""
    check_source(path)
    path = Path(path)
    if is_digit_folder(path):
        split = path / "test" if (path / "train").is_dir() and (path / "test").is_dir() else path
        images, _ = read_folder(split)
        return images, f"the {len(images):,} images of {split}"
    return load_images(path)
