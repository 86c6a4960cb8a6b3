"""Execute the guide's chapters and write them as notebooks with their outputs.

    python docs/guide/build.py                 # every chapter
    python docs/guide/build.py 03-softmax.md   # some

Each ``NN-name.md`` (the source you edit, a jupytext Markdown notebook) is run top to bottom in
a fresh kernel, in this folder, and saved beside it as ``NN-name.ipynb``: the copy that GitHub
shows with its figures, and that CI runs again with nbmake. Run this after changing a chapter or
a function that a chapter shows.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import jupytext
from nbclient import NotebookClient

GUIDE = Path(__file__).resolve().parent


def chapters(names: list[str]) -> list[Path]:
    """The chapter sources named (default: all of them, in order)."""
    if names:
        return [GUIDE / Path(name).with_suffix(".md").name for name in names]
    return sorted(GUIDE.glob("[0-9][0-9]-*.md"))


def build(source: Path) -> float:
    """Execute ``source`` and write its ``.ipynb``; returns the seconds it took."""
    notebook = jupytext.read(source)
    started = time.perf_counter()
    NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(GUIDE)}}
    ).execute()
    seconds = time.perf_counter() - started
    for cell in notebook.cells:  # keep diffs to what a reader sees
        cell.metadata.pop("execution", None)
    jupytext.write(notebook, source.with_suffix(".ipynb"))
    return seconds


def main() -> None:
    for source in chapters(sys.argv[1:]):
        print(f"{source.name}: ", end="", flush=True)
        print(f"{build(source):.1f} s")


if __name__ == "__main__":
    main()
