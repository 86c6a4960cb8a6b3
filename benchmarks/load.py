"""Load test of `barenet serve`, on loopback only: a fixed number of prediction requests from
8 concurrent clients, then it stops. Reports predictions per second and latency percentiles.

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
from concurrent.futures import ThreadPoolExecutor
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


def post(url: str, body: bytes) -> float:
    """One prediction; returns its latency in seconds (raises on a non-200 answer)."""
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        if response.status != 200:
            raise RuntimeError(f"answer {response.status}")
    return time.perf_counter() - started


def measure_load(requests: int = 800, clients: int = 8, model: str = "cnn") -> dict[str, Any]:
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
        bodies = canvas_pngs(100)
        url = f"{base}/api/predict"
        for body in bodies[:20]:  # warm-up
            post(url, body)
        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            latencies = list(
                pool.map(lambda i: post(url, bodies[i % len(bodies)]), range(requests))
            )
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    milliseconds = np.array(latencies) * 1000
    return {
        "model": model,
        "requests": requests,
        "clients": clients,
        "seconds": elapsed,
        "predictions_per_second": requests / elapsed,
        "p50_ms": float(np.percentile(milliseconds, 50)),
        "p99_ms": float(np.percentile(milliseconds, 99)),
        "mean_ms": statistics.fmean(milliseconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=800)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--model", default="cnn")
    args = parser.parse_args()
    result = measure_load(args.requests, args.clients, args.model)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
