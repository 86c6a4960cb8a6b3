"""The canonical MNIST that ships inside the package, checked against its SHA256 sums."""

from __future__ import annotations

import dataclasses
from importlib import resources
from pathlib import Path

import numpy as np

from barenet.datasets.dataset import Dataset
from barenet.datasets.idx import load_idx_folder

SHIPPED_NAME = "MNIST (shipped with barenet)"


def shipped_mnist_dir() -> Path:
    """The folder of the MNIST files installed with barenet."""
    return Path(str(resources.files("barenet.datasets") / "mnist"))


def load_shipped_mnist() -> Dataset:
    """The shipped MNIST as a ``Dataset``, every file verified."""
    data = load_idx_folder(shipped_mnist_dir(), verify=True)
    return dataclasses.replace(data, source=SHIPPED_NAME)


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
