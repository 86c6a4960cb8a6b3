"""Digit data sets: the MNIST copy barenet ships, and the formats learners have on disk.

Every loader returns uint8 images ``(N, 28, 28)`` and uint8 labels ``(N,)``, as Keras does; a model
converts images to floats one batch at a time, so a whole run stays small in memory.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from barenet.csvdata import read_digit_csv
from barenet.errors import DataError
from barenet.idx import read_idx_bytes, read_idx_pair

MNIST_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
SHIPPED_NAME = "MNIST (shipped with barenet)"
HOLD_OUT_FRACTION = 1 / 7  # MNIST's own test share: 10,000 of 70,000


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

    def checksum(self) -> str:
        """SHA256 of the four arrays' bytes: which data a model was trained on."""
        digest = hashlib.sha256()
        for array in (self.x_train, self.y_train, self.x_test, self.y_test):
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()

    def limit_train(self, count: int | None) -> Dataset:
        """The same data with only the first ``count`` training samples."""
        if count is None:
            return self
        if count < 1:
            raise DataError(f"--train-limit must be at least 1. Received: {count}")
        return dataclasses.replace(self, x_train=self.x_train[:count], y_train=self.y_train[:count])


def shipped_mnist_dir() -> Path:
    """The folder of the MNIST files installed with barenet."""
    return Path(str(resources.files("barenet") / "data" / "mnist"))


def _expected_sums(folder: Path) -> dict[str, str]:
    sums = {}
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        if line.strip():
            digest, name = line.split()[:2]
            sums[name] = digest
    return sums


def load_mnist(
    verify: bool = True,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The canonical MNIST shipped with barenet, as Keras returns it.

    Args:
        verify: check the SHA256 of each file's uncompressed contents against SHA256SUMS.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 ``(60000, 28, 28)``, ``(60000,)``,
        ``(10000, 28, 28)``, ``(10000,)``.
    """
    data = load_idx_folder(shipped_mnist_dir(), verify=verify)
    return (data.x_train, data.y_train), (data.x_test, data.y_test)


def load_data(path: str | Path | None = None) -> Dataset:
    """Load digits from ``path``: a folder of IDX files, a Keras ``.npz``, or a Kaggle-style CSV.

    ``None`` means the shipped MNIST. A source without a test split gets one held out (the last
    1/7 of its rows), and ``Dataset.notes`` says so.
    """
    if path is None:
        return dataclasses.replace(
            load_idx_folder(shipped_mnist_dir(), verify=True), source=SHIPPED_NAME
        )
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
                "which can neither train nor evaluate a model. Pass the labelled train.csv."
            )
        return hold_out(images, labels, str(path), reason=f"{path.name} has no test split")
    raise DataError(
        f"{path}: unknown data format. Expected a folder of IDX files, a Keras-layout .npz "
        "(x_train, y_train, x_test, y_test) or a CSV with a label column and 784 pixels."
    )


def hold_out(images: np.ndarray, labels: np.ndarray, source: str, reason: str) -> Dataset:
    """Split off the last 1/7 of the samples as a test set, with a note saying so."""
    test = max(1, round(len(images) * HOLD_OUT_FRACTION))
    if len(images) < 2:
        raise DataError(f"{source} has {len(images)} sample; at least 2 are needed to split.")
    note = f"{reason}: held out its last {test:,} samples as the test set."
    return Dataset(images[:-test], labels[:-test], images[-test:], labels[-test:], source, [note])


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


def load_npz(path: Path) -> Dataset:
    """Load a Keras-layout ``mnist.npz`` with ``x_train, y_train, x_test, y_test``."""
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise DataError(f"{path} holds a single array, not x_train/y_train/x_test/y_test.")
        with archive:
            missing = [key for key in MNIST_FILES if key not in archive.files]
            if missing:
                raise DataError(
                    f"{path} lacks the arrays {missing}; a Keras-layout mnist.npz has x_train, "
                    f"y_train, x_test and y_test (found: {archive.files})."
                )
            arrays = {key: archive[key] for key in MNIST_FILES}
    except DataError:
        raise
    except ValueError as error:
        raise DataError(f"{path}: cannot read the arrays without unpickling ({error}).") from None
    except (OSError, EOFError, zipfile.BadZipFile, gzip.BadGzipFile) as error:
        raise DataError(f"{path} is corrupt or truncated ({error}).") from None
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
