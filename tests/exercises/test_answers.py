"""The grader against known answers: every reference solution in docs/guide/solutions.py passes,
and every wrong answer in mistakes.py fails with its classic mistake named."""

from pathlib import Path

import numpy as np
import pytest

from barenet.exercises import EXERCISES, grade, grade_file
from tests.exercises.mistakes import WRONG

SOLUTIONS = Path(__file__).resolve().parents[2] / "docs" / "guide" / "solutions.py"


@pytest.fixture(scope="module")
def graded_solutions():
    return grade_file(SOLUTIONS)


def test_the_solutions_answer_every_exercise(graded_solutions):
    assert sorted(name for name, _ in graded_solutions) == sorted(EXERCISES)


@pytest.mark.parametrize("name", list(EXERCISES))
def test_every_solution_passes(graded_solutions, name):
    result = dict(graded_solutions)[name]
    assert result.passed, str(result)
    assert str(result).startswith(f"OK {name}: agrees with {EXERCISES[name].oracle}")


@pytest.mark.parametrize(
    ("exercise", "function", "key", "phrase"),
    WRONG,
    ids=[function.__name__ for _, function, _, _ in WRONG],
)
def test_every_wrong_answer_fails_naming_its_mistake(exercise, function, key, phrase):
    result = grade(exercise, function)
    assert not result.passed
    assert str(result).startswith(f"WRONG {exercise}: On ")
    assert key in result.mistakes, result.message
    assert phrase in result.message
    assert "Classic mistake in" in result.message and "Reread chapter" in result.message
    assert all(len(line) <= 80 for line in str(result).splitlines()), str(result)


def test_every_mistake_the_grader_knows_has_a_wrong_answer():
    known = {(name, m.key) for name, exercise in EXERCISES.items() for m in exercise.mistakes}
    covered = {(exercise, key) for exercise, _, key, _ in WRONG}
    assert known - covered == set()
    assert covered - known == set()


def test_a_wrong_answer_with_several_mistakes_names_each():
    def dense_backward(dy, x, w):
        return dy @ w.T, dy.T @ x, dy.sum()  # dw transposed, db summed over every axis

    result = grade("dense_backward", dense_backward)
    assert set(result.mistakes) == {"weight-gradient-transposed", "bias-summed-over-every-axis"}


def test_on_a_batch_of_one_the_mistake_that_explains_every_input_is_named():
    # 2 (yhat - y) is also 2 (yhat - y) / N for N = 1: the grader names the mistake made.
    result = grade("mse", lambda yhat, y: (((yhat - y) ** 2).mean(), 2 * (yhat - y)))
    assert result.mistakes == ("gradient-not-averaged",)


def test_a_mistake_made_in_several_outputs_is_named_once_for_them_all():
    def center_of_mass(image):
        rows, cols = np.indices(image.shape)
        return (cols * image).sum() / image.sum(), (rows * image).sum() / image.sum()

    result = grade("center_of_mass", center_of_mass)
    assert result.mistakes == ("row-and-column-swapped",)
    assert result.message.count("Classic mistake in") == 1
    assert "Classic mistake in row and col: the row and the column swapped" in result.message
