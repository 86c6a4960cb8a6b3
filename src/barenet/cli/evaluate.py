"""``barenet evaluate``: accuracy, loss, per-class scores and the confusion matrix of a model."""

from __future__ import annotations

import click
import numpy as np
from rich.table import Table
from rich.text import Text

from barenet.cli.common import describe_data, emit_json, stderr, stdout
from barenet.cli.options import MODEL_HELP, data_option, json_option
from barenet.digits.data import load_digit_data
from barenet.digits.shipped import open_model
from barenet.metrics import confusion_matrix, per_class_scores


@click.command("evaluate")
@click.argument("model_argument", metavar="[MODEL]", required=False)
@click.option("--model", "model_path", help=MODEL_HELP)
@data_option(" to test on")
@json_option
def evaluate_command(
    model_argument: str | None, model_path: str | None, data_path: str | None, as_json: bool
) -> None:
    """Measure a model on the test split.

    Prints its accuracy, loss, per-class precision/recall/F1 and confusion matrix. MODEL (or
    --model) is a shipped model's name or a model file; the best shipped model if omitted.
    """
    if model_argument and model_path:
        raise click.UsageError("Give the model once: as MODEL or as --model, not both.")
    model, path = open_model(model_argument or model_path)
    data = load_digit_data(data_path)
    if model.loss is None:
        model.compile("cross_entropy")
    scores = model.evaluate(data.x_test, data.y_test)
    predicted = model.predict_classes(data.x_test)
    matrix = confusion_matrix(data.y_test, predicted, model.output_size(data.x_test.shape[1:]))
    per_class = per_class_scores(matrix)
    if as_json:
        emit_json({**scores, "confusion_matrix": matrix.tolist(), "per_class": per_class})
        return
    describe_data(data, stderr)
    stdout.print(f"Model: {path}")
    stdout.print(
        f"Accuracy {scores['accuracy']:.2%}  loss {scores['loss']:.4f}  "
        f"on {len(data.x_test):,} test images\n"
    )
    _print_tables(per_class, matrix)


def _print_tables(per_class: list[dict[str, float]], matrix: np.ndarray) -> None:
    table = Table("class", "precision", "recall", "F1", "support", title="Per class")
    for row in per_class:
        table.add_row(
            str(row["class"]),
            f"{row['precision']:.3f}",
            f"{row['recall']:.3f}",
            f"{row['f1']:.3f}",
            str(row["support"]),
        )
    stdout.print(table)
    confusion = Table(
        "true",
        *map(str, range(len(matrix))),
        title="Confusion matrix (rows: true digit, columns: predicted)",
    )
    for index, counts in enumerate(matrix):
        confusion.add_row(
            str(index),
            *(
                Text(str(c), style="bold") if i == index else (str(c) if c else "·")
                for i, c in enumerate(counts)
            ),
        )
    stdout.print(confusion)
