"""``barenet presets``: the named training set-ups, as a table."""

from __future__ import annotations

import click
from rich.table import Column, Table

from barenet.cli.common import stdout
from barenet.digits.presets import DEFAULT_PRESET, PRESETS


@click.command("presets")
def presets_command() -> None:
    """List the named training set-ups."""
    longest = max(len(name) for name in PRESETS)
    table = Table(
        Column("preset", no_wrap=True, min_width=longest), "what it is", "tutorial reported"
    )
    for preset in PRESETS.values():
        name = f"{preset.name}\n(default)" if preset.name == DEFAULT_PRESET else preset.name
        table.add_row(name, preset.description, preset.reported or "-")
    stdout.print(table)
