"""``barenet presets``: the named training set-ups, one block each: its name, then what it is."""

from __future__ import annotations

import textwrap

import click
from rich.text import Text

from barenet.cli.common import stdout
from barenet.digits.presets import DEFAULT_PRESET, PRESETS

INDENT = "    "
WIDEST = 100  # wrap the descriptions at this width in a wider terminal: long lines read badly


@click.command("presets")
def presets_command() -> None:
    """List the named training set-ups."""
    width = max(min(stdout.width, WIDEST), 40)
    for preset in PRESETS.values():
        default = " (the default)" if preset.name == DEFAULT_PRESET else ""
        stdout.print(Text(preset.name, style="bold") + default)
        lines = [preset.description]
        if preset.reported:
            lines.append(f"Its tutorial reported {preset.reported}.")
        for line in lines:
            # Hyphens stay joined: "784-100-50-10" and "U(-0.5,0.5)" are never split.
            stdout.print(
                textwrap.fill(
                    line,
                    width,
                    initial_indent=INDENT,
                    subsequent_indent=INDENT,
                    break_long_words=False,
                    break_on_hyphens=False,
                )
            )
        stdout.print()
    stdout.print("Train one with: barenet train --preset NAME")
