"""A folder of labelled digit images, ``DIGIT/NAME.png``: a person's own digits.

The layout is torchvision's ``ImageFolder`` and Keras' ``image_dataset_from_directory``: one
sub-folder per class, named ``0`` to ``9``, holding image files of any size and colours. The page's
"Wrong? It was a ..." saves corrections into such a folder (``save_correction``); everything that
takes ``--data`` reads one (``load_digit_folder``), each image prepared by ``imaging.load_digit``
as any image the model reads. A folder may also hold ``train/`` and ``test/``, each laid out so;
otherwise a seeded 1/7 of every digit's images is held out as the test split.
"""

from __future__ import annotations

import errno
import io
import os
import secrets
import time
from pathlib import Path

import numpy as np

from barenet.atomic import atomic_open
from barenet.datasets import DataError, Dataset
from barenet.digits.imaging import IMAGE_SUFFIXES, ImageError, load_digit

CLASS_FOLDERS = [str(digit) for digit in range(10)]
MAX_IMAGES = 20_000  # a person's folder, not a data set: refuse more before reading any
MAX_SAVED_SIDE = 1024  # corrections are saved at most this large (a photo is scaled down)
HOLD_OUT_FRACTION = 1 / 7
NAME_TRIES = 10  # a name is taken only when 6 random hex digits repeat within a second


def default_folder() -> Path:
    """Where the page saves a person's digits unless told otherwise: ``$BARENET_MY_DIGITS``,
    else ``$XDG_DATA_HOME/barenet/my-digits`` (``~/.local/share/barenet/my-digits``)."""
    if os.environ.get("BARENET_MY_DIGITS"):
        return Path(os.environ["BARENET_MY_DIGITS"])
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "barenet" / "my-digits"


def is_digit_folder(path: Path) -> bool:
    """Whether ``path`` is laid out as ``DIGIT/NAME.png`` (or holds ``train/`` so laid out)."""
    if (path / "train").is_dir():
        path = path / "train"
    return path.is_dir() and any((path / name).is_dir() for name in CLASS_FOLDERS)


def image_files(folder: Path) -> list[tuple[Path, int]]:
    """Every image file of a ``DIGIT/NAME.png`` folder with its digit, sorted by digit then name;
    other files and folders are ignored."""
    found = []
    for digit, name in enumerate(CLASS_FOLDERS):
        if (folder / name).is_dir():
            found += sorted(
                (path, digit)
                for path in (folder / name).iterdir()
                if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()
            )
        if len(found) > MAX_IMAGES:
            raise DataError(f"{folder} holds over {MAX_IMAGES:,} images; this is for a person's "
                            "digits: pass a data set as IDX, .npz or CSV instead.")  # fmt: skip
    return found


def read_folder(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """The images of a ``DIGIT/NAME.png`` folder prepared as MNIST digits, and their labels:
    ``(N, 28, 28)`` uint8 and ``(N,)`` uint8. A file that is not a readable image is an error
    naming it."""
    files = image_files(folder)
    if not files:
        raise DataError(
            f"{folder} has no images in digit folders: expected {folder}/0/NAME.png ... "
            f"{folder}/9/NAME.png."
        )
    images = np.empty((len(files), 28, 28), np.uint8)  # filled in place: no list, no stacking
    for index, (path, _) in enumerate(files):
        try:
            images[index] = load_digit(path)
        except ImageError as error:
            raise DataError(f"{error} Remove or replace it.") from None
    return images, np.array([digit for _, digit in files], np.uint8)


def load_digit_folder(path: str | Path, seed: int = 0) -> Dataset:
    """A ``DIGIT/NAME.png`` folder as a data set: its ``train/`` and ``test/`` if it has them,
    else 1/7 of every digit's images (at random, seeded) held out as the test split."""
    path = Path(path)
    if (path / "train").is_dir() and (path / "test").is_dir():
        x_train, y_train = read_folder(path / "train")
        x_test, y_test = read_folder(path / "test")
        return Dataset(x_train, y_train, x_test, y_test, str(path))
    images, labels = read_folder(path)
    if len(images) < 2:
        raise DataError(f"{path} has {len(images)} image; at least 2 are needed to split.")
    rng = np.random.default_rng(seed)
    test = np.zeros(len(images), bool)
    for digit in np.unique(labels):  # every digit in both splits, where it has 2 or more
        members = rng.permutation(np.flatnonzero(labels == digit))
        test[members[: int(len(members) * HOLD_OUT_FRACTION)]] = True
    if not test.any():
        test[rng.integers(len(images))] = True
    note = (
        f"{path} has no train/ and test/ folders: held out {int(test.sum())} of its "
        f"{len(images)} images (1/7 of each digit's, at random) as the test set."
    )
    return Dataset(images[~test], labels[~test], images[test], labels[test], str(path), [note])


def correction_name() -> str:
    """A new correction's file name: the time to the second and 6 random hex digits."""
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}.png"


def save_correction(folder: Path, digit: int, gray: np.ndarray) -> Path:
    """Save a greyscale image ``(H, W)`` 0..255 as ``folder/DIGIT/NAME.png``, atomically; a
    large one is scaled down to ``MAX_SAVED_SIDE``. NAME is the time and a random suffix, and
    the file is put in place only under a name nobody has taken (another suffix is drawn if it
    is), so two saves in the same second never overwrite each other."""
    from PIL import Image

    if digit not in range(10):
        raise ValueError(f"A digit is 0 to 9. Received: digit={digit!r}.")
    if len(image_files(folder)) >= MAX_IMAGES:
        raise DataError(f"{folder} already holds {MAX_IMAGES:,} images; make room first.")
    image = Image.fromarray(np.clip(gray, 0, 255).astype(np.uint8), mode="L")
    image.thumbnail((MAX_SAVED_SIDE, MAX_SAVED_SIDE))
    png = io.BytesIO()
    image.save(png, format="PNG")
    for _ in range(NAME_TRIES):
        target = folder / str(digit) / correction_name()
        try:
            with atomic_open(target, overwrite=False) as handle:
                handle.write(png.getvalue())
            return target
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, f"{NAME_TRIES} names drawn in a row were taken")
