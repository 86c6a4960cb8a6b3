"""``write_report``: every picture of a trained model, as PNGs and one self-contained HTML page.

The figures come from ``plots``; this module chooses what to draw (which mistakes, which layer),
reads the test split with the model, and assembles ``report.html`` with the images embedded, so
the page can be mailed or opened anywhere.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from barenet.atomic import atomic_write_text, check_writable
from barenet.conv import Conv2D
from barenet.datasets import Dataset
from barenet.digits.reading import DigitReadings, read_digits
from barenet.ensemble import Ensemble
from barenet.layers import Dense
from barenet.metrics import confusion_matrix
from barenet.model import Sequential
from barenet.report import plots

MISTAKES_SHOWN = 24


@dataclass
class ReportFigure:
    file: str  # name of the PNG inside the report folder
    title: str
    caption: str


def learning_history(model: Sequential) -> tuple[dict[str, list[Any]], str] | None:
    """The per-epoch history to draw and what it is of: the model's own, or for an ensemble
    (which was never trained as a whole) its first member's, kept in its metadata."""
    if model.history is not None and model.history.history.get("loss"):
        return model.history.history, ""
    members = model.metadata.get("members")
    if not isinstance(members, list) or not members or not isinstance(members[0], dict):
        return None
    history = members[0].get("history")
    numbers = (int, float, type(None))  # a file's metadata is checked before it is drawn
    if (
        isinstance(history, dict)
        and history.get("loss")
        and all(
            isinstance(values, list) and all(isinstance(v, numbers) for v in values)
            for values in history.values()
        )
    ):
        return history, f" (member 1 of {len(members)}, {members[0].get('file')})"
    return None


def final_test(model: Sequential) -> dict[str, float]:
    """The test loss and accuracy that ``barenet train`` measured on the finished model (kept
    in its metadata); empty for a model saved without them."""
    metrics = model.metadata.get("metrics")
    if not isinstance(metrics, dict):
        return {}
    scores = {metric: metrics.get(f"test_{metric}") for metric in ("loss", "accuracy")}
    return {
        metric: float(value)
        for metric, value in scores.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    }


def first_weights(model: Sequential) -> np.ndarray | None:
    """The weights of the first Dense or Conv2D layer (None if the model has neither); for an
    ensemble, its first member's."""
    layers = list(model.layers)
    while layers:
        layer = layers.pop(0)
        if isinstance(layer, (Dense, Conv2D)):
            return layer.params["weight"]
        if isinstance(layer, Ensemble):
            layers = [*layer.members[0], *layers]
    return None


def write_report(model: Sequential, data: Dataset, out_dir: str | Path, name: str) -> Path:
    """Draw every figure of ``model`` on ``data``'s test split into ``out_dir``; returns the path
    of ``report.html``. Raises ValueError for a model that carries no training history."""
    if learning_history(model) is None:
        raise ValueError(
            f"{name} carries no training history, so its learning curves cannot be drawn. "
            "Models saved by `barenet train` (and the shipped ones) have it; retrain this one "
            "with barenet to get a report."
        )
    out = Path(out_dir)
    page = out / "report.html"
    check_writable(page)  # makes the folder, or says why it cannot, before anything is drawn
    labels = np.asarray(data.y_test).astype(np.int64)
    readings = read_digits(model, np.asarray(data.x_test))
    matrix = confusion_matrix(labels, readings.digits, readings.probabilities.shape[1])
    accuracy = float(np.trace(matrix) / len(labels))
    figures = _figures(model, name, readings, labels, matrix)
    for figure_info, figure in figures:
        plots.save_png(figure, out / figure_info.file)
    measured = {"test_accuracy": accuracy, "test_images": len(labels), "data": data.source}
    atomic_write_text(page, _html(model, name, measured, [info for info, _ in figures], out))
    return page


# file -> (title, caption) of each figure, in page order; {images} is the test-set size.
FIGURE_TEXT = {
    "learning-curves.png": (
        "Learning curves",
        "Loss and accuracy after each epoch, from the history saved with the model: on the "
        "training data, and on validation data when the run held some out (--validation-split); "
        "a star marks the test set's score once training ended. Training figures are measured "
        "while the weights change (and with dropout or augmentation on), so they can sit below "
        "the others.",
    ),
    "confusion-matrix.png": (
        "Confusion matrix",
        "Counts on the {images:,} test images; colour is the share of each true digit's "
        "images, so mistakes stand out.",
    ),
    "mistakes.png": (
        "Worst mistakes",
        "The misclassified test images the model was most sure about.",
    ),
    "per-class-accuracy.png": (
        "Accuracy per digit",
        "The share of each digit's test images read correctly (its recall).",
    ),
    "first-layer.png": (
        "First layer",
        "What the first layer responds to: blue weights excite, red inhibit.",
    ),
    "calibration.png": (
        "Calibration",
        "Whether the model's confidence can be trusted: on the diagonal, predictions made with "
        "90% confidence are right 90% of the time.",
    ),
}


