"""Reading real people's digits: photos, "not a digit", and learning a person's handwriting.

    python benchmarks/reading.py            # writes benchmarks/reading.md, included in RESULTS.md

Every set is generated with seeds the detector never trained on, from MNIST's test set (never
its training set) and from sources it never saw at all:
- clean drawings: MNIST test digits drawn dark on a white page of 100-300 px, as on the page;
- photos: the same digits photographed by ``digits.paper`` (uneven light, shadows, texture,
  ruled or squared paper, noise, blur, JPEG);
- non-digits: every kind of ``digits.nondigits``, drawn and photographed; and two kinds the
  detector never saw in training: letters set in the machine's fonts, and Fashion-MNIST's
  clothes (Debian's dataset-fashion-mnist), each where present;
- "persons": UCI's handwritten digits (scikit-learn's ``load_digits``: 43 other writers,
  scanned, 8x8), each person's all in one style of ``digits.styles`` (a felt pen on paper,
  chalk on a board, a photo): 300 of them to fine-tune on, the rest held out.

The style benchmark (``styles.py``) writes its own section at the top of reading.md.
"""

from __future__ import annotations

import argparse
import datetime
import io
import platform
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from barenet.activations import logsumexp
from barenet.datasets import Dataset, load_mnist
from barenet.datasets.idx import read_idx
from barenet.digits.detector import detection_threshold, digit_scores, shipped_detector
from barenet.digits.detector_data import prepared_non_digits
from barenet.digits.finetuning import finetune
from barenet.digits.imaging import BlankImageError, load_digit, to_mnist
from barenet.digits.nondigits import KINDS
from barenet.digits.paper import photograph, placed_ink
from barenet.digits.shipped import open_model
from barenet.digits.styles import STYLES, styled_digit
from barenet.model import Sequential

HERE = Path(__file__).resolve().parent
FASHION = Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
FONTS = sorted(Path("/usr/share/fonts/truetype").glob("*/*.ttf"))
FONT_LETTERS = "AEFHKMNPRVWXYehkmnrwx"  # the stroke font's letters: no digit look-alikes


def drawn(images: np.ndarray, rng: np.random.Generator, photo: bool) -> tuple[np.ndarray, list]:
    """MNIST-style images drawn on a page or photographed, prepared as the network sees them;
    and the indices of those in which ink was found (the others count as misread)."""
    prepared, kept = [], []
    for index, image in enumerate(images):
        side = int(rng.integers(100, 300))
        coverage = placed_ink(image, rng, (side, side))
        try:
            if photo:
                prepared.append(load_digit(io.BytesIO(photograph(coverage, rng)), name="photo"))
            else:
                prepared.append(to_mnist(255.0 * (1.0 - coverage)))
            kept.append(index)
        except BlankImageError:
            pass
    return np.stack(prepared), kept


def prepare_all(grays: list[np.ndarray]) -> tuple[np.ndarray, int]:
    """Greyscale pages prepared by ``to_mnist``; and how many had no ink found (rejected too:
    the user is told so)."""
    prepared, blank = [], 0
    for gray in grays:
        try:
            prepared.append(to_mnist(gray))
        except BlankImageError:
            blank += 1
    return np.stack(prepared), blank


