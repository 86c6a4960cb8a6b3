"""What each of the engine's techniques gains: the textbook's methods against the engine's, on
the benchmark CNN's shapes (batch 128 of MNIST) and the 784-800-10 MLP, in one process.

    python benchmarks/engine_gains.py [--repeats 15] [--epochs 3]

Every row times the same work under the three engines, which take turns (reference, numpy,
numba, then again), and reports the median of the turns in milliseconds, with each engine's
gain over the textbook (the ``reference`` engine). Each engine works on the layer inputs and
output gradients that it produced itself in one training step on the same batch, so that a
layer sees the memory layout its neighbours give it in that engine; one thread unless a row
says otherwise. The output is Markdown for docs/performance.md: the machine (CPU model, AVX-512
flags, the BLAS kernels in use), then the tables. Reported, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import barenet as bn
from barenet.datasets import load_data
from barenet.digits.config import TrainConfig
from barenet.digits.recipe import build_model
from barenet.engine import state
from barenet.engine.training import PARAMETERS_ONLY

ENGINES = ("reference", "numpy", "numba")
BATCH = 128
Seen = dict[str, list[tuple[np.ndarray, np.ndarray]]]  # engine -> each layer's (input, dy)


@dataclass
class Row:
    """One line of a table: ``work(engine)`` makes the call to time under that engine."""

    technique: str
    timed: str
    work: Callable[[str], Callable[[], Any]]
    engines: tuple[str, ...] = ENGINES
    threads: dict[str, int] = field(default_factory=dict)  # engine -> threads (default 1)
    without: str | None = None  # a compiled kernel the numba engine runs without here


def machine() -> str:
    """The CPU model, its AVX-512 flags and the BLAS libraries' kernels, on one line."""
    model, flags = platform.processor() or platform.machine(), []
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().split("\n\n")[0].splitlines():
            key, _, value = (part.strip() for part in line.partition(":"))
            if key == "model name":
                model = value
            elif key == "flags":
                flags = value.split()
    avx512 = " ".join(flag for flag in flags if flag.startswith("avx512")) or "none"
    blas = "unknown (threadpoolctl is not installed)"
    with contextlib.suppress(ImportError):
        from threadpoolctl import threadpool_info

        blas = ", ".join(
            f"{info['internal_api']} {info.get('version')} ({info.get('architecture')} kernels, "
            f"{info['num_threads']} threads; {Path(info['filepath']).parent.name})"
            for info in threadpool_info()
            if info["user_api"] == "blas"
        )
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{model}, {cores} cores; AVX-512 flags: {avx512}; NumPy {np.__version__} with {blas}; "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}"
    )


def benchmark_cnn() -> bn.Sequential:
    """conv5x5x32-maxpool-relu-conv5x5x64-maxpool-relu-fc128-fc10, as ``speed.py`` trains it."""
    config = TrainConfig(layers=[784, 128, 10], conv=[32, 64], kernel_size=5, seed=0)
    return build_model(config).compile("cross_entropy", bn.Adam(1e-3))


def benchmark_mlp() -> bn.Sequential:
    """784-800-10 with ReLU."""
    return build_model(TrainConfig(layers=[784, 800, 10], seed=0)).compile(
        "cross_entropy", bn.Adam(1e-3)
    )


def record(model: bn.Sequential, X: np.ndarray, y: np.ndarray) -> list[tuple[Any, Any]]:
    """Each layer's input and the gradient that reaches its output, in one training step under
    the engine in use (copies that keep their memory layout)."""
    layers = model.layers[:-1] if model.head.fused else model.layers
    inputs, h = [], model.as_batch(X)
    for layer in layers:
        inputs.append(h.copy(order="K"))
        h = layer.forward(h, training=True)
    assert model.loss is not None
    model.loss.forward(h, y)
    dy, grads = model.loss.backward(), []
    for layer in reversed(layers):
        grads.append(dy.copy(order="K"))
        dy = layer.backward(dy)
    return list(zip(inputs, reversed(grads), strict=True))


def seen_by_engine(model: bn.Sequential, X: np.ndarray, y: np.ndarray) -> Seen:
    seen = {}
    for engine in ENGINES:
        with bn.engine.using(engine, threads=1):
            seen[engine] = record(model, X, y)
    return seen


def forward_backward(layer: Any, seen: Seen, parameters_only: bool = False) -> Callable:
    """``layer``'s forward and backward passes (the engine's parameter gradients alone, as for a
    network's first layer, with ``parameters_only``) on what it saw in each engine's step."""

    def work(engine: str) -> Callable[[], Any]:
        x, dy = seen[engine][0]
        skip = parameters_only and engine != "reference"
        backward = PARAMETERS_ONLY[type(layer)] if skip else type(layer).backward

        def run() -> Any:
            layer.forward(x, training=True)
            return backward(layer, dy)

        return run

    return work


