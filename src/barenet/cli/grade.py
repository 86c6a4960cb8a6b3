"""``barenet grade FILE``: grade every function of a learner's file named after an exercise."""

from __future__ import annotations

from pathlib import Path

import click

from barenet.cli.common import emit_json, stdout
from barenet.exercises import EXERCISES, grade_file
from barenet.exercises.__main__ import listing


@click.command("grade")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the grades as JSON.")
def grade_command(file: Path | None, as_json: bool) -> None:
    """Grade your answers to the exercises.

    FILE is a Python file of yours; every function in it named after an exercise
    (dense_backward, softmax, ...) is run on several inputs and graded OK or WRONG, with
    what is wrong and the classic mistake it looks like. Without FILE, list the exercises.
    Exits with 0 when every answer is right, 1 otherwise.
    """
    if file is None:
        stdout.print(listing())
        return
    graded = grade_file(file)
    if not graded:
        raise click.ClickException(
            f"{file} defines no function named after an exercise; name yours as one of "
            f"{', '.join(EXERCISES)} (run barenet grade without a file to list them)."
        )
    right = sum(result.passed for _, result in graded)
    if as_json:
        emit_json(
            [
                {"name": name, "passed": result.passed, "message": result.message,
                 "mistakes": list(result.mistakes)}
                for name, result in graded
            ]
        )  # fmt: skip
    else:
        for _, result in graded:
            stdout.print(str(result), end="\n\n")
        stdout.print(f"{right} of {len(graded)} right.")
    if right < len(graded):
        raise click.exceptions.Exit(1)
