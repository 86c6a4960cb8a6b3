"""Pictures of a model and its training, drawn with matplotlib (an optional extra).

Each function returns a ``matplotlib.figure.Figure`` built without pyplot, so nothing needs a
display and nothing global changes; ``save_png`` writes one atomically. One colour per data split
throughout: train blue, validation orange, test green.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from barenet.atomic import atomic_open

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SPLIT_COLOURS = {"train": "#1f77b4", "validation": "#ff7f0e", "test": "#2ca02c"}
INSTALL_HINT = "Plots need matplotlib: pip install 'barenet[plot]' (or pip install matplotlib)."


def new_figure(width: float, height: float) -> Figure:
    """A figure with constrained layout (no clipped labels), detached from pyplot."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(INSTALL_HINT) from None
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def save_png(figure: Figure, path: str | Path) -> Path:
    """Render ``figure`` to a PNG at ``path``, atomically; returns the path."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    path = Path(path)
    with atomic_open(path) as handle:
        handle.write(buffer.getvalue())
    return path


# Said under the curves when a history holds no held-out figure per epoch.
TRAINING_ONLY = (
    "Only the training data was measured each epoch: train with --validation-split to see "
    "validation beside it."
)


def learning_curves(
    history: Mapping[str, Sequence[float | None]],
    title: str = "",
    final_test: Mapping[str, float | None] | None = None,
) -> Figure:
    """Loss and accuracy per epoch, for every split the history holds (train, validation, test).

    ``final_test`` (``{"loss": ..., "accuracy": ...}``), the scores of the finished model on the
    test set, is drawn as one point after the last epoch when the history has no test curve of
    its own. A history with no held-out curve says so under the figure rather than leave a
    reader to take the training curve for one.
    """
    figure = new_figure(10, 4)
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    epochs = np.arange(1, len(history.get("loss", [])) + 1)
    curves = {
        (split, metric): _measured(epochs, history.get(prefix + metric))
        for split, prefix in (("train", ""), ("validation", "val_"), ("test", "test_"))
        for metric in ("loss", "accuracy")
    }
    for axes, metric, label in (
        (loss_axes, "loss", "Loss"),
        (accuracy_axes, "accuracy", "Accuracy"),
    ):
        scale = 100 if metric == "accuracy" else 1
        for (split, curve_metric), (xs, ys) in curves.items():
            if curve_metric != metric or not xs:
                continue
            axes.plot(
                xs,
                [scale * y for y in ys],
                marker="o" if len(xs) <= 30 else None,
                markersize=3,
                color=SPLIT_COLOURS[split],
                label=split,
            )
        final = (final_test or {}).get(metric)
        if final is not None and len(epochs) and not curves["test", metric][0]:
            shown = f"{final:.2%}" if metric == "accuracy" else f"{final:.4f}"
            axes.plot(
                epochs[-1],
                scale * final,
                marker="*",
                markersize=12,
                linestyle="none",
                color=SPLIT_COLOURS["test"],
                label=f"test, after training ({shown})",
            )
        axes.set_xlabel("epoch")
        axes.set_ylabel(label + (" (%)" if metric == "accuracy" else ""))
        axes.set_title(label)
        axes.grid(alpha=0.3)
        axes.legend()
    if len(epochs) <= 20:
        for axes in (loss_axes, accuracy_axes):
            axes.set_xticks(epochs)
    figure.suptitle(title or "Learning curves")
    held_out = any(xs for (split, _), (xs, _) in curves.items() if split != "train")
    if not held_out:
        figure.supxlabel(TRAINING_ONLY, fontsize="medium", color="#444444")
    return figure


def _measured(
    epochs: np.ndarray, values: Sequence[float | None] | None
) -> tuple[list[int], list[float]]:
    """The epochs at which ``values`` were measured (None where not), and the values."""
    points = [(int(e), v) for e, v in zip(epochs, values or [], strict=False) if v is not None]
    return [e for e, _ in points], [v for _, v in points]


def confusion_matrix(matrix: np.ndarray, title: str = "Confusion matrix") -> Figure:
    """A heat map of counts: rows are the true class, columns the predicted one."""
    figure = new_figure(7, 6)
    axes = figure.subplots()
    classes = len(matrix)
    # Colour by the share of each true class, so that rare classes' mistakes still show.
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for row in range(classes):
        for col in range(classes):
            if matrix[row, col]:
                dark = shares[row, col] > 0.5
                axes.text(
                    col,
                    row,
                    str(matrix[row, col]),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if dark else "black",
                )
    axes.set_xticks(range(classes))
    axes.set_yticks(range(classes))
    axes.set_xlabel("predicted digit")
    axes.set_ylabel("true digit")
    axes.set_title(title)
    figure.colorbar(image, ax=axes, label="share of the true digit's images")
    return figure


def mistakes(
    images: np.ndarray,
    true: np.ndarray,
    predicted: np.ndarray,
    confidence: np.ndarray,
    title: str = "Most confident mistakes",
) -> Figure:
    """A gallery of misclassified images, labelled ``true -> predicted (confidence)``.

    Shape:
        - images: ``(K, 28, 28)``, already chosen and ordered; the rest: ``(K,)``
    """
    count = max(len(images), 1)
    columns = min(8, count)
    rows = int(np.ceil(count / columns))
    figure = new_figure(1.5 * columns, 1.75 * rows + 0.5)
    grid = np.atleast_1d(figure.subplots(rows, columns, squeeze=False).ravel())
    for axes in grid:
        axes.axis("off")
    for axes, image, t, p, c in zip(grid, images, true, predicted, confidence, strict=False):
        axes.imshow(image, cmap="gray_r", vmin=0, vmax=255)
        axes.set_title(f"true {t} → {p}\n{c:.1%} sure", fontsize=9)
    if not len(images):
        grid[0].text(0.5, 0.5, "no mistakes", ha="center", va="center")
    figure.suptitle(title)
    return figure


def per_class_accuracy(matrix: np.ndarray, title: str = "Accuracy per digit") -> Figure:
    """One bar per class: the share of its test images classified correctly (its recall)."""
    figure = new_figure(8, 4)
    axes = figure.subplots()
    totals = np.maximum(matrix.sum(axis=1), 1)
    accuracy = 100 * np.diag(matrix) / totals
    overall = 100 * np.trace(matrix) / max(matrix.sum(), 1)
    bars = axes.bar(range(len(matrix)), accuracy, color=SPLIT_COLOURS["test"])
    axes.bar_label(
        bars,
        labels=[f"{a:.1f}" for a in accuracy],
        fontsize=8,
        padding=2,
        bbox={"facecolor": "white", "edgecolor": "none", "pad": 1},  # readable over the line
    )
    axes.axhline(
        overall, color="black", linestyle="--", linewidth=1, label=f"all digits: {overall:.2f}%"
    )
    low = max(0.0, float(accuracy.min()) - 5)
    axes.set_ylim(low, 100.5 if low > 0 else 105)
    axes.set_xticks(range(len(matrix)))
    axes.set_xlabel("true digit")
    axes.set_ylabel("test accuracy (%)")
    axes.set_title(title)
    axes.legend(loc="lower right")
    return figure


def first_layer(weights: np.ndarray, title: str = "") -> Figure:
    """What the first layer looks for: a Dense layer's columns as 28x28 images, or a Conv2D's
    kernels. Blue is a positive weight, red a negative one, white zero.

    Shape:
        - weights: ``(784, units)`` for Dense (up to 64 units drawn) or ``(out, in, k, k)``
          for Conv2D (the first input channel of up to 64 filters).
    """
    if weights.ndim == 2:
        tiles = weights.T[:64].reshape(-1, 28, 28)
        what = f"first {len(tiles)} of {weights.shape[1]} units" if weights.shape[1] > 64 else ""
        default = "First layer weights, one 28x28 image per unit"
    else:
        tiles = weights[:64, 0]
        what = f"first {len(tiles)} of {weights.shape[0]}" if weights.shape[0] > 64 else ""
        default = f"First convolution's {weights.shape[2]}x{weights.shape[3]} filters"
    columns = min(8, len(tiles))
    rows = int(np.ceil(len(tiles) / columns))
    figure = new_figure(1.2 * columns + 1, 1.2 * rows + 0.8)
    grid = figure.subplots(rows, columns, squeeze=False).ravel()
    for axes in grid:
        axes.axis("off")
    for axes, tile in zip(grid, tiles, strict=False):
        limit = float(np.abs(tile).max()) or 1.0  # each tile on its own symmetric scale
        axes.imshow(tile, cmap="RdBu", vmin=-limit, vmax=limit, interpolation="nearest")
    figure.suptitle((title or default) + (f" ({what})" if what else ""))
    return figure


def calibration(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = 10, title: str = "Calibration"
) -> Figure:
    """Reliability diagram: for predictions grouped by confidence, how often they were right.

    A calibrated model lies on the diagonal. Also shows how many predictions fall in each bin,
    and the expected calibration error (ECE, the bin-weighted mean gap).

    Shape:
        - probabilities: ``(N, C)`` rows summing to 1; labels: ``(N,)``
    """
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    hits = np.bincount(which, weights=correct, minlength=bins)
    sure = np.bincount(which, weights=confidence, minlength=bins)
    filled = counts > 0
    accuracy = np.divide(hits, counts, out=np.zeros(bins), where=filled)
    mean_confidence = np.divide(sure, counts, out=np.zeros(bins), where=filled)
    ece = float(np.sum(counts * np.abs(accuracy - mean_confidence)) / max(len(labels), 1))

    figure = new_figure(10, 4.5)
    reliability, histogram = figure.subplots(1, 2)
    centres = (edges[:-1] + edges[1:]) / 2
    reliability.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfectly calibrated")
    reliability.bar(
        centres[filled],
        accuracy[filled],
        width=1 / bins,
        edgecolor="black",
        color=SPLIT_COLOURS["test"],
        alpha=0.8,
        label="accuracy in the bin",
    )
    reliability.plot(
        mean_confidence[filled],
        accuracy[filled],
        "o",
        color="black",
        markersize=4,
        label="(mean confidence, accuracy)",
    )
    reliability.set_xlim(0, 1)
    reliability.set_ylim(0, 1.02)
    reliability.set_xlabel("confidence (largest probability)")
    reliability.set_ylabel("accuracy")
    reliability.set_title(f"Reliability (ECE {ece:.2%})")
    reliability.legend(loc="upper left", fontsize=8)
    histogram.bar(centres, counts, width=1 / bins, edgecolor="black", color=SPLIT_COLOURS["test"])
    histogram.set_yscale("log")
    histogram.set_xlim(0, 1)
    histogram.set_xlabel("confidence (largest probability)")
    histogram.set_ylabel("test images (log scale)")
    histogram.set_title("How sure the predictions are")
    figure.suptitle(title)
    return figure


def experiment_comparison(
    accuracies: Mapping[str, Sequence[float]], title: str = "Test accuracy per variant"
) -> Figure:
    """Mean and spread of each variant's runs: a bar with a +/- one standard deviation whisker,
    and every run as a dot. ``accuracies`` maps a variant's name to its runs' accuracies (0-1)."""
    names = list(accuracies)
    figure = new_figure(max(6.0, 1.4 * len(names) + 2), 4.5)
    axes = figure.subplots()
    for index, name in enumerate(names):
        runs = 100 * np.asarray(accuracies[name], dtype=float)
        spread = float(runs.std(ddof=1)) if len(runs) > 1 else 0.0
        axes.bar(index, runs.mean(), color=SPLIT_COLOURS["test"], alpha=0.6, width=0.6)
        axes.errorbar(index, runs.mean(), yerr=spread, color="black", capsize=6)
        jitter = np.linspace(-0.12, 0.12, len(runs)) if len(runs) > 1 else np.zeros(1)
        axes.plot(index + jitter, runs, "o", color="black", markersize=4)
        axes.annotate(
            f"{runs.mean():.2f} ± {spread:.2f}",
            (index, runs.max()),
            textcoords="offset points",
            xytext=(0, 8),
            ha="center",
            fontsize=9,
        )
    everything = 100 * np.concatenate([np.asarray(v, dtype=float) for v in accuracies.values()])
    low, high = float(everything.min()), float(everything.max())
    margin = max(0.5, (high - low) * 0.3)
    axes.set_ylim(max(0.0, low - margin), min(100.0, high + margin) + margin / 2)
    axes.set_xticks(
        range(len(names)),
        names,
        rotation=15 if len(names) > 3 else 0,
        ha="right" if len(names) > 3 else "center",
    )
    axes.set_ylabel("test accuracy (%)")
    axes.set_xlabel("bar: mean of the runs, whisker: ± 1 standard deviation, dots: single runs")
    axes.set_title(title)
    axes.grid(axis="y", alpha=0.3)
    return figure
