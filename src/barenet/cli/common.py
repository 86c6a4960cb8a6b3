"""What every command shares: the consoles, JSON output, exit codes and a few messages."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console

from barenet.datasets import Dataset

INTERRUPTED = 130  # the shell's code for "stopped by Ctrl-C"
# Markup off: file names and messages are printed literally ("[red]x.png" stays as typed); the
# few styled lines ask for markup and escape what they interpolate.
stdout = Console(highlight=False, markup=False)
stderr = Console(stderr=True, highlight=False, markup=False)


def emit_json(payload: Any) -> None:
    """Print ``payload`` as the only thing on standard output (for ``--json``)."""
    click.echo(json.dumps(payload, indent=2))


def describe_data(data: Dataset, console: Console) -> None:
    """One line naming the data and its size, then any note its loader made."""
    console.print(
        f"Data: {data.source} ({len(data.x_train):,} train / {len(data.x_test):,} test images)"
    )
    for note in data.notes:
        console.print(f"Note: {note}")


def require_matplotlib() -> None:
    """Raise a one-line ClickException naming the extra to install when matplotlib is missing."""
    from barenet.report.plots import INSTALL_HINT

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise click.ClickException(INSTALL_HINT) from None
