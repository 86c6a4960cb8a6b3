"""``barenet predict``: read the digit in image files, as text or JSON."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from barenet.cli.common import emit_json, stderr, stdout
from barenet.cli.options import json_option, model_option
from barenet.digits.imaging import IMAGE_SUFFIXES, ImageError, save_preview_png
from barenet.digits.reading import read_digit
from barenet.digits.shipped import open_model
from barenet.model import Sequential


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
    name, number = f"{path.stem}.28x28.png", 1
    while name in taken:
        number += 1
        name = f"{path.stem}-{number}.28x28.png"
    taken.add(name)
    return name


def read_file(model: Sequential, path: Path, top: int, preview: Path | None) -> dict[str, Any]:
    """The JSON entry of one file: its digit, probabilities and top guesses, or its error;
    the 28x28 image the network saw is written to ``preview`` if given."""
    if path.is_dir():
        return {"file": str(path), "error": f"{path} is a folder with no image files in it."}
    try:
        reading = read_digit(model, path)
    except ImageError as error:
        return {"file": str(path), "error": str(error)}
    if preview is not None:
        save_preview_png(reading.inputs[0], preview)
    probabilities = reading.probabilities[0]
    return {
        "file": str(path),
        "digit": int(reading.digits[0]),
        "probabilities": [round(float(p), 6) for p in probabilities],
        "top": [
            {"digit": int(i), "probability": round(float(probabilities[i]), 6)}
            for i in reading.top(top)[0]
        ],
    }


@click.command("predict")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
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
def predict_command(
    paths: tuple[str, ...],
    model_path: str | None,
    top: int,
    as_json: bool,
    save_preview: str | None,
) -> None:
    """Read the digit in each image file (PNG, JPEG, BMP, GIF, WebP; any size or colours)."""
    model, _ = open_model(model_path)
    taken: set[str] = set()
    results = [
        read_file(
            model,
            path,
            top,
            Path(save_preview) / preview_name(path, taken) if save_preview else None,
        )
        for path in expand_paths(paths)
    ]
    if as_json:
        emit_json(results)
    else:
        for result in results:
            if "error" in result:
                stderr.print(f"[red]Error[/]: {escape(result['error'])}", markup=True)
                continue
            guesses = "  ".join(f"{g['digit']} {g['probability']:6.1%}" for g in result["top"])
            line = f"{escape(result['file'])}: [bold]{result['digit']}[/]   ({guesses})"
            stdout.print(line, markup=True)
    if any("error" in result for result in results):
        sys.exit(1)
