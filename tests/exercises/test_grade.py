"""grade never raises on a learner's answer: exceptions, None, wrong types, shapes and NaN are
all WRONG with a sentence; its answers are deterministic and its pointers lead to real
sections of the guide."""

import re
from pathlib import Path

import numpy as np
import pytest

import barenet as bn
from barenet.exercises import EXERCISES, Result, grade
from barenet.exercises.spec import CHAPTERS

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide"


def right_relu(dy, x):
    return dy * (x > 0)


@pytest.mark.parametrize(
    ("answer", "phrase"),
    [
        (lambda dy, x: 1 / 0, "it raised ZeroDivisionError: division by zero"),
        (lambda dy, x: None, "it returned None (is a return statement missing?)"),
        (lambda dy, x: dy[:, :1], "dx has shape (1, 1), where shape (1, 5) was expected"),
        (lambda dy, x: dy * np.nan, "dx is NaN (not a number) in 5 of its 5 entries"),
        (lambda dy, x: dy / 0.0, "dx is inf in 5 of its 5 entries"),
        (lambda dy, x: list(dy), "dx is a list, where a NumPy array was expected"),
        (lambda dy, x: "dx", "dx is a str, where a NumPy array was expected"),
        (lambda dy, x: exit(1), "it raised SystemExit: 1"),
        (lambda dy, x: dy * 1j, "dx holds values of type complex128"),
        (lambda dy: dy, "it is called as relu_backward(dy, x)"),
        (lambda dy, x: dy * (x > 0) + 1e-3, "dx differs from barenet's textbook: at index"),
    ],
)
def test_a_wrong_answer_is_graded_wrong_with_a_sentence(answer, phrase):
    result = grade("relu_backward", answer)
    assert not result.passed
    assert str(result).startswith("WRONG relu_backward: On a batch of one sample, float64")
    assert phrase in result.message
    assert 'Reread chapter 2, "An activation"' in result.message


def test_tuples_of_the_wrong_length_or_type_are_wrong():
    three = grade("mse", lambda yhat, y: (0.0, yhat, y))
    assert "it returned 3 values, where 2 were expected: (loss, dyhat)" in three.message
    array = grade("mse", lambda yhat, y: 2 * (yhat - y) / yhat.size)
    assert (
        "it returned a NumPy array of shape (1, 3), where a tuple (loss, dyhat) was expected"
        in array.message
    )
    boxed = grade("mse", lambda yhat, y: (np.array([((yhat - y) ** 2).mean()]), yhat))
    assert "loss has shape (1,), where a single number was expected" in boxed.message


def test_something_that_is_not_a_function_is_wrong():
    result = grade("softmax", 3)
    assert (result.passed, str(result)) == (
        False,
        "WRONG softmax: expected a function, received 3.",
    )


def test_an_answer_that_changes_its_arguments_in_place_is_graded_on_copies():
    def relu_backward(dy, x):
        dy[x <= 0] = 0
        x[...] = 0  # would spoil every later check if the grader reused its arrays
        return dy

    assert grade("relu_backward", relu_backward).passed


def test_an_unknown_exercise_is_a_programming_error_that_lists_the_names():
    with pytest.raises(ValueError, match="Unknown exercise 'sofmax'. Expected one of: adam_step"):
        grade("sofmax", right_relu)


def test_the_grade_reads_as_ok_and_is_the_same_every_time():
    first, second = grade("relu_backward", right_relu), grade("relu_backward", right_relu)
    assert first == second
    assert isinstance(first, Result) and first.passed and first.mistakes == ()
    assert str(first).startswith("OK relu_backward: agrees with barenet's textbook and central")
    assert all(len(line) <= 80 for line in str(grade("softmax", np.exp)).splitlines())


def test_overflow_is_part_of_the_test():
    def softmax(z):
        return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)

    result = grade("softmax", softmax)
    assert "On scores near 1000" in result.message and "p is NaN" in result.message


def test_grading_leaves_the_engine_as_it_was():
    with bn.engine.using("numpy"):
        grade("dense_backward", lambda dy, x, w: (dy @ w.T, x.T @ dy, dy.sum(axis=0)))
        assert bn.engine.active() == "numpy"


def test_every_section_the_grader_points_to_is_a_heading_of_the_guide():
    sections = {exercise.section for exercise in EXERCISES.values()} | {
        mistake.section for exercise in EXERCISES.values() for mistake in exercise.mistakes
    }
    for section in sections:
        source = (GUIDE / f"{CHAPTERS[section.chapter]}.md").read_text()
        headings = re.findall(r"^#+ (.+)$", source, flags=re.MULTILINE)
        assert section.title is None or section.title in headings, str(section)
