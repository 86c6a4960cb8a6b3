"""``barenet predict``: read the digit in image files, as text or JSON."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import numpy as np
from rich.markup import escape

from barenet.atomic import check_writable
from barenet.cli.common import emit_json, stderr, stdout, unique_name
from barenet.cli.options import json_option, model_option
from barenet.digits.data import load_digit_images
from barenet.digits.imaging import IMAGE_SUFFIXES, ImageError, save_preview_png
from barenet.digits.predictions import check_format, predictions_text, write_predictions
from barenet.digits.reading import read_digit
from barenet.digits.shipped import open_model
from barenet.model import Sequential

DATA_SUFFIXES = (".csv", ".csv.gz", ".npz")


def predict_data_set(
    model: Sequential, model_name: str, path: str, out: str | None, as_json: bool
) -> None:
    """Every image of a data set: Kaggle's ``ImageId,Label`` CSV (or JSON) to ``out``, or to
    standard output without it, so ``> submission.csv`` works too."""
    images, what = load_digit_images(path)
    probabilities = model.predict_proba(images)
    ids = list(range(1, len(images) + 1))  # Kaggle's ImageId counts from 1
    if out is None:
        sys.stdout.write(predictions_text(ids, probabilities, ".json" if as_json else ".csv"))
        return
    written = write_predictions(out, ids, probabilities)
    layout = "ImageId,Label" if written.suffix.lower() == ".csv" else "JSON"
    stderr.print(f"Predicted {what} with {model_name}: wrote {written} ({layout})")
    if as_json:
        emit_json({"out": str(written), "images": len(images), "model": model_name})


def expand_paths(paths: tuple[str, ...]) -> list[Path]:
    """Files as given; folders become their image files, sorted (an empty folder stays a
    folder, which is then an error of its own)."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            files += images or [path]
        else:
            files.append(path)
    return files


def preview_name(path: Path, taken: set[str]) -> str:
    """``NAME.28x28.png`` for ``NAME.png``; ``NAME-2.28x28.png`` and so on when ``a.png`` and
    ``a.jpg`` (or two folders' ``a.png``) would write the same preview."""
    return unique_name(path.stem, ".28x28.png", taken)


def read_file(
    model: Sequential, path: Path, top: int, preview: Path | None, check_digit: bool = True
) -> dict[str, Any]:
    """The JSON entry of one file: its digit, probabilities and top guesses (and, with
    ``check_digit``, whether it is a digit at all), or its error; the 28x28 image the network
    saw is written to ``preview`` if given."""
    if path.is_dir():
        return {"file": str(path), "error": f"{path} is a folder with no image files in it."}
    if path.name.lower().endswith(DATA_SUFFIXES):
        return {
            "file": str(path),
            "error": f"{path} is a data set, not an image: barenet predict --data {path} "
            "--out submission.csv predicts all of its images.",
        }
    try:
        reading = read_digit(model, path, check_digit=check_digit)
    except ImageError as error:
        return {"file": str(path), "error": str(error)}
    if preview is not None:
        save_preview_png(reading.inputs[0], preview)
    probabilities = reading.probabilities[0]
    entry = {
        "file": str(path),
        "digit": int(reading.digits[0]),
        "probabilities": [round(float(p), 6) for p in probabilities],
        "top": [
            {"digit": int(i), "probability": round(float(probabilities[i]), 6)}
            for i in reading.top(top)[0]
        ],
    }
    if reading.is_digit is not None:
        entry["is_digit"] = bool(reading.is_digit[0])
    return entry


def result_line(result: dict[str, Any]) -> str:
    """One file's reading as a line of rich markup: its digit and top guesses, or "not a
    digit" with the closest one."""
    name = escape(result["file"])
    if result.get("is_digit") is False:
        closest = result["top"][0]
        guess = f"{closest['digit']}, {closest['probability']:.0%}"
        return f"{name}: [bold]not a digit[/] (closest: {guess})"
    guesses = "  ".join(f"{g['digit']} {g['probability']:6.1%}" for g in result["top"])
    return f"{name}: [bold]{result['digit']}[/]   ({guesses})"


@click.command("predict")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--data",
    "data_path",
    metavar="PATH",
    help="Predict a data set instead of image files: every row of a CSV (Kaggle's test.csv), "
    "or the test split of an IDX folder, .npz or DIGIT/NAME.png folder.",
)
@model_option
@click.option(
    "--top",
    type=click.IntRange(1, 10),
    default=3,
    show_default=True,
    help="How many guesses to show.",
)
@json_option
@click.option(
    "--save-preview",
    type=click.Path(file_okay=False),
    help="Write the 28x28 image the network saw here.",
)
@click.option(
    "--digit-check/--no-digit-check",
    default=True,
    show_default=True,
    help="Say 'not a digit' for letters, shapes, scribbles and smudges (the digit detector); "
    "--no-digit-check always names the closest digit.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Write the predictions to FILE.csv (with --data: Kaggle's ImageId,Label) or FILE.json.",
)
def predict_command(
    paths: tuple[str, ...],
    data_path: str | None,
    model_path: str | None,
    top: int,
    as_json: bool,
    save_preview: str | None,
    digit_check: bool,
    out: str | None,
) -> None:
    """Read the digit in image files, or in every image of --data.

    PATHS are PNG, JPEG, BMP, GIF, WebP or TIFF files of any size and colours.
    """
    if bool(paths) == bool(data_path):
        raise click.UsageError("Give image files or folders, or --data PATH (one of the two).")
    if out:
        check_format(out)  # before the model loads or anything is read
        check_writable(out)
    model, model_name = open_model(model_path)
    if data_path:
        predict_data_set(model, model_name.name, data_path, out, as_json)
        return
    taken: set[str] = set()
    results = [
        read_file(
            model,
            path,
            top,
            Path(save_preview) / preview_name(path, taken) if save_preview else None,
            digit_check,
        )
        for path in expand_paths(paths)
    ]
    if out:
        read = [result for result in results if "error" not in result]
        probabilities = np.array([result["probabilities"] for result in read]).reshape(
            len(read), -1
        )
        written = write_predictions(out, [result["file"] for result in read], probabilities)
        stderr.print(f"Wrote {len(read)} prediction(s) to {written}")
    if as_json:
        emit_json(results)
    else:
        for result in results:
            if "error" in result:
                stderr.print(f"[red]Error[/]: {escape(result['error'])}", markup=True)
                continue
            stdout.print(result_line(result), markup=True)
    if any("error" in result for result in results):
        sys.exit(1)