def font_letters(count: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Letters set in the machine's TrueType fonts, dark on white, prepared."""
    pages = []
    for index in range(count):
        font = ImageFont.truetype(str(FONTS[index % len(FONTS)]), int(rng.integers(60, 120)))
        image = Image.new("L", (160, 160), 255)
        ImageDraw.Draw(image).text((20, 10), str(rng.choice(list(FONT_LETTERS))), 0, font=font)
        pages.append(np.asarray(image, np.float32))
    return prepare_all(pages)


def fashion(count: int) -> tuple[np.ndarray, int]:
    """Fashion-MNIST's first test images (clothes, light on black like MNIST), drawn dark on a
    page with a margin, and prepared."""
    images = read_idx(FASHION, 3)[:count]
    return prepare_all([255.0 - np.kron(np.pad(image, 8), np.ones((4, 4))) for image in images])


def digit_sets(test_images: np.ndarray, count: int) -> dict[str, tuple[np.ndarray, list]]:
    rng = np.random.default_rng(2026)
    return {
        "MNIST test digits": (test_images, list(range(len(test_images)))),
        "clean drawings": drawn(test_images[:count], rng, photo=False),
        "photos": drawn(test_images[:count], rng, photo=True),
    }


def non_digit_sets(count: int) -> dict[str, tuple[np.ndarray, int]]:
    sets: dict[str, tuple[np.ndarray, int]] = {}
    for photo_share, how in ((0.0, "drawn"), (1.0, "photographed")):
        for kind in KINDS:
            prepared, _ = prepared_non_digits(
                count, np.random.default_rng(77), photo_share, (kind,)
            )
            sets[f"{kind}, {how}"] = (prepared.inputs, prepared.blank)
    if FONTS:
        sets["letters in fonts (unseen)"] = font_letters(count, np.random.default_rng(5))
    if FASHION.exists():
        sets["Fashion-MNIST clothes (unseen)"] = fashion(count)
    return sets


def rejected(scores: np.ndarray, blank: int, threshold: float) -> float:
    """Share rejected: scored below the threshold, or no ink found at all."""
    return (np.sum(scores < threshold) + blank) / (len(scores) + blank)


def methods(model, inputs: np.ndarray) -> dict[str, np.ndarray]:
    """Digit-ness scores of three methods (higher: more of a digit)."""
    probabilities = model.predict_proba(inputs)
    logits = Sequential(model.layers[:-1]).predict(inputs)  # the input of the final Softmax
    return {
        "detector P(digit)": digit_scores(inputs),
        "classifier confidence": probabilities.max(axis=1),
        "-energy (logsumexp of the logits)": logsumexp(logits, axis=1),
    }


def tradeoff(model, digits, others) -> list[str]:
    """Non-digits rejected at the thresholds where 0.5%, 1% and 2% of clean drawings are."""
    clean = methods(model, digits["clean drawings"][0])
    lines = ["| method | digits rejected (clean drawings) | non-digits rejected |", "|---|---|---|"]
    every_other = np.concatenate([inputs for inputs, _ in others.values()])
    other_scores = methods(model, every_other)
    for name, scores in clean.items():
        for share in (0.005, 0.01, 0.02):
            threshold = np.quantile(scores, share)
            lines.append(
                f"| {name} | {share:.1%} | {np.mean(other_scores[name] < threshold):.1%} |"
            )
    return lines


def uci_person() -> tuple[np.ndarray, np.ndarray]:
    """UCI's 1,797 handwritten digits (scikit-learn's ``load_digits``), each drawn dark on a
    96x96 page with a margin and prepared as the network sees it; and their labels."""
    from sklearn.datasets import load_digits

    uci = load_digits()
    prepared = []
    for image in uci.images:
        page = np.pad(16.0 - image, 2, constant_values=16.0) * (255 / 16)  # a margin, as paper
        big = Image.fromarray(page.astype(np.float32), mode="F")
        big = big.resize((96, 96), Image.Resampling.BICUBIC)
        prepared.append(to_mnist(np.asarray(big, np.float32)))
    return np.stack(prepared), uci.target.astype(np.uint8)


PERSONS = ("felt pen", "chalkboard", "photo")  # a writer's pen and paper: styles.STYLES
PERSON_TRAIN = 300  # of the person's digits, those fine-tuned on; the rest are measured on


def styled_person(style: str) -> tuple[np.ndarray, np.ndarray]:
    """UCI's 1,797 handwritten digits as one person would send them, all in one style of
    ``styles.STYLES``, prepared as the network sees them; and their labels. A digit in which
    no ink is found is left out (as the person would be told, and would send it again)."""
    from sklearn.datasets import load_digits

    uci = load_digits()
    rng = np.random.default_rng([77, PERSONS.index(style)])
    prepared, labels = [], []
    for image, label in zip(uci.images, uci.target, strict=True):
        try:
            prepared.append(
                load_digit(io.BytesIO(styled_digit(image, STYLES[style], rng)), name="p")
            )
            labels.append(label)
        except BlankImageError:
            pass
    return np.stack(prepared), np.array(labels, np.uint8)


def person_results(model_name: str = "cnn") -> list[str]:
    """Fine-tune the shipped model on 300 of each person's digits; measure on the rest of them
    and on MNIST."""
    lines = [
        f"Fine-tuned on {PERSON_TRAIN} of a person's digits (UCI's digits, 43 writers unlike "
        "MNIST's, all in one style: a writer's pen and paper) with `barenet finetune`'s defaults, "
        f"starting from `{model_name}`; measured on the person's other digits and on MNIST's "
        "test set:",
        "",
        "| person | person's other digits, before | after | MNIST test, before | after | time |",
        "|---|---|---|---|---|---|",
    ]
    for style in PERSONS:
        images, labels = styled_person(style)
        order = np.random.default_rng(0).permutation(len(images))
        train, test = order[:PERSON_TRAIN], order[PERSON_TRAIN:]
        person = Dataset(images[train], labels[train], images[test], labels[test], style)
        model, _ = open_model(model_name)
        result = finetune(model, person)
        lines.append(
            f'| UCI in the style "{style}" ({result.person_test} held out) | '
            f"{result.person_before:.2%} | {result.person_after:.2%} | "
            f"{result.mnist_before:.2%} | {result.mnist_after:.2%} | {result.seconds:.0f} s |"
        )
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="images per generated set")
    args = parser.parse_args()
    started = time.perf_counter()
    model, _ = open_model("cnn")
    _, (test_images, test_labels) = load_mnist()
    digits = digit_sets(test_images, args.count)
    others = non_digit_sets(args.count // 4)
    threshold = detection_threshold(shipped_detector())
    lines = [
        '## Reading people\'s digits: photos and "not a digit"',
        "",
        f"Measured on {datetime.date.today()} by `python benchmarks/reading.py` on "
        f"{platform.processor() or platform.machine()} ({args.count} images per digit set, "
        f"{args.count // 4} per non-digit set; shipped CNN and digit detector, threshold "
        f"{threshold:.3f}).",
        "",
        '| digits | read correctly | rejected as "not a digit" |',
        "|---|---|---|",
    ]
    for name, (inputs, kept) in digits.items():
        total = len(test_images) if name.startswith("MNIST") else args.count
        accuracy = np.sum(model.predict_classes(inputs) == test_labels[kept]) / total
        refused = rejected(digit_scores(inputs), total - len(kept), threshold)
        lines.append(f"| {name} | {accuracy:.2%} | {refused:.2%} |")
    lines += ["", "| non-digits | rejected |", "|---|---|"]
    for name, (inputs, blank) in others.items():
        lines.append(f"| {name} | {rejected(digit_scores(inputs), blank, threshold):.1%} |")
    every = np.concatenate([digit_scores(inputs) for inputs, _ in others.values()])
    blanks = sum(blank for _, blank in others.values())
    lines.append(f"| **all non-digits** | **{rejected(every, blanks, threshold):.1%}** |")
    lines += ["", "The trade-off, by method (thresholds set on the clean drawings):", ""]
    lines += tradeoff(model, digits, others)
    lines += ["", *person_results(), "", f"({time.perf_counter() - started:.0f} s in all.)"]
    save_section("\n".join(lines))
    print("\n".join(lines))


def save_section(section: str, first: bool = False) -> None:
    """Put a section (a ``## `` heading and what follows) into reading.md, replacing the one
    with the same heading, else first or last; then reading.md, whole, at the end of
    RESULTS.md, replacing an earlier copy (speed.py's report includes it the same way)."""
    path = HERE / "reading.md"
    text = path.read_text() if path.exists() else ""
    heading = section.splitlines()[0]
    if heading in text:
        start = text.index(heading)
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + section.strip() + "\n" + (text[end:] if end >= 0 else "")
    elif first:
        text = section.strip() + "\n\n" + text
    else:
        text = text.rstrip() + "\n\n" + section.strip() + "\n"
    path.write_text(text.strip() + "\n")
    results = HERE / "RESULTS.md"
    old = results.read_text()
    starts = [
        old.index(line) for line in text.splitlines() if line.startswith("## ") and line in old
    ]
    if starts:
        old = old[: min(starts)]
    results.write_text(old.rstrip() + "\n\n" + text.strip() + "\n")


if __name__ == "__main__":
    main()