def _figures(
    model: Sequential,
    name: str,
    readings: DigitReadings,
    labels: np.ndarray,
    matrix: np.ndarray,
) -> list[tuple[ReportFigure, Any]]:
    """Each figure of the report with its file name, title and caption, in page order."""
    found = learning_history(model)
    assert found is not None
    history, whose = found
    accuracy = np.trace(matrix) / len(labels)
    curves = plots.learning_curves(
        history, f"Learning curves: {name}{whose}", None if whose else final_test(model)
    )
    drawn = {
        "learning-curves.png": curves,
        "confusion-matrix.png": plots.confusion_matrix(
            matrix, f"Confusion matrix ({accuracy:.2%} correct)"
        ),
        "mistakes.png": _mistakes_figure(readings, labels),
        "per-class-accuracy.png": plots.per_class_accuracy(matrix),
    }
    weights = first_weights(model)
    if weights is not None and (weights.ndim == 4 or weights.shape[0] == 784):
        drawn["first-layer.png"] = plots.first_layer(weights)
    drawn["calibration.png"] = plots.calibration(readings.probabilities, labels)
    return [
        (ReportFigure(file, title, caption.format(images=len(labels))), drawn[file])
        for file, (title, caption) in FIGURE_TEXT.items()
        if file in drawn
    ]


def _mistakes_figure(readings: DigitReadings, labels: np.ndarray) -> Any:
    predicted = readings.digits
    wrong = np.flatnonzero(predicted != labels)
    confidence = readings.confidence[wrong]
    order = np.argsort(-confidence, kind="stable")[:MISTAKES_SHOWN]
    worst = wrong[order]
    return plots.mistakes(
        readings.inputs[worst].reshape(len(worst), 28, 28),  # every source holds 784 pixels
        labels[worst],
        predicted[worst],
        confidence[order],
        title=f"Most confident mistakes ({len(wrong)} in all)",
    )


def _summary_rows(model: Sequential, name: str, measured: dict[str, Any]) -> list[tuple[str, str]]:
    """The table at the top of the page: what the model is and how well it reads."""
    meta = model.metadata
    rows = [
        ("Model", name),
        ("Preset", meta.get("preset") or "-"),
        ("Layers", " → ".join(type(layer).__name__ for layer in model.layers)),
        ("Parameters", f"{sum(p.size for _, p, _ in model.parameters()):,} ({model.dtype})"),
        ("Trained on", (meta.get("data") or {}).get("source", "-")),
        ("Epochs", str(len(model.history.epoch)) if model.history else "-"),
        (
            "Test accuracy now",
            f"{measured['test_accuracy']:.2%} on {measured['test_images']:,} "
            f"images ({measured['data']})",
        ),
    ]
    recorded = (meta.get("metrics") or {}).get("test_accuracy")
    if recorded is not None:
        rows.append(("Test accuracy when saved", f"{recorded:.2%}"))
    return rows


def _html(
    model: Sequential,
    name: str,
    measured: dict[str, Any],
    figures: list[ReportFigure],
    folder: Path,
) -> str:
    escape = html.escape
    table = "\n".join(
        f"<tr><th>{escape(key)}</th><td>{escape(str(value))}</td></tr>"
        for key, value in _summary_rows(model, name, measured)
    )
    sections = []
    for figure in figures:
        data = base64.b64encode((folder / figure.file).read_bytes()).decode("ascii")
        sections.append(
            f"<section><h2>{escape(figure.title)}</h2><p>{escape(figure.caption)}</p>"
            f'<img src="data:image/png;base64,{data}" alt="{escape(figure.title)}"></section>'
        )
    config = json.dumps(model.metadata.get("config") or {}, indent=2)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>barenet report: {escape(name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1050px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }}
table {{ border-collapse: collapse; }}
th, td {{ text-align: left; padding: .25em 1em .25em 0; vertical-align: top; }}
img {{ max-width: 100%; height: auto; border: 1px solid #ddd; }}
section {{ margin: 2.5em 0; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; }}
</style>
</head>
<body>
<h1>barenet report: {escape(name)}</h1>
<table>
{table}
</table>
{"".join(sections)}
<details><summary>Training configuration</summary><pre>{escape(config)}</pre></details>
</body>
</html>
"""