def backward(layer: Any, seen: Seen) -> Callable:
    """``layer``'s backward pass alone (after an untimed forward pass)."""

    def work(engine: str) -> Callable[[], Any]:
        x, dy = seen[engine][0]
        layer.forward(x, training=True)
        return lambda: layer.backward(dy)

    return work


def training_step(model: bn.Sequential, X: np.ndarray, y: np.ndarray) -> Callable:
    """``fit``'s step on one batch: forward, loss, backward, then the optimizer's step."""
    X = model.as_batch(X)

    def work(engine: str) -> Callable[[], Any]:
        def run() -> None:
            model.forward_backward(X, y)
            parameters = list(model.parameters())
            assert model.optimizer is not None
            model.optimizer.step([p for _, p, _ in parameters], [g for _, _, g in parameters])

        return run

    return work


def adam_step(model: bn.Sequential, moments: list[dict[str, np.ndarray]] | None) -> Callable:
    """One Adam step on ``model``'s parameters and current gradients, from the moments
    ``moments`` (None: zeros), which are put back, with the parameters, before every step."""
    parameters = list(model.parameters())
    params, grads = [p for _, p, _ in parameters], [g.copy() for _, _, g in parameters]
    start = [p.copy() for p in params]

    def work(engine: str) -> Callable[[], Any]:
        optimizer = bn.Adam(1e-3)
        optimizer.step([p.copy() for p in params], grads)  # sets up its state (and scratch)

        def run() -> None:
            assert optimizer._state is not None
            for index, (param, kept) in enumerate(zip(params, optimizer._state, strict=True)):
                param[...] = start[index]
                for key in ("m", "v"):
                    kept[key][...] = 0 if moments is None else moments[index][key]
            optimizer.iterations = 1000  # bias corrections near 1, as late in training
            started = time.perf_counter()
            optimizer.step(params, grads)
            return time.perf_counter() - started

        return run

    return work


def textbook_adam_moments(epochs: int) -> tuple[list[dict[str, np.ndarray]], float]:
    """Adam's ``m`` and ``v`` after ``epochs`` on MNIST's 60,000 images of a 784-800-10 MLP whose
    optimizer steps are the textbook's (no flush), and the share of them that is subnormal."""
    mnist, model = load_data(), benchmark_mlp()
    with bn.engine.using("numpy", threads=1):  # the engine's layers, the textbook's step
        bn.Optimizer.step = bn.engine.TEXTBOOK[(bn.Optimizer, "step")]  # until using's end
        model.fit(mnist.x_train, mnist.y_train, epochs=epochs, batch_size=BATCH, verbose=0, seed=0)
    assert model.optimizer is not None and model.optimizer._state is not None
    moments = [{key: s[key].copy() for key in ("m", "v")} for s in model.optimizer._state]
    values = np.concatenate([array.ravel() for m in moments for array in m.values()])
    tiny = np.finfo(np.float32).smallest_normal
    return moments, np.count_nonzero((values != 0) & (np.abs(values) < tiny)) / values.size


@contextlib.contextmanager
def kernel_removed(name: str | None) -> Iterator[None]:
    """The numba engine without its compiled kernel ``name`` (None: with all of them)."""
    if name is None or bn.engine.active() != "numba":
        yield
        return
    state.compiled(name)  # loads the kernels
    kernel = state._kernels.pop(name)
    try:
        yield
    finally:
        state._kernels[name] = kernel


def measure(rows: list[Row], repeats: int) -> list[dict[str, float]]:
    """Median milliseconds of each row under each of its engines, the engines taking turns."""
    times: list[dict[str, list[float]]] = [{engine: [] for engine in row.engines} for row in rows]
    for turn in range(repeats + 1):  # turn 0 warms up: compiles kernels, allocates buffers
        for row, kept in zip(rows, times, strict=True):
            for engine in row.engines:
                threads = row.threads.get(engine, 1)
                with bn.engine.using(engine, threads=threads), kernel_removed(row.without):
                    run = row.work(engine)
                    run()  # this engine's caches and buffers, untimed
                    started = time.perf_counter()
                    inner = run()  # a run that times itself returns its seconds
                    seconds = time.perf_counter() - started
                if turn:
                    kept[engine].append(1e3 * (inner if isinstance(inner, float) else seconds))
    return [{engine: statistics.median(ms) for engine, ms in kept.items()} for kept in times]


