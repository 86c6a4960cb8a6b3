"""Every hand read: each style of ``digits.styles``, read through each preparation, side by side.

    python benchmarks/styles.py                  # the table into benchmarks/reading.md
    python benchmarks/styles.py --count 50 --models cnn cnn-deep-0.npz --out /tmp/styles.md

Each style redraws two kinds of digits: MNIST's test digits (the first ``--count``; never its
training set) and UCI's handwritten digits (scikit-learn's ``load_digits``: 8x8 scans of 43
other writers, ``--count`` of them at random), with seeds no training uses. Each image goes
through every preparation compared: the one before the photo work (commit d08179f's parent:
ink is the distance from the border's median grey), the one before this benchmark existed
(commit bbf021f: the paper estimated by a grey closing wider than a sixth of the image), both
loaded from git, and the package's own. A preparation that finds no ink counts as misread and
as rejected. The shipped detector says "not a digit"; ``--detector`` measures another.
"""

from __future__ import annotations

import argparse
import datetime
import io
import platform
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np
from reading import save_section

from barenet.datasets import load_mnist
from barenet.digits.detector import detection_threshold, digit_scores, shipped_detector
from barenet.digits.imaging import open_grayscale, to_mnist
from barenet.digits.shipped import open_model
from barenet.digits.styles import STYLES, styled_digit
from barenet.model import load_model

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PAST = {"before photos": "d08179f^", "before styles": "bbf021f"}
PREPARATIONS = (
    "*before photos* is the one before the photo work (commit d08179f's parent: ink is the "
    "distance from the border's median grey); *before styles* the one before this benchmark "
    "(commit bbf021f: a photo's paper estimated by a grey closing a sixth of the image wide, the "
    "ink's side by the skew); *now* the package's."
)
HEADING = "## Every hand: styles of writing, preparation before and after"

Prepare = Callable[[np.ndarray], np.ndarray]


