"""The documentation site builds with Sphinx, every warning an error: the topic pages, the API
reference from the docstrings, and the guide's committed notebooks. It renders offline: no page
loads a script, stylesheet, font or image from the internet, and a formula page typesets its
TeX in Chromium with every network request refused."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("myst_nb")

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# What a page loads (not what it merely links to): scripts, images, frames, stylesheets, icons,
# and the fonts or sheets a stylesheet imports.
LOADED = [
    re.compile(r"<(?:script|img|iframe|source)\b[^>]*?\bsrc=\"([^\"]+)\""),
    re.compile(
        r"<link\b(?=[^>]*\brel=\"(?:stylesheet|icon|preload|modulepreload)\")[^>]*?\bhref=\"([^\"]+)\""
    ),
    re.compile(r"@import\s+(?:url\()?[\"']?([^\"')\s]+)"),
    re.compile(r"url\([\"']?([^\"')]+)"),
]
REMOTE = re.compile(r"(?:https?:)?//")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         str(DOCS), str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    return out


def test_the_site_builds_without_a_warning(site):
    api = (site / "api.html").read_text()
    for name in (
        "model.Sequential", "layers.Dense", "losses.CrossEntropy", "gradcheck.check_gradients",
        "conv.Conv2D",
    ):  # fmt: skip
        assert f'id="barenet.{name}"' in api, f"the API reference lacks barenet.{name}"
    assert "From <code" in (site / "guide" / "03-softmax.html").read_text()


def test_every_topic_page_is_on_the_site(site):
    for page in DOCS.glob("*.md"):
        assert (site / f"{page.stem}.html").is_file(), f"{page.name} is not in the site's toctree"


def test_nothing_is_loaded_from_the_internet(site):
    remote = []
    for page in [*site.rglob("*.html"), *site.rglob("*.css")]:
        text = page.read_text(errors="replace")
        for pattern in LOADED:
            remote += [
                f"{page.relative_to(site)}: {url}"
                for url in pattern.findall(text)
                if REMOTE.match(url)
            ]
    assert not remote, "pages load from the internet:\n" + "\n".join(remote[:20])


def readme_anchors() -> list[tuple[str, str]]:
    readme = (ROOT / "README.md").read_text()
    return re.findall(r"\]\(docs/([\w-]+)\.md#([\w-]+)\)", readme)


def test_the_readme_links_reach_their_sections(site):
    for page, anchor in readme_anchors():
        assert f'id="{anchor}"' in (site / f"{page}.html").read_text(), f"{page}.md#{anchor}"


def test_every_help_pointer_reaches_its_section(site):
    from barenet.cli.main import DOCS

    for command, pages in DOCS.items():
        for pointer in pages:
            page, _, anchor = pointer.removeprefix("docs/").partition("#")
            html = site / Path(page).with_suffix(".html")
            assert html.is_file(), f"barenet {command} --help points at {pointer}"
            assert not anchor or f'id="{anchor}"' in html.read_text(), pointer


def test_a_formula_page_typesets_offline(site):
    from tests.chromium import CHROMIUM, FLAGS, require_chromium

    sync_api = require_chromium()
    requested = []

    def refuse_the_network(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            requested.append(route.request.url)
            route.abort()

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=FLAGS
        )
        page = browser.new_page()
        page.route("**/*", refuse_the_network)
        page.goto((site / "guide" / "03-softmax.html").as_uri())
        page.wait_for_selector("mjx-container", timeout=30_000)
        typeset = page.locator("mjx-container").count()
        raw_tex = page.locator("div.math:not(:has(mjx-container))").count()
        browser.close()
    assert not requested, f"the page asked the network for {requested}"
    assert typeset >= 10 and raw_tex == 0, f"{typeset} formulas typeset, {raw_tex} left as TeX"
