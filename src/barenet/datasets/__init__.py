"""Digit data sets: the MNIST copy barenet ships, and the formats learners have on disk.

Every loader returns uint8 images ``(N, 28, 28)`` and uint8 labels ``(N,)``, as Keras does; a model
converts images to floats one batch at a time, so a whole run stays small in memory. No reader
makes a copy larger than its result on the way, and the images of plain IDX files (or of a large
source's copy in the data cache, ``cache.py``) are memory-mapped, not read.
"""

from barenet.datasets.csvdata import read_digit_csv
from barenet.datasets.dataset import DataError, Dataset
from barenet.datasets.idx import load_idx_folder
from barenet.datasets.load import load_data, load_images
from barenet.datasets.npz import load_npz
from barenet.datasets.shipped import load_mnist, shipped_mnist_dir

__all__ = [
    "DataError",
    "Dataset",
    "load_data",
    "load_idx_folder",
    "load_images",
    "load_mnist",
    "load_npz",
    "read_digit_csv",
    "shipped_mnist_dir",
]
