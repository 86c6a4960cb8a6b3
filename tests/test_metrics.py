"""Metrics against counts made by hand."""

import numpy as np
import pytest

from barenet.metrics import confusion_matrix, count_correct, per_class_scores


def test_count_correct_for_class_ids_rows_and_one_output():
    scores = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    assert count_correct(scores, np.array([1, 0, 0])) == 2
    assert count_correct(scores, np.eye(2)[[1, 1, 1]]) == 2
    single = np.array([[0.2], [0.7], [-0.1]])
    assert count_correct(single, np.array([0, 1, 1])) == 2
    assert count_correct(single, np.array([0, 1, 1]), threshold=-0.5) == 2  # all class 1


def test_confusion_matrix_rows_are_the_true_class():
    matrix = confusion_matrix(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 2, 0]), 3)
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])


def test_precision_recall_and_f1_by_hand():
    matrix = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    scores = per_class_scores(matrix)
    assert scores[0] == {"class": 0, "precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert scores[1]["precision"] == 0.5 and scores[1]["recall"] == 1.0
    assert scores[1]["f1"] == pytest.approx(2 / 3)
    assert scores[2]["precision"] == 1.0 and scores[2]["recall"] == pytest.approx(2 / 3)
    empty = per_class_scores(np.zeros((2, 2), np.int64))
    assert empty[0] == {"class": 0, "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
