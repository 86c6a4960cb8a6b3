"""Debian's Chromium, driven by Playwright, for the tests that look at a page as a person does.

The browser is the system's /usr/bin/chromium: nothing is downloaded. Where it is missing the
tests that need it are skipped, unless BARENET_REQUIRE_BROWSER=1 (set by .ci/run) makes that a
failure."""

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def require_chromium():
    """Skip (or, under BARENET_REQUIRE_BROWSER=1, fail) the calling module without Chromium;
    return Playwright's sync API."""
    if not CHROMIUM.exists() or not os.access(CHROMIUM, os.X_OK):
        if os.environ.get("BARENET_REQUIRE_BROWSER") == "1":
            pytest.fail(
                "BARENET_REQUIRE_BROWSER=1 but /usr/bin/chromium is missing: "
                "apt-get install chromium",
                pytrace=False,
            )
        pytest.skip(
            "Debian's chromium is not installed (apt-get install chromium)",
            allow_module_level=True,
        )
    return pytest.importorskip("playwright.sync_api")