def table(rows: list[Row], medians: list[dict[str, float]]) -> str:
    lines = [
        "| technique | timed | textbook | numpy engine | numba engine |",
        "|---|---|---|---|---|",
    ]
    for row, median in zip(rows, medians, strict=True):
        cells = []
        for engine in ENGINES:
            if engine not in median:
                cells.append("-")
            elif engine == "reference":
                cells.append(f"{median[engine]:.2f} ms")
            else:
                gain = median["reference"] / median[engine]
                cells.append(f"{median[engine]:.2f} ms (**{gain:.1f}x**)")
        lines.append(f"| {row.technique} | {row.timed} | {' | '.join(cells)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed turns (default 15)")
    parser.add_argument(
        "--epochs", type=int, default=3, help="textbook Adam epochs before the subnormal row"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    mnist = load_data()
    X, y = mnist.x_train[:BATCH], mnist.y_train[:BATCH]

    cnn = benchmark_cnn()  # layers 2, 5: Conv2D; 3, 6: MaxPool2D; 9: Dense(1024, 128)
    seen = seen_by_engine(cnn, X, y)
    at = {index: {engine: [seen[engine][index]] for engine in ENGINES} for index in range(12)}
    conv1, pool1, conv2, pool2, dense = (cnn.layers[index] for index in (2, 3, 5, 6, 9))
    # A batch norm after the first convolution: its output, and the gradient that reaches it.
    after_conv1 = {engine: [(seen[engine][3][0], seen[engine][2][1])] for engine in ENGINES}

    mlp = benchmark_mlp()  # layer 2: Dense(784, 800)
    one_sample = seen_by_engine(mlp, X[:1], y[:1])
    with bn.engine.using("reference"):
        record(mlp, X, y)  # a batch's gradients, for the Adam rows
    moments, subnormal = textbook_adam_moments(args.epochs)

    layers = [
        Row("im2col and one product (numba: weight gradient in 4x4 register tiles)",
            "Conv2D(1, 32, 5) forward + backward, 1x28x28 in", forward_backward(conv1, at[2])),
        Row("first layer: no input gradient",
            "Conv2D(1, 32, 5) forward + parameter gradients", forward_backward(conv1, at[2], True)),
        Row("max pooling one axis at a time, layout kept (numba: compiled)",
            "MaxPool2D(2) forward + backward, 32x24x24 in", forward_backward(pool1, at[3])),
        Row("channels-last im2row (numba: blocks of samples, sparse backward)",
            "Conv2D(32, 64, 5) forward + backward, 32x12x12 in", forward_backward(conv2, at[5])),
        Row("sparse backward after max pooling (numba)",
            "Conv2D(32, 64, 5) backward", backward(conv2, at[5])),
        Row("the same, the sparse kernel left out", "Conv2D(32, 64, 5) backward",
            backward(conv2, at[5]), without="sparse_rows_backward"),
        Row("max pooling (the second)",
            "MaxPool2D(2) forward + backward, 64x8x8 in", forward_backward(pool2, at[6])),
        Row("`out=` buffers", "Dense(1024, 128) forward + backward", forward_backward(dense, at[9])),
        Row("batch norm: einsum sums in memory order",
            "BatchNorm2d(32) forward + backward, 32x24x24 in",
            forward_backward(bn.BatchNorm2d(32), after_conv1), ("reference", "numpy")),
        Row("one sample: the outer product as a broadcast", "Dense(784, 800) backward, batch 1",
            backward(mlp.layers[2], {e: [one_sample[e][2]] for e in ENGINES}),
            ("reference", "numpy")),
        Row("Adam: scratch buffers, cache-sized slices (numba: one pass)",
            "Adam step, 784-800-10 (636,010 parameters)", adam_step(mlp, None)),
        Row(f"subnormal flush ({subnormal:.1%} of m and v subnormal)",
            f"the same step, m and v after {args.epochs} epochs of textbook Adam",
            adam_step(mlp, moments)),
    ]  # fmt: skip
    steps = [
        Row("one thread", "CNN step: forward, loss, backward, Adam", training_step(cnn, X, y)),
        Row("batch shared by 2 threads", "CNN step: forward, loss, backward, Adam",
            training_step(cnn, X, y), threads={"numpy": 2, "numba": 2}),
        Row("one thread", "MLP 784-800-10 step", training_step(mlp, X, y)),
    ]  # fmt: skip
    medians = measure(layers + steps, args.repeats)
    print(f"Machine: {machine()}.\n")
    print(f"Batch {BATCH} unless a row says otherwise; median of {args.repeats} turns in")
    print("milliseconds, (**gain**) = the textbook's time / the engine's.\n")
    print(table(layers, medians[: len(layers)]))
    print()
    print(table(steps, medians[len(layers) :]))
    print(f"\n({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
