"""Reading digits: image -> the 28x28 digit the network sees -> probabilities -> top guesses.

``barenet predict``, the web API and ``barenet report`` all read digits through here, so they
agree on the preprocessing, the probabilities, the order of the guesses and whether an image
holds a digit at all (``detector.py``); ``explain_digit`` shows what each layer computes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from barenet.digits.detector import is_digit
from barenet.digits.imaging import MAX_PIXELS, load_digit
from barenet.explaining import Explanation, explain
from barenet.model import Sequential


@dataclass(frozen=True)
class DigitReadings:
    """What a model read in N digits.

    Shape:
        - inputs: ``(N, 28, 28)`` uint8, each digit as the network saw it.
        - probabilities: ``(N, C)``, each row summing to 1.
        - is_digit: ``(N,)`` bool, the digit detector's verdict; None when not checked.
    """

    inputs: np.ndarray
    probabilities: np.ndarray
    is_digit: np.ndarray | None = None

    @property
    def digits(self) -> np.ndarray:
        """The most probable class of each digit, ``(N,)``."""
        return self.probabilities.argmax(axis=1)

    @property
    def confidence(self) -> np.ndarray:
        """The probability of that class, ``(N,)``."""
        return self.probabilities.max(axis=1)

    def top(self, k: int) -> np.ndarray:
        """The ``k`` most probable classes of each digit, most probable first, ``(N, k)``."""
        return np.argsort(self.probabilities, axis=1)[:, ::-1][:, :k]


def read_digits(
    model: Sequential, inputs: np.ndarray, *, check_digit: bool = False
) -> DigitReadings:
    """Class probabilities of digits that are already MNIST-style 28x28 images.

    Args:
        model: a trained digit model (it takes raw 0..255 pixels).
        inputs: ``(N, 28, 28)`` uint8 digits.
        check_digit: also ask the digit detector whether each input is a digit at all.
    """
    verdict = is_digit(inputs) if check_digit else None
    return DigitReadings(inputs, model.predict_proba(inputs), verdict)


def read_digit(
    model: Sequential,
    image: str | Path | BinaryIO,
    *,
    name: str | None = None,
    max_pixels: int = MAX_PIXELS,
    check_digit: bool = True,
) -> DigitReadings:
    """Read the digit in one image (a file, or bytes in a file object): readings of N = 1.

    The image is turned into an MNIST-style digit by ``imaging.load_digit``; ``name`` is what
    its errors call the image, ``max_pixels`` the largest image it decodes. With
    ``check_digit`` the digit detector also says whether it is a digit at all.

    Raises:
        ImageError: not an image, damaged, too large or blank (a subclass says which).
    """
    digit = load_digit(image, max_pixels, name)
    return read_digits(model, digit[np.newaxis], check_digit=check_digit)


def explain_digit(
    model: Sequential,
    image: str | Path | BinaryIO,
    *,
    name: str | None = None,
    max_pixels: int = MAX_PIXELS,
) -> Explanation:
    """Every layer's output for the digit in one image, and the saliency of the model's answer
    (``explaining.explain`` for N = 1); ``inputs[0]`` is the 28x28 digit the network saw.

    Raises:
        ImageError: as ``read_digit``.
    """
    digit = load_digit(image, max_pixels, name)
    return explain(model, digit[np.newaxis])
