"""What every chapter of the guide imports: ``show_source``, which prints a barenet function's
current source beside the formula it computes.

The source is read from the installed code each time the chapter runs, never pasted, so the
guide cannot drift from the code: a renamed or deleted function fails the chapter, and
``tests/test_guide.py`` checks that the committed notebooks show today's source.
"""

from __future__ import annotations

import inspect
import textwrap
from pathlib import Path
from typing import Any

HEADER = "From `{file}`: `{name}`"


def qualified_name(obj: Any) -> str:
    """``barenet.losses.CrossEntropy.forward`` for that method (module + qualified name)."""
    return f"{obj.__module__}.{obj.__qualname__}"


def source_file(obj: Any) -> str:
    """The file that defines ``obj``, relative to the repository (``src/barenet/...``)."""
    path = Path(inspect.getsourcefile(obj) or "?").resolve()
    parts = path.parts
    return "/".join(parts[parts.index("src") :]) if "src" in parts else path.name


class Source:
    """Displays as a Markdown code block in a notebook, as plain text elsewhere."""

    def __init__(self, obj: Any) -> None:
        self.name = qualified_name(obj)
        defined = inspect.unwrap(obj)  # a decorated function: the code its author wrote
        self.header = HEADER.format(file=source_file(defined), name=self.name)
        self.code = textwrap.dedent(inspect.getsource(defined)).rstrip()

    def _repr_markdown_(self) -> str:
        return f"{self.header}\n\n```python\n{self.code}\n```"

    def __repr__(self) -> str:
        return f"{self.header}\n\n{self.code}"


def show_source(obj: Any) -> Source:
    """The current source of a barenet function, method or class, for display."""
    return Source(obj)
