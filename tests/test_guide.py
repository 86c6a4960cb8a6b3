"""The guide cannot drift from the code.

The chapters themselves run under nbmake (``pytest`` collects ``docs/guide/*.ipynb``); these
checks make sure that what runs is what a reader sees: each committed notebook holds its
source's cells, every formula is followed by the code that computes it, and every function a
notebook shows still exists and still reads as shown.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbformat = pytest.importorskip("nbformat")

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "guide"
SOURCES = sorted(GUIDE.glob("[0-9][0-9]-*.md"))
SHOWN = re.compile(
    r"^From `(?P<file>[^`]+)`: `(?P<name>[^`]+)`\n\n```python\n(?P<code>.*)\n```$", re.S
)


def notebook_of(source: Path) -> nbformat.NotebookNode:
    return nbformat.read(source.with_suffix(".ipynb"), as_version=4)


def shown_sources(notebook: nbformat.NotebookNode) -> list[re.Match[str]]:
    """Every ``show_source`` display in the notebook's outputs."""
    shown = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get("text/markdown", "")
            if match := SHOWN.match(text):
                shown.append(match)
    return shown


def resolve(qualified: str) -> object:
    """``barenet.losses.CrossEntropy.forward`` -> that object (longest importable module)."""
    parts = qualified.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            obj = getattr(obj, attribute)
        return obj
    raise ImportError(qualified)


def test_the_guide_has_its_chapters() -> None:
    assert len(SOURCES) >= 8
    index = (GUIDE / "README.md").read_text()
    readme = (ROOT / "README.md").read_text()
    for source in SOURCES:
        assert f"({source.stem}.ipynb)" in index, f"docs/guide/README.md does not list {source}"
    assert "docs/guide" in readme


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.stem)
def test_the_committed_notebook_is_its_source_executed(source: Path) -> None:
    """The .ipynb a reader opens holds exactly the .md's cells, each of them run."""
    expected = jupytext.read(source)
    committed = notebook_of(source)
    assert [(c.cell_type, c.source) for c in committed.cells] == [
        (c.cell_type, c.source) for c in expected.cells
    ], f"{source.name} changed since its notebook was built: run python docs/guide/build.py"
    for cell in committed.cells:
        if cell.cell_type == "code":
            assert cell.execution_count is not None, f"a cell of {source.name} was never run"
            assert not [o for o in cell.outputs if o.output_type == "error"]


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.stem)
def test_every_formula_is_followed_by_the_code_that_computes_it(source: Path) -> None:
    cells = jupytext.read(source).cells
    for index, cell in enumerate(cells):
        if cell.cell_type == "markdown" and "$$" in cell.source:
            following = cells[index + 1].source if index + 1 < len(cells) else ""
            # The code is barenet's (shown from the installed source) or the learner's own.
            assert re.search(r"show_source\(|^(def|class) ", following, re.M), (
                f"{source.name}: the formula in {cell.source[:80]!r}... is not followed by "
                "show_source(...) of the function that computes it, or by its definition"
            )


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.stem)
def test_every_function_shown_exists_and_reads_as_shown(source: Path) -> None:
    from guidetools import show_source  # on the path: see pyproject.toml

    shown = shown_sources(notebook_of(source))
    assert shown, f"{source.name} shows no code"
    for match in shown:
        current = show_source(resolve(match["name"]))
        assert current.name == match["name"]
        assert current.code == match["code"], (
            f"{source.name} shows an old version of {match['name']}: run python docs/guide/build.py"
        )


def test_a_notebook_showing_a_function_that_was_changed_fails_the_check() -> None:
    from guidetools import show_source

    import barenet

    shown = show_source(barenet.activations.sigmoid)._repr_markdown_()
    match = SHOWN.match(shown)
    assert match is not None and match["name"] == "barenet.activations.sigmoid"
    stale = SHOWN.match(shown.replace("np.exp(", "np.expm1("))
    assert stale is not None
    assert show_source(resolve(stale["name"])).code != stale["code"]
    with pytest.raises(AttributeError):
        resolve("barenet.activations.no_such_function")
