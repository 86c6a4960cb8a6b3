"""``load_data``: digits from any source a learner has, chosen by what the path is."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from barenet.datasets.cache import cache_note
from barenet.datasets.csvdata import read_digit_csv
from barenet.datasets.dataset import DataError, Dataset, hold_out
from barenet.datasets.idx import load_idx_folder
from barenet.datasets.npz import load_npz
from barenet.datasets.shipped import load_shipped_mnist


def load_data(path: str | Path | None = None, *, test_elsewhere: bool = False) -> Dataset:
    """Load digits from ``path``: a folder of IDX files, a Keras ``.npz``, or a Kaggle-style CSV.

    ``None`` means the shipped MNIST. A source without a test split gets one held out (the last
    1/7 of its rows), and ``Dataset.notes`` says so; with ``test_elsewhere`` (a labelled CSV
    whose test set is elsewhere, as Kaggle's) every row trains and the test split is empty.
    """
    if test_elsewhere:
        return _every_row(path)
    if path is None:
        return load_shipped_mnist()
    path = Path(path)
    if path.is_dir():
        return load_idx_folder(path, verify=False)
    if not path.exists():
        raise DataError(f"{path} does not exist. Pass a folder of IDX files, an .npz or a .csv.")
    if path.suffix == ".npz":
        return load_npz(path)
    if path.suffix == ".csv" or path.name.endswith(".csv.gz"):
        images, labels = read_digit_csv(path)
        if labels is None:
            raise DataError(
                f"{path} has no label column (784 columns per row): it is an unlabelled test set, "
                "which can neither train nor evaluate a model. Pass the labelled train.csv; to "
                f"predict its digits: barenet predict --data {path} --out submission.csv"
            )
        reason = f"{path.name} has no test split"
        return hold_out(images, labels, str(path), reason, cache_note(path, images))
    raise DataError(
        f"{path}: unknown data format. Expected a folder of IDX files, a Keras-layout .npz "
        "(x_train, y_train, x_test, y_test) or a CSV with a label column and 784 pixels."
    )


def _every_row(path: str | Path | None) -> Dataset:
    """A labelled CSV with nothing held out: every row trains, no test split."""
    if path is None or not (str(path).endswith(".csv") or str(path).endswith(".csv.gz")):
        raise DataError(
            f"{path or 'The shipped MNIST'} has a test split of its own; --no-test-split is for a "
            "single labelled CSV whose test set is elsewhere (Kaggle's train.csv)."
        )
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} does not exist.")
    images, labels = read_digit_csv(path)
    if labels is None:
        raise DataError(f"{path} has no label column: it cannot train a model.")
    note = (
        f"every one of its {len(images):,} rows trains (--no-test-split): there is no test set, "
        "so no test accuracy; the validation split, if any, is the only check"
    )
    notes = [note, *cache_note(path, images)]
    return Dataset(images, labels, images[:0], labels[:0], str(path), notes, test_elsewhere=True)


def load_images(path: str | Path) -> tuple[np.ndarray, str]:
    """The images to predict in a data source, and a phrase saying which they are: every row of
    a CSV (a Kaggle ``test.csv`` has no labels; a labelled one's labels are ignored), or the test
    split of an IDX folder or an ``.npz``.

    Shape:
        - Returns: uint8 images ``(N, 28, 28)``, in the source's order.
    """
    path = Path(path)
    if path.suffix == ".csv" or path.name.endswith(".csv.gz"):
        if not path.exists():
            raise DataError(f"{path} does not exist.")
        images, _ = read_digit_csv(path)
        return images, f"the {len(images):,} rows of {path.name}"
    data = load_data(path)
    return data.x_test, f"the {len(data.x_test):,} test images of {data.source}"
