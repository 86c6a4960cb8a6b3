"""Graded exercises: write a piece of backpropagation yourself, and learn whether it is right.

Each exercise is a function to write (``EXERCISES`` lists them; ``python -m barenet.exercises``
prints them). ``grade`` runs your function on several inputs (a batch of one, non-square shapes,
float32 and float64, scores large enough to overflow) and compares it with barenet's textbook
code and, for gradients, with central differences. When it is wrong, the result says what
differs, names the classic mistake when it recognises one, and points to the guide section to
reread::

    from barenet.exercises import grade

    def relu_backward(dy, x):
        return dy * (x > 0)

    print(grade("relu_backward", relu_backward))   # OK relu_backward: ...

``grade_file("my_answers.py")`` grades every function of a file named after an exercise.
"""

from barenet.exercises.grading import Result, grade, grade_file
from barenet.exercises.registry import EXERCISES, get_exercise

__all__ = ["EXERCISES", "Result", "get_exercise", "grade", "grade_file"]
