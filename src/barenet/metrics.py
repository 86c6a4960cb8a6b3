"""Classification metrics: correct predictions in a batch, the confusion matrix, and precision,
recall and F1 per class."""

from __future__ import annotations

import numpy as np


def count_correct(scores: np.ndarray, y: np.ndarray, threshold: float = 0.5) -> int:
    """How many rows of ``scores`` pick the class of ``y``.

    Shape:
        - scores: ``(N, C)``; with ``C == 1``, class 1 is ``score > threshold``.
        - y: ``(N,)`` class ids or ``(N, C)`` target rows (their argmax is the class).
    """
    if scores.shape[1] == 1:  # one output: a binary decision at the threshold
        return int(np.sum((scores[:, 0] > threshold) == (y.reshape(len(y), -1)[:, 0] > 0.5)))
    labels = y if y.ndim == 1 else y.argmax(axis=1)
    return int(np.sum(scores.argmax(axis=1) == labels))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, classes: int) -> np.ndarray:
    """Counts ``(classes, classes)``: row = true class, column = predicted class."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)), 1)
    return matrix


def per_class_scores(matrix: np.ndarray) -> list[dict[str, float]]:
    """Precision, recall, F1 and support of each class, from a confusion matrix.

    precision = TP / predicted, recall = TP / actual, F1 = their harmonic mean (0 when undefined).
    """
    true_positives = np.diag(matrix).astype(np.float64)
    predicted = matrix.sum(axis=0)
    actual = matrix.sum(axis=1)
    precision = np.divide(
        true_positives, predicted, out=np.zeros_like(true_positives), where=predicted > 0
    )
    recall = np.divide(true_positives, actual, out=np.zeros_like(true_positives), where=actual > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)
    return [
        {
            "class": index,
            "precision": float(precision[index]),
            "recall": float(recall[index]),
            "f1": float(f1[index]),
            "support": int(actual[index]),
        }
        for index in range(len(matrix))
    ]
