"""Is it a digit at all? A small CNN that tells digits from everything else.

A digit classifier has ten answers and must pick one, so a letter, a star or a dot on the page
gets a digit, often with confidence above 90%: softmax probabilities measure which digit, not
whether. The detector is a second network, trained on MNIST's digits against generated
non-digits (``nondigits.py``), drawn and photographed, that sees the same 28x28 input. It
answers ``P(digit)``; an input is a digit when that reaches the threshold saved with it, chosen
on a validation set so that no way of sending a digit (a drawing, a photo, each pen and style)
loses more than 1% of its digits there. It works beside any classifier, the shipped ones and a
person's fine-tuned one alike.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

from barenet.model import Sequential, load_model

DETECTOR_FILE = "digit-detector.npz"
DIGIT = 1  # the detector's class for "a digit"; 0 is "not a digit"


def detector_path() -> Path:
    """The shipped detector's file."""
    return Path(str(resources.files("barenet.digits") / "models" / DETECTOR_FILE))


@cache
def shipped_detector() -> Sequential:
    """The shipped detector, loaded once per process."""
    return load_model(detector_path())


def detection_threshold(detector: Sequential) -> float:
    """The ``P(digit)`` from which an input counts as a digit, saved with the detector."""
    return float(detector.metadata.get("threshold", 0.5))


def digit_scores(inputs: np.ndarray, detector: Sequential | None = None) -> np.ndarray:
    """``P(digit)`` of MNIST-style inputs ``(N, 28, 28)`` uint8: ``(N,)``."""
    detector = detector or shipped_detector()
    return detector.predict_proba(inputs)[:, DIGIT]


def is_digit(inputs: np.ndarray, detector: Sequential | None = None) -> np.ndarray:
    """Whether each MNIST-style input ``(N, 28, 28)`` is a digit: ``(N,)`` bool."""
    detector = detector or shipped_detector()
    return digit_scores(inputs, detector) >= detection_threshold(detector)
