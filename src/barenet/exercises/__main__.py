"""``python -m barenet.exercises``: list the exercises, with their signatures, what each
returns, and the guide chapter that teaches it, at 80 columns."""

from __future__ import annotations

import sys
import textwrap

from barenet.exercises import EXERCISES

WIDTH = 80
INTRODUCTION = """\
barenet's exercises. Write each function in NumPy, samples along the first axis,
then grade it:

    from barenet.exercises import grade
    print(grade("relu_backward", relu_backward))

or grade every one a file defines: barenet grade answers.py"""


def listing() -> str:
    """The introduction, then each exercise: its call and chapter on one line, then what it
    computes and returns, indented."""
    blocks = [INTRODUCTION]
    for exercise in EXERCISES.values():
        call = f"{exercise.name}{exercise.signature}"
        chapter = f"chapter {exercise.section.chapter}"
        lines = [f"{call}{chapter:>{max(WIDTH - len(call), len(chapter) + 2)}}"]
        for text in (exercise.description, f"returns {exercise.returns}"):
            lines += textwrap.wrap(text, WIDTH, initial_indent="    ", subsequent_indent="      ")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def main() -> None:
    try:
        print(listing())
    except BrokenPipeError:  # `python -m barenet.exercises | head` stopped reading: fine
        sys.stderr.close()


if __name__ == "__main__":
    main()
