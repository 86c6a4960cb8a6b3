"""Predictions written to a file: Kaggle's submission CSV, or JSON.

For images numbered in order (a CSV's rows, a test split) the CSV is exactly what Kaggle's digit
recognizer expects: ``ImageId,Label`` with ids from 1. For image files it is ``file,digit,
probability``. JSON holds every class's probability too. Files are written atomically.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from barenet.atomic import atomic_write_text

FORMATS = (".csv", ".json")


def check_format(path: str | Path) -> None:
    """Raise ValueError unless ``path`` ends in .csv or .json (checked before any work)."""
    if Path(path).suffix.lower() not in FORMATS:
        raise ValueError(
            f"--out must end in .csv (Kaggle's ImageId,Label) or .json. Received: {path}"
        )


def predictions_text(
    ids: Sequence[int] | Sequence[str], probabilities: np.ndarray, fmt: str
) -> str:
    """The predictions as CSV or JSON text.

    Args:
        ids: 1-based image numbers (``ImageId``) or file names, one per row of probabilities.
        probabilities: ``(N, C)``, rows summing to 1.
        fmt: ``".csv"`` or ``".json"``.
    """
    digits = probabilities.argmax(axis=1)
    numbered = all(isinstance(key, int) for key in ids)
    if fmt == ".json":
        key = "ImageId" if numbered else "file"
        rows = [
            {key: name, "digit": int(digit), "probabilities": [round(float(p), 6) for p in row]}
            for name, digit, row in zip(ids, digits, probabilities, strict=True)
        ]
        return json.dumps(rows, indent=1) + "\n"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if numbered:
        writer.writerow(["ImageId", "Label"])
        writer.writerows(zip(ids, digits.tolist(), strict=True))
    else:
        writer.writerow(["file", "digit", "probability"])
        confidence = probabilities.max(axis=1)
        for name, digit, p in zip(ids, digits.tolist(), confidence.tolist(), strict=True):
            writer.writerow([name, digit, f"{p:.6f}"])
    return buffer.getvalue()


def write_predictions(
    path: str | Path, ids: Sequence[int] | Sequence[str], probabilities: np.ndarray
) -> Path:
    """Write the predictions to ``path`` (.csv or .json), atomically; returns the path."""
    check_format(path)
    atomic_write_text(path, predictions_text(ids, probabilities, Path(path).suffix.lower()))
    return Path(path)
