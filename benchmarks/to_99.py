"""Epochs the benchmark CNN needs to reach 99.0% test accuracy, seed by seed, barenet and PyTorch.

The same recipe in both (``cnn_contenders.py``).

    python benchmarks/to_99.py [--seeds 5] [--max-epochs 8]

The CNN race in ``speed.py`` times one run per contender, so its "time to 99%" moves with that
run's seed: a network that touches 99.0% after two epochs and falls back counts as fast. This
counts the epochs each seed needs (a seed trains until its test accuracy first reaches 99.0%, at
most ``--max-epochs``), and the report multiplies the median count by each setting's epoch time
from the race. Counts do not depend on speed, so the contenders train one after another in this
process (barenet with its numba kernels when Numba is installed: the same numbers but for
rounding, in less time). `speed.py --only to99` puts the counts in RESULTS.md; it runs this
script in a process of its own (PyTorch's and Numba's threads stay out of its other timings).
The counts go to standard output as JSON, the progress to standard error.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import statistics
import sys
from pathlib import Path
from typing import Any

TARGET = 0.99


def epochs_to_target(subject: Any, max_epochs: int) -> dict[str, Any]:
    """Train ``subject`` an epoch at a time until its test accuracy reaches ``TARGET``: the
    accuracy after every epoch and the number of epochs (None if not in ``max_epochs``)."""
    accuracies: list[float] = []
    while len(accuracies) < max_epochs:
        subject.train_epoch()
        accuracies.append(subject.accuracy())
        if accuracies[-1] >= TARGET:
            return {"epochs": len(accuracies), "accuracies": accuracies}
    return {"epochs": None, "accuracies": accuracies}


def measure_to_99(seeds: int = 5, max_epochs: int = 8) -> dict[str, Any]:
    """Epochs to 99.0% for seeds 0 .. ``seeds`` - 1, per contender."""
    from cnn_contenders import BarenetCNN, TorchCNN

    contenders = [BarenetCNN]
    if importlib.util.find_spec("torch") is not None:
        contenders.append(TorchCNN)
    runs: dict[str, list[dict[str, Any]]] = {}
    for contender in contenders:
        runs[contender.name] = []
        for seed in range(seeds):
            with _fastest_kernels():
                run = epochs_to_target(contender(seed=seed), max_epochs)
            runs[contender.name].append({"seed": seed, **run})
            reached = f"{run['epochs']} epochs" if run["epochs"] else f"not in {max_epochs} epochs"
            print(f"  {contender.name}, seed {seed}: {reached}", file=sys.stderr)
    return {"target": TARGET, "max_epochs": max_epochs, "runs": runs}


def _fastest_kernels() -> contextlib.AbstractContextManager[None]:
    """barenet's numba kernels where Numba is installed."""
    if importlib.util.find_spec("numba") is None:
        return contextlib.nullcontext()
    import barenet

    return barenet.engine.using("numba")


def median_epochs(runs: list[dict[str, Any]], max_epochs: int) -> float:
    """The median count, a seed that never reached the target counting as one epoch more than
    allowed (so the median is a lower bound when it lands there)."""
    return statistics.median(run["epochs"] or max_epochs + 1 for run in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0 .. SEEDS-1 (default 5)")
    parser.add_argument(
        "--max-epochs", type=int, default=8, help="give a seed up after this many (default 8)"
    )
    args = parser.parse_args()
    print(json.dumps(measure_to_99(args.seeds, args.max_epochs), indent=1))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
