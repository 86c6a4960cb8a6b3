"""Load test of `barenet serve`, on loopback only: a fixed number of requests to /api/predict and
to /api/explain, from one client and from 8 concurrent clients, then it stops. Reports answers per
second, latency percentiles and the size of the answers.

    python benchmarks/load.py [--requests 800] [--clients 8] [--model cnn]

`speed.py` runs it too and puts the figures in RESULTS.md.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def canvas_pngs(count: int) -> list[bytes]:
    """MNIST test digits as the page sends them: 280x280 PNGs, dark ink on white."""
    from PIL import Image

    from barenet.datasets import load_mnist

    _, (x_test, _) = load_mnist()
    bodies = []
    for pixels in x_test[:count]:
        image = Image.fromarray(255 - pixels).resize((280, 280), Image.Resampling.BILINEAR)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        data_url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
        bodies.append(json.dumps({"image": data_url}).encode())
    return bodies


def post(url: str, body: bytes) -> tuple[float, int]:
    """One request; returns its latency in seconds and the answer's size in bytes (raises on a
    non-200 answer)."""
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        size = len(response.read())
        if response.status != 200:
            raise RuntimeError(f"answer {response.status}")
    return time.perf_counter() - started, size


@contextmanager
def serving(model: str) -> Iterator[str]:
    """`barenet serve --model MODEL` on a free loopback port; yields its base URL."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "barenet", "serve", "--model", model, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("barenet serve did not start") from None
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def measure(url: str, bodies: list[bytes], requests: int, clients: int) -> dict[str, Any]:
    """``requests`` requests to ``url`` from ``clients`` threads, after 20 warm-up requests."""
    for body in bodies[:20]:
        post(url, body)
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        answers = list(pool.map(lambda i: post(url, bodies[i % len(bodies)]), range(requests)))
    elapsed = time.perf_counter() - started
    milliseconds = np.array([latency for latency, _ in answers]) * 1000
    return {
        "endpoint": url.split("/", 3)[3],
        "requests": requests,
        "clients": clients,
        "seconds": elapsed,
        "predictions_per_second": requests / elapsed,
        "p50_ms": float(np.percentile(milliseconds, 50)),
        "p99_ms": float(np.percentile(milliseconds, 99)),
        "mean_ms": statistics.fmean(milliseconds),
        "answer_kb": statistics.fmean(size for _, size in answers) / 1000,
    }


def measure_load(
    requests: int = 800,
    clients: int = 8,
    model: str = "cnn",
    endpoints: Sequence[str] = ("api/predict", "api/explain"),
) -> list[dict[str, Any]]:
    """Each endpoint of one server, first with a single client (200 requests, one at a time: the
    latency of one call), then with ``clients`` concurrent clients."""
    with serving(model) as base:
        bodies = canvas_pngs(100)
        runs = []
        for endpoint in endpoints:
            for count, total in ((1, 200), (clients, requests)):
                print(f"  {model} /{endpoint}, {count} client(s)", flush=True)
                runs.append({"model": model, **measure(f"{base}/{endpoint}", bodies, total, count)})
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=800)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--model", default="cnn")
    args = parser.parse_args()
    for run in measure_load(args.requests, args.clients, args.model):
        print(json.dumps(run))


if __name__ == "__main__":
    main()
