"""End to end: `barenet serve` on a loopback port, driven in Debian's Chromium by Playwright.

A real MNIST test digit is traced onto the canvas with mouse strokes; the page must show the right
digit with bars summing to 1. The browser is the system's /usr/bin/chromium: nothing is downloaded.
Where it is missing the test is skipped, unless BARENET_REQUIRE_BROWSER=1 (set by .ci/run).
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]

if not CHROMIUM.exists() or not os.access(CHROMIUM, os.X_OK):
    if os.environ.get("BARENET_REQUIRE_BROWSER") == "1":
        pytest.fail(
            "BARENET_REQUIRE_BROWSER=1 but /usr/bin/chromium is missing: apt-get install chromium",
            pytrace=False,
        )
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True
    )
sync_api = pytest.importorskip("playwright.sync_api")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "barenet", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"barenet serve did not start:\n{process.stdout.read()}")
            time.sleep(0.2)
    yield url, process
    if process.poll() is None:
        process.kill()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=FLAGS
        )
        yield chromium
        chromium.close()


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


def shown_probabilities(page):
    return [
        float(v)
        for v in page.locator("#bars li").evaluate_all(
            "items => items.map(item => item.dataset.probability)"
        )
    ]


def test_drawing_a_digit_shows_the_prediction(server, browser, tmp_path):
    from barenet.datasets import load_mnist

    url, _ = server
    _, (x_test, y_test) = load_mnist()
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    console_errors = []
    page.on("console", lambda message: message.type == "error" and console_errors.append(message))
    page.goto(url)
    # Locator assertions, not wait_for_function: the page's CSP forbids the eval that needs.
    sync_api.expect(page.locator("#model-info")).to_contain_text("accuracy")
    assert "mnist-cnn.npz" in page.locator("#model-info").text_content()
    for index in (0, 1):  # a 7 and a 2
        page.get_by_role("button", name="Clear").click()
        assert page.locator("#digit").text_content() == "?"
        trace_digit(page, x_test[index])
        # Throttled requests while drawing, and a last one after the final stroke.
        sync_api.expect(page.locator("#digit")).to_have_attribute(
            "data-digit", str(y_test[index]), timeout=15000
        )
        page.wait_for_load_state("networkidle")
        assert page.locator("#digit").text_content() == str(y_test[index])
        probabilities = shown_probabilities(page)
        assert len(probabilities) == 10 and sum(probabilities) == pytest.approx(1, abs=1e-4)
        assert int(np.argmax(probabilities)) == y_test[index]
        # The bar is drawn as long as its probability (here, most of its track).
        fill = page.locator("#bars li.best .fill").bounding_box()["width"]
        track = page.locator("#bars li.best .track").bounding_box()["width"]
        assert fill == pytest.approx(track * max(probabilities), abs=2)
    shot = tmp_path / "page.png"
    page.screenshot(path=str(shot), full_page=True)
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.std() > 20 and len(np.unique(pixels)) > 50  # text, bars and drawing, not blank
    page.close()
    blocked = [m.text for m in console_errors if "Content Security Policy" in m.text]
    assert blocked == []  # the page runs under its own CSP


def test_upload_button_and_phone_width(server, browser, tmp_path):
    from barenet.datasets import load_mnist

    url, _ = server
    _, (x_test, y_test) = load_mnist()
    image = Image.fromarray(255 - x_test[2]).resize((200, 200))
    image.save(tmp_path / "digit.png")
    page = browser.new_page(viewport={"width": 375, "height": 740}, has_touch=True)
    page.goto(url)
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Upload an image").click()
    chooser.value.set_files(str(tmp_path / "digit.png"))
    sync_api.expect(page.locator("#digit")).to_have_attribute(
        "data-digit", str(y_test[2]), timeout=15000
    )
    # Nothing sticks out sideways on a phone, and the canvas fills the width.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.locator("#pad").bounding_box()["width"] > 250
    # Every control is reachable by keyboard and named for screen readers.
    names = page.locator("button").evaluate_all("items => items.map(b => b.textContent)")
    assert names == ["Clear", "Upload an image…"]
    page.locator("h1").click()  # start keyboard navigation from the top of the page
    order = []
    for _ in range(3):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id"))
    assert order == ["pad", "clear", "upload"]
    assert page.locator("#pad").get_attribute("aria-label").startswith("Drawing area")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")  # Clear, from the keyboard
    assert page.locator("#digit").text_content() == "?"
    page.close()


def test_server_logs_requests_and_stops_cleanly_on_ctrl_c(server):
    url, process = server
    with urllib.request.urlopen(f"{url}/api/model", timeout=5) as response:
        assert response.status == 200
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert '"GET /api/model HTTP/1.1" 200' in output
    assert "Shutting down" in output and "Traceback" not in output
