"""How the drawing page keeps up while a person draws: `barenet serve` on loopback, Debian's
Chromium (headless, through Playwright) tracing MNIST test digits stroke by stroke, with the
"Inside the network" view open. The page times itself with the User Timing API: each answer's
round trip (request to parsed JSON) and the time to draw every layer; a PerformanceObserver
counts the main thread's long tasks (over 50 ms, when the page would feel stuck).

    python benchmarks/page.py [--digits 10]

`speed.py --only page` runs it too and puts the figures in RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))  # tests.helpers: the same drawing as the page's tests

from load import serving  # noqa: E402
from tests.helpers import trace_digit  # noqa: E402

LONG_TASKS = """
window.longTasks = [];
new PerformanceObserver((list) => window.longTasks.push(...list.getEntries().map(e => e.duration)))
  .observe({ type: "longtask", buffered: true });
"""


def durations(page: Any, name: str) -> list[float]:
    return page.evaluate(f"performance.getEntriesByName('{name}').map(entry => entry.duration)")


def measure_page(model: str = "cnn", digits: int = 10) -> dict[str, Any]:
    from playwright.sync_api import expect, sync_playwright

    from barenet.datasets import load_mnist

    _, (x_test, y_test) = load_mnist()
    with serving(model) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.add_init_script(LONG_TASKS)
        page.goto(base)
        answers, correct = [], 0
        for index in range(digits):
            page.get_by_role("button", name="Clear").click()
            before = len(durations(page, "barenet:round-trip"))
            trace_digit(page, x_test[index])
            expect(page.locator("#digit")).to_have_attribute(
                "data-digit", re.compile(r"\d"), timeout=15000
            )
            page.wait_for_load_state("networkidle")
            answers.append(len(durations(page, "barenet:round-trip")) - before)
            correct += page.locator("#digit").text_content() == str(y_test[index])
        render = durations(page, "barenet:render")
        trip = durations(page, "barenet:round-trip")
        long_tasks = page.evaluate("window.longTasks")
        browser.close()
    return {
        "model": model,
        "digits": digits,
        "correct": correct,
        "answers_per_digit": float(np.mean(answers)),
        "round_trip_p50_ms": float(np.percentile(trip, 50)),
        "round_trip_p95_ms": float(np.percentile(trip, 95)),
        "render_p50_ms": float(np.percentile(render, 50)),
        "render_p95_ms": float(np.percentile(render, 95)),
        "long_tasks": len(long_tasks),
        "longest_task_ms": max(long_tasks, default=0.0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--digits", type=int, default=10)
    args = parser.parse_args()
    for model in ("cnn", "mlp"):
        print(json.dumps(measure_page(model, args.digits)))


if __name__ == "__main__":
    main()
