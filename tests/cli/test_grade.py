"""barenet grade FILE: every function of a learner's file named after an exercise, graded."""

import json
from pathlib import Path

from barenet.exercises import EXERCISES
from tests.helpers import invoke

SOLUTIONS = Path(__file__).resolve().parents[2] / "docs" / "guide" / "solutions.py"
ANSWERS = """
import numpy as np

def relu_backward(dy, x):
    return dy * (x > 1)

def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
"""


def test_the_reference_solutions_all_pass():
    result = invoke("grade", SOLUTIONS)
    assert result.exit_code == 0, result.output
    assert f"{len(EXERCISES)} of {len(EXERCISES)} right." in result.stdout
    assert "WRONG" not in result.stdout


def test_a_wrong_answer_is_named_and_exits_1(tmp_path):
    answers = tmp_path / "answers.py"
    answers.write_text(ANSWERS)
    result = invoke("grade", answers)
    assert result.exit_code == 1
    assert result.stdout.startswith("WRONG relu_backward:")
    assert "(x > 1)" in result.stdout and "OK softmax:" in result.stdout
    assert result.stdout.rstrip().endswith("1 of 2 right.")


def test_json_gives_each_grade_and_the_mistakes_recognised(tmp_path):
    answers = tmp_path / "answers.py"
    answers.write_text(ANSWERS)
    result = invoke("grade", answers, "--json")
    assert result.exit_code == 1
    grades = json.loads(result.stdout)
    assert [g["name"] for g in grades] == ["relu_backward", "softmax"]
    assert [g["passed"] for g in grades] == [False, True]
    assert grades[0]["mistakes"] and not grades[1]["mistakes"]


def test_without_a_file_it_lists_the_exercises():
    result = invoke("grade")
    assert result.exit_code == 0
    for name in EXERCISES:
        assert name in result.stdout


def test_a_file_without_exercises_or_missing_is_one_sentence(tmp_path):
    empty = tmp_path / "notes.py"
    empty.write_text("x = 1\n")
    result = invoke("grade", empty)
    assert result.exit_code == 1 and "defines no function named after an exercise" in result.output
    result = invoke("grade", tmp_path / "missing.py")
    assert result.exit_code == 1 and "No such file" in result.output
    assert "Traceback" not in result.output


def test_a_file_that_does_not_import_is_graded_wrong(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("def softmax(z):\n    return (\n")
    result = invoke("grade", broken)
    assert result.exit_code == 1 and "syntax error on line" in result.stdout
