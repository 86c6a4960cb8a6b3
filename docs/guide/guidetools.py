"""What every chapter of the guide imports: ``show_source``, which prints a barenet function's
current source beside the formula it computes.

The source is read from the installed code each time the chapter runs, never pasted, so the
guide cannot drift from the code: a renamed or deleted function fails the chapter, and
``tests/test_guide.py`` checks that the committed notebooks show today's source.

The guide teaches the textbook, so a method that ``barenet.engine`` has put in a textbook
method's place (``bn.Conv2D.forward`` while the numba engine runs) is shown as the textbook
wrote it: the formula, not the techniques that make it fast (see ``docs/performance.md``).
"""

from __future__ import annotations

import inspect
import textwrap
from pathlib import Path
from typing import Any

import barenet

HEADER = "From `{file}`: `{name}`"


def qualified_name(obj: Any) -> str:
    """``barenet.losses.CrossEntropy.forward`` for that method (module + qualified name)."""
    return f"{obj.__module__}.{obj.__qualname__}"


def source_file(obj: Any) -> str:
    """The file that defines ``obj``, relative to the repository (``src/barenet/...``)."""
    path = Path(inspect.getsourcefile(obj) or "?").resolve()
    parts = path.parts
    return "/".join(parts[parts.index("src") :]) if "src" in parts else path.name


def textbook(obj: Any) -> Any:
    """The textbook's own method in whose place the engine put ``obj``, else ``obj`` itself."""
    for key, replacement in barenet.engine.REPLACEMENTS.items():
        if obj is replacement:
            return barenet.engine.TEXTBOOK[key]
    return obj


class Source:
    """Displays as a Markdown code block in a notebook, as plain text elsewhere."""

    def __init__(self, obj: Any) -> None:
        obj = textbook(obj)
        self.name = qualified_name(obj)
        defined = inspect.unwrap(obj)  # a decorated function: the code its author wrote
        self.header = HEADER.format(file=source_file(defined), name=self.name)
        self.code = textwrap.dedent(inspect.getsource(defined)).rstrip()

    def _repr_markdown_(self) -> str:
        return f"{self.header}\n\n```python\n{self.code}\n```"

    def __repr__(self) -> str:
        return f"{self.header}\n\n{self.code}"


def show_source(obj: Any) -> Source:
    """The current source of a barenet function, method or class, for display (a textbook
    method as the textbook wrote it, whichever engine is in use)."""
    return Source(obj)