def past_preparation(revision: str) -> Prepare:
    """``to_mnist`` as it was at a git ``revision``: its imaging.py (and ink.py, where it had
    one) loaded from git into modules of their own."""

    def source(path: str) -> str | None:
        shown = subprocess.run(
            ["git", "show", f"{revision}:src/barenet/digits/{path}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        return shown.stdout if shown.returncode == 0 else None

    saved = sys.modules.get("barenet.digits.ink")
    try:
        ink_source = source("ink.py")
        if ink_source is not None:
            ink = types.ModuleType(f"ink_at_{revision}")
            exec(compile(ink_source, f"{revision}:ink.py", "exec"), ink.__dict__)
            sys.modules["barenet.digits.ink"] = ink  # what the old imaging.py imports
        imaging = types.ModuleType(f"imaging_at_{revision}")
        exec(
            compile(source("imaging.py") or "", f"{revision}:imaging.py", "exec"), imaging.__dict__
        )
    finally:
        if saved is not None:
            sys.modules["barenet.digits.ink"] = saved
    return imaging.to_mnist


def uci_digits(count: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` of UCI's 1,797 digits at random (8x8, 0..16, light on black), and labels."""
    from sklearn.datasets import load_digits

    uci = load_digits()
    picked = np.random.default_rng(42).permutation(len(uci.images))[:count]
    return uci.images[picked], uci.target[picked].astype(np.uint8)


def generated(images: np.ndarray, style_index: int, source_index: int) -> list[bytes]:
    """The files of ``images`` drawn in the style, seeded by the style and the source."""
    style = list(STYLES.values())[style_index]
    rng = np.random.default_rng([9000, style_index, source_index])
    return [styled_digit(image, style, rng) for image in images]


def prepared(files: list[bytes], prepare: Prepare) -> tuple[np.ndarray, np.ndarray]:
    """Every file read and prepared: inputs ``(N, 28, 28)`` (blank where no ink was found) and
    whether ink was found ``(N,)``."""
    inputs, found = [], []
    for data in files:
        try:
            inputs.append(prepare(open_grayscale(io.BytesIO(data), name="style")))
            found.append(True)
        except ValueError:  # no ink found (a past revision's BlankImageError is its own class)
            inputs.append(np.zeros((28, 28), np.uint8))
            found.append(False)
    return np.stack(inputs), np.array(found)


def table(header: list[str], rows: dict[str, list[float]]) -> list[str]:
    """A markdown table of shares, one row per style and a mean row."""
    lines = ["| style | " + " | ".join(header) + " |", "|---" * (len(header) + 1) + "|"]
    for name, values in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{value:.1%}" for value in values) + " |")
    means = np.mean(list(rows.values()), axis=0)
    lines.append("| **mean** | " + " | ".join(f"**{value:.1%}**" for value in means) + " |")
    return lines


def model_table(names: list[str], rights: dict[str, dict[str, np.ndarray]]) -> list[str]:
    """A markdown table of each model's share read per style (``rights``: style -> model ->
    whether each digit was read), each model after the first with its wins and losses against
    the first, and a row over all the styles."""
    rows = {**rights, "**all styles**": {
        name: np.concatenate([right[name] for right in rights.values()]) for name in names
    }}  # fmt: skip
    lines = ["| style | " + " | ".join(f"`{name}`" for name in names) + " |",
             "|---" * (len(names) + 1) + "|"]  # fmt: skip
    for style, right in rows.items():
        first = right[names[0]]
        cells = [f"{np.mean(first):.1%}"] + [
            f"{np.mean(right[name]):.1%} (+{np.sum(right[name] & ~first)} / "
            f"-{np.sum(first & ~right[name])})"
            for name in names[1:]
        ]
        lines.append(f"| {style} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="digits per source per style")
    parser.add_argument(
        "--models",
        nargs="+",
        default=["cnn"],
        help="shipped names or files: the first reads "
        "through every preparation, all of them through the package's (side by side)",
    )
    parser.add_argument("--detector", help="a digit detector file (default: the shipped one)")
    parser.add_argument("--out", type=Path, help="write the tables here, not into reading.md")
    parser.add_argument("--styles", nargs="+", choices=list(STYLES), help="only these styles")
    args = parser.parse_args()
    started = time.perf_counter()
    preparations: dict[str, Prepare] = {
        name: past_preparation(revision) for name, revision in PAST.items()
    }
    preparations["now"] = to_mnist
    models = {name: open_model(name)[0] for name in args.models}
    first = models[args.models[0]]
    detector = load_model(args.detector) if args.detector else shipped_detector()
    threshold = detection_threshold(detector)
    _, (mnist_images, mnist_labels) = load_mnist()
    sources = {
        "MNIST": (mnist_images[: args.count], mnist_labels[: args.count]),
        "UCI": uci_digits(args.count),
    }
    by_preparation: dict[str, list[float]] = {}
    by_model: dict[str, dict[str, np.ndarray]] = {}
    for style_index, style in enumerate(STYLES):
        if args.styles and style not in args.styles:
            continue
        read = {(source, name): 0.0 for source in sources for name in preparations}
        refused = dict.fromkeys(preparations, 0.0)
        models_right: dict[str, list[np.ndarray]] = {name: [] for name in models}
        for source_index, (source, (images, labels)) in enumerate(sources.items()):
            files = generated(images, style_index, source_index)
            for name, prepare in preparations.items():
                inputs, found = prepared(files, prepare)
                read[source, name] = np.mean((first.predict_classes(inputs) == labels) & found)
                rejected = (digit_scores(inputs, detector) < threshold) | ~found
                refused[name] += np.mean(rejected) / len(sources)
                if name == "now":
                    for model_name, model in models.items():
                        right = (model.predict_classes(inputs) == labels) & found
                        models_right[model_name].append(right)
        by_preparation[style] = [*read.values(), *refused.values()]
        by_model[style] = {name: np.concatenate(right) for name, right in models_right.items()}
        print(style, [f"{value:.3f}" for value in by_preparation[style]], flush=True)
    names = list(preparations)
    lines = [
        HEADING,
        "",
        f"Measured on {datetime.date.today()} by `python benchmarks/styles.py` on "
        f"{platform.processor() or platform.machine()}: {args.count} MNIST test digits and "
        f"{args.count} of UCI's digits per style, read by `{args.models[0]}`; detector "
        f"threshold {threshold:.3f}. Read: the share read correctly (a preparation that finds no "
        'ink misreads). Rejected: the share of both sources the detector calls "not a digit" '
        f"(or in which no ink is found). The preparations: {PREPARATIONS}",
        "",
        *table(
            [f"{source}, {name}" for source in sources for name in names]
            + [f"rejected, {name}" for name in names],
            by_preparation,
        ),
        "",
    ]
    if len(models) > 1:
        lines += [
            "Read by each model (both sources, the package's preparation); beside each model after "
            f"the first, the digits it reads that `{args.models[0]}` misreads (+) and the other way "
            "round (-):",
            "",
            *model_table(list(models), by_model),
            "",
        ]
    lines.append(f"({time.perf_counter() - started:.0f} s in all.)")
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.write_text(text)
    else:
        save_section(text, first=True)
    print(text)


if __name__ == "__main__":
    main()
