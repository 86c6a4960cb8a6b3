"""The README is the front door: short, the two set-up commands first, an example that runs,
every link pointing at a file that exists, and no lab notebook (dates, CPU models, BLAS settings:
those live in benchmarks/ beside the figures they qualify)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
LINES = README.splitlines()
SETUP = ['pip install ".[cli]" && barenet train', 'pip install -e ".[dev]" && pytest']


def line_of(text: str) -> int:
    """1-based number of the README line holding ``text``."""
    return next(n for n, line in enumerate(LINES, 1) if text in line)


def test_it_reads_in_five_minutes():
    assert len(LINES) <= 250, f"the README has {len(LINES)} lines; the front door keeps to 250"
    words = len(README.split())
    assert words <= 2500, f"the README has {words} words; the front door keeps to 2,500"


def test_the_two_commands_come_first_with_nothing_to_do_before_them():
    first = line_of(SETUP[0])
    assert first <= 40 and line_of(SETUP[1]) == first + 1
    before = "\n".join(LINES[:first])
    for chore in ("git clone", "\ncd ", "venv", "virtualenv", "conda"):
        assert chore not in before, f"the README asks for {chore.strip()!r} before its commands"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'python -m pip install -e ".[dev]"' in ci and "python -m pytest" in ci


def python_example() -> tuple[int, str]:
    match = re.search(r"```python\n(.*?)```", README, re.S)
    assert match, "the README has no Python example"
    return README[: match.start()].count("\n") + 1, match.group(1)


def test_the_python_example_builds_fits_evaluates_and_checks_a_gradient(tmp_path):
    start, code = python_example()
    end = start + code.count("\n") + 1
    assert end <= 120, f"the Python example ends on line {end}; the front door shows it by 120"
    for step in (".fit(", ".evaluate(", "check_gradients("):
        assert step in code, f"the README's example lacks {step}"
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    printed = run.stdout.strip().splitlines()
    accuracy = float(re.search(r"'accuracy': ([0-9.]+)", printed[-3]).group(1))
    assert accuracy > 0.95, f"the example's network reads only {accuracy:.1%} of the test set"
    assert printed[-2] == "[7 2 1 0 4]"
    assert float(printed[-1]) < 1e-6, "the example's gradient check does not pass"
    assert (tmp_path / "my_model.npz").is_file()


def links() -> list[str]:
    """Every Markdown link and image target that is not a web address."""
    targets = re.findall(r"\]\(([^)\s]+)\)", README)
    return [t for t in targets if not re.match(r"[a-z]+://", t)]


@pytest.mark.parametrize("target", links())
def test_every_link_names_a_file_that_exists(target):
    path = target.partition("#")[0]
    assert (ROOT / path).exists(), f"the README links to {path}, which does not exist"


def test_every_docs_page_is_linked():
    pages = {p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md")}
    linked = {t.partition("#")[0] for t in links()}
    assert pages - {"docs/index.md"} <= linked, f"unlinked: {sorted(pages - linked)}"


@pytest.mark.parametrize(
    "pattern",
    [r"\b20\d\d-\d\d-\d\d\b", r"EPYC|Xeon|Zen \d|family \d", r"OPENBLAS|AVX", r"bit[- ]identical"],
)
def test_no_lab_notebook(pattern):
    found = re.search(pattern, README, re.I)
    assert not found, f"the README says {found.group(0)!r}: that belongs in benchmarks/"
