"""The digit detector on fresh digits drawn with thin pens, by writers it never learnt from.

    python benchmarks/detector_fresh.py                          # the shipped detector
    python benchmarks/detector_fresh.py --detectors git:0fb1c11 shipped det.npz@0.05

A digit written with a thin pen is a thin line, as a scribble is: these are the digits the
detector rejects most. Its threshold is chosen on MNIST training digits, by the writers it
learnt from; these sets are by others: MNIST's test digits 1000-1799 and 2000-4999 and UCI's
digits (43 writers unlike MNIST's; places 200-999 and 1000-1796 of ``styles.py``'s permutation),
drawn with the hairline pen and the ballpoint of ``digits.styles`` (seeds of their own, which
no other benchmark uses) and prepared by the package's preparation. A detector is the shipped
one, a file, or ``git:REV`` (the shipped file at a commit), at its own threshold or
``@THRESHOLD``; an image counts as rejected when the detector says "not a digit" or no ink is
found. The table goes into benchmarks/reading.md.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from reading import save_section
from styles import prepared

from barenet.datasets import load_mnist
from barenet.digits.detector import detection_threshold, detector_path, digit_scores
from barenet.digits.imaging import to_mnist
from barenet.digits.styles import STYLES, styled_digit
from barenet.model import Sequential, load_model

ROOT = Path(__file__).resolve().parent.parent
PENS = ("hairline pen", "ballpoint")
HEADING = "## The detector on fresh thin-pen digits"


def fresh_sets() -> dict[str, tuple[np.ndarray, int, int]]:
    """Each set's 8x8 or 28x28 images, and the two numbers its seeds start with."""
    from sklearn.datasets import load_digits

    _, (mnist, _) = load_mnist()
    uci = load_digits().images
    order = np.random.default_rng(42).permutation(len(uci))  # styles.py's
    return {
        "MNIST test 1000-1799": (mnist[1000:1800], 9100, 0),
        "UCI 200-999": (uci[order[200:1000]], 9100, 1),
        "MNIST test 2000-4999": (mnist[2000:5000], 9300, 0),
        "UCI 1000-1796": (uci[order[1000:]], 9300, 1),
    }


def detector(name: str) -> tuple[Sequential, float | None]:
    """A detector named as the command line names it, and the threshold given with it."""
    path, _, threshold = name.partition("@")
    if path == "shipped":
        model = load_model(detector_path())
    elif path.startswith("git:"):
        shown = subprocess.run(
            ["git", "show", f"{path[4:]}:src/barenet/digits/models/digit-detector.npz"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        with tempfile.NamedTemporaryFile(suffix=".npz") as file:
            file.write(shown.stdout)
            file.flush()
            model = load_model(file.name)
    else:
        model = load_model(path)
    return model, float(threshold) if threshold else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detectors", nargs="+", default=["shipped"])
    parser.add_argument("--out", type=Path, help="write the table here, not into reading.md")
    args = parser.parse_args()
    started = time.perf_counter()
    sets = fresh_sets()
    inputs = {}
    for pen in PENS:
        index = list(STYLES).index(pen)
        for name, (images, base, source) in sets.items():
            rng = np.random.default_rng([base, index, source])
            files = [styled_digit(image, STYLES[pen], rng) for image in images]
            inputs[pen, name] = prepared(files, to_mnist)
    columns = [f"{pen}, {name} ({len(sets[name][0])})" for pen in PENS for name in sets]
    lines = [
        HEADING,
        "",
        f"Measured on {datetime.date.today()} by `python benchmarks/detector_fresh.py` on "
        f"{platform.processor() or platform.machine()}: the share of each set the detector "
        'rejects ("not a digit", or no ink found); each pen\'s last column pools its four sets.',
        "",
        f"| detector | threshold | {' | '.join(columns)} | {PENS[0]}, all | {PENS[1]}, all |",
        "|---" * (len(columns) + 4) + "|",
    ]
    for name in args.detectors:
        model, given = detector(name)
        threshold = given if given is not None else detection_threshold(model)
        rejected = {
            key: (digit_scores(images, model) < threshold) | ~found
            for key, (images, found) in inputs.items()
        }
        cells = [f"{np.mean(rejected[key]):.2%}" for key in inputs]
        pooled = [
            f"{np.mean(np.concatenate([rejected[pen, set_name] for set_name in sets])):.2%}"
            for pen in PENS
        ]
        lines.append(f"| {name} | {threshold:.4f} | {' | '.join(cells + pooled)} |")
    lines += ["", f"({time.perf_counter() - started:.0f} s in all.)"]
    text = "\n".join(lines)
    if args.out:
        args.out.write_text(text + "\n")
    else:
        save_section(text)
    print(text)


if __name__ == "__main__":
    main()
