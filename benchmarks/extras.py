"""The measurements beside the epoch race: time to 98% accuracy, prediction latency, the peak
memory of a real ``barenet train`` run."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import barenet as bn
from barenet.datasets import load_mnist
from barenet.digits.config import TrainConfig
from barenet.digits.recipe import build_model
from barenet.schedules import CosineDecay

# barenet's fastest recipe to 98%: one wide hidden layer, large-ish batches, Adam with a cosine
# decay over a fixed budget of epochs, test accuracy checked after each (checks not timed).
FAST_LAYERS = (784, 800, 10)
FAST_BATCH = 256
FAST_EPOCHS = 6
FAST_LEARNING_RATE = 2e-3


def mlp(layers: tuple[int, ...], seed: int = 0) -> bn.Sequential:
    """barenet's digit MLP (the presets' builder) ending in raw scores."""
    return build_model(TrainConfig(layers=list(layers), output="none", seed=seed))


def time_to_98(seed: int = 0) -> dict[str, Any]:
    """Train the fast recipe; stop at the first epoch whose test accuracy reaches 98.0%."""
    (x_train, y_train), (x_test, y_test) = load_mnist()
    steps = FAST_EPOCHS * -(-len(x_train) // FAST_BATCH)
    model = mlp(FAST_LAYERS, seed).compile(
        "cross_entropy", bn.Adam(CosineDecay(FAST_LEARNING_RATE, steps))
    )
    seconds, accuracy = 0.0, 0.0
    for epoch in range(1, FAST_EPOCHS + 1):
        started = time.perf_counter()
        model.fit(x_train, y_train, epochs=1, batch_size=FAST_BATCH, verbose=0, seed=seed + epoch)
        seconds += time.perf_counter() - started
        accuracy = model.evaluate(x_test, y_test)["accuracy"]
        if accuracy >= 0.98:
            break
    return {"seconds": seconds, "epochs": epoch, "accuracy": accuracy, "reached": accuracy >= 0.98}


def prediction_latency() -> dict[str, Any]:
    """Median time to predict the 10,000 test images, and one image, for two MLPs."""
    _, (x_test, _) = load_mnist()
    results = {}
    for name, layers in (
        ("784-128-64-10", (784, 128, 64, 10)),
        ("784-800-800-10 (shipped mlp)", (784, 800, 800, 10)),
    ):
        model = mlp(layers)
        model.predict(x_test)  # warm-up
        batch = statistics.median(_timings(lambda m=model: m.predict(x_test), 15))
        one_image = x_test[:1]
        single = statistics.median(_timings(lambda m=model, x=one_image: m.predict(x), 2000))
        results[name] = {"batch_10000_ms": batch * 1e3, "one_image_us": single * 1e6}
    return results


def _timings(function: Any, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return times


# Runs the command given as arguments and prints its JSON output with the child's peak RSS (KB):
# a process of its own, so that no other child of the benchmark counts towards the figure.
MEASURE = """
import json, resource, subprocess, sys
out = subprocess.run(sys.argv[1:], capture_output=True, text=True, check=True).stdout
print(json.dumps({"rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "out": out}))
"""


def train_command_rss(full: bool) -> dict[str, Any]:
    """Peak RSS and time of a whole ``barenet train --preset mlp`` run, as a user starts it."""
    with tempfile.TemporaryDirectory() as folder:
        command = [
            sys.executable,
            "-m",
            "barenet",
            "train",
            "--preset",
            "mlp",
            "--out",
            f"{folder}/m.npz",
            "--json",
        ]
        if not full:
            command += ["--epochs", "2"]
        started = time.perf_counter()
        measured = subprocess.run(
            [sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, check=True
        )
        seconds = time.perf_counter() - started
    report = json.loads(measured.stdout)
    payload = json.loads(report["out"])
    return {
        "peak_rss_mb": report["rss_kb"] / 1024,
        "seconds": seconds,
        "epochs": payload["epochs"],
        "test_accuracy": payload["test_accuracy"],
    }


def measure_extras(full_train: bool) -> dict[str, Any]:
    print("time to 98%, prediction latency, barenet train --preset mlp", flush=True)
    return {
        "time_to_98": time_to_98(),
        "prediction": prediction_latency(),
        "train_mlp": train_command_rss(full_train),
    }
