"""``barenet evaluate`` and ``barenet predict``: measure a model, and read digits from images."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import numpy as np
from rich.table import Table

from barenet.cli import describe_data, emit_json, stderr, stdout
from barenet.datasets import load_data
from barenet.errors import ImageError
from barenet.shipped import DEFAULT_MODEL, SHIPPED_MODELS, open_model, resolve_model_path

MODEL_HELP = (
    f"Model: a shipped one ({', '.join(SHIPPED_MODELS)}; default {DEFAULT_MODEL}) or a model file."
)


@click.command("evaluate")
@click.argument("model_argument", metavar="[MODEL]", required=False)
@click.option("--model", "model_path", help=MODEL_HELP)
@click.option(
    "--data",
    "data_path",
    type=click.Path(),
    help="IDX folder, Keras .npz or CSV (default: the shipped MNIST).",
)
@click.option("--json", "as_json", is_flag=True, help="Print only JSON on stdout.")
def evaluate_command(
    model_argument: str | None, model_path: str | None, data_path: str | None, as_json: bool
) -> None:
    """Accuracy, loss, per-class precision/recall/F1 and the confusion matrix on the test split.

    MODEL (or --model) is a shipped model's name or a model file; the best shipped model if
    omitted.
    """
    from barenet.metrics import confusion_matrix, per_class_scores

    if model_argument and model_path:
        raise click.UsageError("Give the model once: as MODEL or as --model, not both.")
    model_path = model_argument or model_path
    model = open_model(model_path)
    data = load_data(data_path)
    if model.loss is None:
        model.compile("cross_entropy")
    scores = model.evaluate(data.x_test, data.y_test)
    predicted = model.predict_classes(data.x_test)
    classes = model.predict(data.x_test[:1]).shape[1]
    matrix = confusion_matrix(data.y_test, predicted, classes)
    per_class = per_class_scores(matrix)
    if as_json:
        emit_json({**scores, "confusion_matrix": matrix.tolist(), "per_class": per_class})
        return
    describe_data(data, stderr)
    stdout.print(f"Model: {resolve_model_path(model_path)}")
    stdout.print(
        f"Accuracy {scores['accuracy']:.2%}  loss {scores['loss']:.4f}  "
        f"on {len(data.x_test):,} test images\n"
    )
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
        *map(str, range(classes)),
        title="Confusion matrix (rows: true digit, columns: predicted)",
    )
    for index, counts in enumerate(matrix):
        confusion.add_row(
            str(index),
            *(
                f"[bold]{c}[/]" if i == index else (str(c) if c else "·")
                for i, c in enumerate(counts)
            ),
        )
    stdout.print(confusion)


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def expand_paths(paths: tuple[str, ...]) -> list[Path]:
    """Files as given; folders become their image files, sorted."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            files.append(path)
    return files


@click.command("predict")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--model", "model_path", help=MODEL_HELP)
@click.option(
    "--top",
    type=click.IntRange(1, 10),
    default=3,
    show_default=True,
    help="How many guesses to show.",
)
@click.option("--json", "as_json", is_flag=True, help="Print only JSON on stdout.")
@click.option(
    "--save-preview",
    type=click.Path(file_okay=False),
    help="Write the 28x28 image the network saw here.",
)
def predict_command(
    paths: tuple[str, ...],
    model_path: str | None,
    top: int,
    as_json: bool,
    save_preview: str | None,
) -> None:
    """Read the digit in each image file (PNG, JPEG, BMP, GIF, WebP; any size or colours)."""
    from barenet.imaging import load_digit, save_preview_png

    model = open_model(model_path)
    results: list[dict[str, Any]] = []
    for path in expand_paths(paths):
        try:
            digit = load_digit(path)
        except ImageError as error:
            results.append({"file": str(path), "error": str(error)})
            continue
        probabilities = model.predict_proba(digit[np.newaxis])[0]
        order = np.argsort(probabilities)[::-1][:top]
        results.append(
            {
                "file": str(path),
                "digit": int(order[0]),
                "probabilities": [round(float(p), 6) for p in probabilities],
                "top": [
                    {"digit": int(i), "probability": round(float(probabilities[i]), 6)}
                    for i in order
                ],
            }
        )
        if save_preview:
            save_preview_png(digit, Path(save_preview) / f"{path.stem}.28x28.png")
    if as_json:
        emit_json(results)
    else:
        for result in results:
            if "error" in result:
                stderr.print(f"[red]error[/]: {result['error']}")
                continue
            guesses = "  ".join(f"{g['digit']} {g['probability']:6.1%}" for g in result["top"])
            stdout.print(f"{result['file']}: [bold]{result['digit']}[/]   ({guesses})")
    if any("error" in result for result in results):
        sys.exit(1)
