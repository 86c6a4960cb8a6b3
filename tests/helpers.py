"""Helpers that several test modules use."""

import numpy as np
from click.testing import CliRunner, Result
from PIL import Image

import barenet as bn
from barenet.cli import cli

# A few seconds of training: enough to exercise every command on a real model.
QUICK = ["--preset", "quick", "--train-limit", "2000", "--epochs", "1"]


def invoke(*args: object) -> Result:
    """Run the barenet command in-process with these arguments."""
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_real_picture(path, size=None):
    with Image.open(path) as image:
        assert image.format == "PNG"
        if size is not None:
            assert image.size == size, (path.name, image.size)
        pixels = np.asarray(image.convert("L"), dtype=float)
    # Not blank: plenty of ink on the white page, and more than a couple of shades.
    assert (pixels < 200).mean() > 0.01 and len(np.unique(pixels)) > 20, path.name


def blobs(rng, n=300, classes=3, features=5):
    """Well-separated Gaussian clusters: an easy problem every optimizer must solve."""
    centres = 4 * rng.standard_normal((classes, features))
    y = rng.integers(0, classes, n)
    return centres[y] + rng.standard_normal((n, features)), y


def small_model(rng, features=5, classes=3, **compile_args):
    model = bn.Sequential(
        [bn.Dense(features, 16, rng=rng), bn.ReLU(), bn.Dense(16, classes, rng=rng)]
    )
    return model.compile(**{"loss": "cross_entropy", "optimizer": bn.Adam(0.01), **compile_args})


def trace_digit(page, pixels):
    """Draw every horizontal run of ink in a 28x28 digit as one mouse stroke on the canvas."""
    box = page.locator("#pad").bounding_box()
    cell = box["width"] / 28
    for row in range(28):
        ink = np.flatnonzero(pixels[row] >= 128)
        if not len(ink):
            continue
        runs = np.split(ink, np.flatnonzero(np.diff(ink) > 1) + 1)
        for run in runs:
            y = box["y"] + (row + 0.5) * cell
            page.mouse.move(box["x"] + (run[0] + 0.5) * cell, y)
            page.mouse.down()
            page.mouse.move(box["x"] + (run[-1] + 0.5) * cell, y, steps=3)
            page.mouse.up()


def write_digit_csv(path, images, labels=None, header=False):
    """Digits in the Kaggle layout: ``label,pixel0..pixel783`` rows (or pixels only without
    labels), with the header row of Kaggle's files if asked; returns the path."""
    names = ([] if labels is None else ["label"]) + [f"pixel{i}" for i in range(784)]
    lines = [",".join(names)] if header else []
    for index, image in enumerate(images):
        cells = ([] if labels is None else [str(labels[index])]) + list(map(str, image.ravel()))
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path
