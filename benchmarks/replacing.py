"""May a new model replace a shipped one? Both read the same people's digits, side by side.

    python benchmarks/replacing.py cnn new-cnn.npz [--count 1000]

A shipped model is replaced only if reading drawn digits does not get worse. Both models read:
MNIST test digits drawn on a page and photographed (``reading.py``'s generated sets, from seeds
the models never trained on), and a "person" they never saw (UCI's handwritten digits, all
1,797, drawn on a page). The "not a digit" rate is the detector's, which neither model changes.
Prints a markdown table, with each model's MNIST test accuracy and file size.
"""

from __future__ import annotations

import argparse
import platform

import numpy as np
from reading import digit_sets, uci_person

from barenet.datasets import load_mnist
from barenet.digits.shipped import open_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="shipped names or model files, side by side")
    parser.add_argument("--count", type=int, default=1000, help="images per generated set")
    args = parser.parse_args()
    _, (test_images, test_labels) = load_mnist()
    sets = digit_sets(test_images, args.count)
    person_images, person_labels = uci_person()
    loaded = [open_model(name) for name in args.models]
    names = [path.name if name not in ("cnn", "mlp") else f"shipped {name}" for name, (_, path)
             in zip(args.models, loaded, strict=True)]  # fmt: skip
    lines = [
        f"Read on {platform.processor() or platform.machine()} by `python benchmarks/replacing.py "
        f"{' '.join(args.models)} --count {args.count}`:",
        "",
        "| digits | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for set_name, (inputs, kept) in sets.items():
        total = len(test_images) if set_name.startswith("MNIST") else args.count
        cells = [
            f"{np.sum(model.predict_classes(inputs) == test_labels[kept]) / total:.2%}"
            for model, _ in loaded
        ]
        lines.append(f"| {set_name} | " + " | ".join(cells) + " |")
    cells = [
        f"{np.mean(model.predict_classes(person_images) == person_labels):.2%}"
        for model, _ in loaded
    ]
    lines.append(
        f"| a person never seen (UCI, {len(person_labels):,} digits) | " + " | ".join(cells) + " |"
    )
    sizes = [f"{path.stat().st_size / 1e6:.1f} MB" for _, path in loaded]
    lines.append("| file size | " + " | ".join(sizes) + " |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
