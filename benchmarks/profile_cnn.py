"""Where a CNN training step spends its time: the benchmark CNN (conv5x5x32-maxpool-conv5x5x64-
maxpool-fc128-fc10, batch 128, Adam, float32) trained on MNIST batches, every layer's forward and
backward timed on its own, with the FLOPs each does and the bytes it reads and writes.

    python benchmarks/profile_cnn.py [--steps 60]

The achieved rate (GFLOP/s) of each part sits beside this machine's float32 matrix-product peak
through NumPy, so the table shows which parts are compute-bound (near the peak) and which are
memory- or overhead-bound (far below it). `speed.py --only profile` puts it in RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

BATCH = 128


def layer_flops(layer: Any, x_shape: tuple[int, ...], y_shape: tuple[int, ...]) -> float:
    """Forward FLOPs of one layer for one batch (2 per multiply-add; elementwise work 1 per
    output value)."""
    name = type(layer).__name__
    if name == "Conv2D":
        n, o, oh, ow = y_shape
        return 2.0 * n * o * oh * ow * layer.in_channels * layer.kernel_size**2
    if name == "Dense":
        return 2.0 * x_shape[0] * layer.in_features * layer.out_features
    return float(np.prod(y_shape))


def _timed(
    totals: dict[str, float], key: str, method: Callable[..., np.ndarray]
) -> Callable[..., np.ndarray]:
    def wrapper(*args: Any, **kwargs: Any) -> np.ndarray:
        started = time.perf_counter()
        result = method(*args, **kwargs)
        totals[key] += time.perf_counter() - started
        return result

    return wrapper


def profile(steps: int = 60, warmup: int = 5) -> dict[str, Any]:
    """Train ``warmup + steps`` batches; per layer: forward and backward seconds per step, FLOPs
    and bytes; and the loss and optimizer step."""
    import barenet as bn
    from barenet.datasets import load_mnist
    from barenet.digits.config import TrainConfig
    from barenet.digits.recipe import build_model

    (x_train, y_train), _ = load_mnist()
    model = build_model(TrainConfig(layers=[784, 128, 10], conv=[32, 64], kernel_size=5))
    model.compile("cross_entropy", bn.Adam(1e-3))
    totals: dict[str, float] = defaultdict(float)
    shapes: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {}
    for index, layer in enumerate(model.layers):
        layer.forward = _timed(totals, f"{index}.forward", layer.forward)
        layer.backward = _timed(totals, f"{index}.backward", layer.backward)
    model.optimizer.step = _timed(totals, "optimizer", model.optimizer.step)
    assert model.loss is not None
    model.loss.forward = _timed(totals, "loss", model.loss.forward)
    model.loss.backward = _timed(totals, "loss", model.loss.backward)
    x = model.as_batch(x_train[:BATCH])
    for index, layer in enumerate(model.layers):  # record each layer's shapes once
        y = layer.forward(x, training=False)
        shapes[index] = (x.shape, y.shape)
        x = y
    rng = np.random.default_rng(0)
    step_seconds = 0.0
    for step in range(warmup + steps):
        if step == warmup:
            totals.clear()
            started = time.perf_counter()
        rows = rng.integers(0, len(x_train), BATCH)
        # One thread: each layer's own time (fit's default shares a batch among threads,
        # whose layer times overlap; that step is timed below).
        with bn.engine.using(bn.engine.active(), threads=1):
            model.fit(
                x_train[rows], y_train[rows], epochs=1, batch_size=BATCH, verbose=0,
                shuffle=False,
            )  # fmt: skip
    step_seconds = (time.perf_counter() - started) / steps
    rows_out = []
    for index, layer in enumerate(model.layers):
        x_shape, y_shape = shapes[index]
        forward_flops = layer_flops(layer, x_shape, y_shape)
        has_params = bool(layer.params)
        first_param_layer = index == next(i for i, lyr in enumerate(model.layers) if lyr.params)
        # Backward: a weight gradient and (except the first layer with weights) an input
        # gradient, each as much work as the forward pass for Conv2D and Dense.
        backward_flops = forward_flops * ((1 if first_param_layer else 2) if has_params else 1)
        moved = 4.0 * (np.prod(x_shape) + np.prod(y_shape))  # float32 in and out, at least
        for part, flops in (("forward", forward_flops), ("backward", backward_flops)):
            seconds = totals[f"{index}.{part}"] / steps
            rows_out.append(
                {
                    "layer": f"{index} {layer.label()}",
                    "pass": part,
                    "ms": 1000 * seconds,
                    "share": seconds / step_seconds,
                    "gflops": flops / 1e9,
                    "gflop_per_s": flops / seconds / 1e9 if seconds else 0.0,
                    "mb": moved / 1e6,
                }
            )
    for key in ("loss", "optimizer"):
        seconds = totals[key] / steps
        rows_out.append(
            {
                "layer": key,
                "pass": "",
                "ms": 1000 * seconds,
                "share": seconds / step_seconds,
                "gflops": 0.0,
                "gflop_per_s": 0.0,
                "mb": 0.0,
            }
        )
    threads, shared_seconds = _shared_step(x_train, y_train, steps, warmup)
    return {
        "batch": BATCH,
        "steps": steps,
        "step_ms": 1000 * step_seconds,
        "threads": threads,
        "shared_step_ms": 1000 * shared_seconds,
        "rows": rows_out,
    }


def _shared_step(
    x_train: np.ndarray, y_train: np.ndarray, steps: int, warmup: int
) -> tuple[int, float]:
    """The same steps as ``fit`` takes them by default: each batch shared among threads (one
    per core, ``barenet.engine.sharding``); the thread count and seconds per step."""
    import barenet as bn
    from barenet.digits.config import TrainConfig
    from barenet.digits.recipe import build_model
    from barenet.engine.sharding import shards_for

    model = build_model(TrainConfig(layers=[784, 128, 10], conv=[32, 64], kernel_size=5))
    model.compile("cross_entropy", bn.Adam(1e-3))
    threads = shards_for(model, BATCH)
    rows = np.random.default_rng(0).integers(0, len(x_train), BATCH * (warmup + steps))
    model.fit(x_train[rows[: BATCH * warmup]], y_train[rows[: BATCH * warmup]], epochs=1,
              batch_size=BATCH, verbose=0, shuffle=False)  # fmt: skip
    started = time.perf_counter()
    model.fit(x_train[rows[BATCH * warmup :]], y_train[rows[BATCH * warmup :]], epochs=1,
              batch_size=BATCH, verbose=0, shuffle=False)  # fmt: skip
    return threads, (time.perf_counter() - started) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args()
    result = profile(args.steps)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
