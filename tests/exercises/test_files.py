"""grade_file imports a learner's file and grades each function named after an exercise; a file
that does not import gives one sentence; python -m barenet.exercises lists every exercise."""

import subprocess
import sys

import pytest

from barenet.exercises import EXERCISES, grade_file
from barenet.exercises.__main__ import listing

ANSWERS = """
import numpy as np


def helper(x):
    return x


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def relu_backward(dy, x):
    return dy * (x > 1)


def dense_forward(x, w, b):
    return x @ w + b
"""


def test_a_file_is_graded_function_by_function_in_its_order(tmp_path):
    path = tmp_path / "answers.py"
    path.write_text(ANSWERS)
    results = grade_file(path)
    assert [name for name, _ in results] == ["softmax", "relu_backward", "dense_forward"]
    assert [result.passed for _, result in results] == [True, False, True]
    assert results[1][1].mistakes == ("relu-derivative-above-1",)


def test_a_file_with_a_syntax_error_gives_one_sentence_with_its_line(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("import numpy as np\n\ndef softmax(z)\n    return z\n")
    [(name, result)] = grade_file(path)
    assert name == "broken.py" and not result.passed
    assert result.message.startswith("broken.py has a syntax error on line 3: ")


def test_a_file_that_raises_on_import_says_where(tmp_path):
    path = tmp_path / "raises.py"
    path.write_text("import numpy as np\n\nW = np.zeros(3) @ undefined_name\n")
    [(_, result)] = grade_file(path)
    assert result.message == (
        "Importing raises.py failed (line 3): it raised NameError: "
        "name 'undefined_name' is not defined."
    )


def test_a_file_without_exercises_gives_no_results_and_a_missing_one_raises(tmp_path):
    path = tmp_path / "empty.py"
    path.write_text("from numpy import exp as softmax\n\ndef helper():\n    pass\n")
    assert grade_file(path) == []
    with pytest.raises(FileNotFoundError, match="No such file"):
        grade_file(tmp_path / "absent.py")


def test_the_listing_names_every_exercise_at_80_columns():
    text = listing()
    assert all(len(line) <= 80 for line in text.splitlines())
    for name, exercise in EXERCISES.items():
        assert f"{name}{exercise.signature}" in text
    assert "adam_step(p, g, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-8)" in text


def test_python_m_barenet_exercises_prints_the_listing():
    run = subprocess.run(
        [sys.executable, "-m", "barenet.exercises"], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == listing().strip()
