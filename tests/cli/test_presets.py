"""barenet presets: every preset in full, readable at 80 columns in a pipe."""

import os
import subprocess
import sys

from barenet.digits.presets import DEFAULT_PRESET, PRESETS
from tests.helpers import invoke


def test_presets_lists_every_preset():
    result = invoke("presets")
    for name in (
        "tutorial-tanh-mse",
        "tutorial-relu-sigmoid",
        "tutorial-relu-softmax-16",
        "quick",
        "mlp",
    ):
        assert name in result.stdout


def piped_presets(columns):
    """What `COLUMNS=<columns> barenet presets | cat` prints."""
    env = {**os.environ, "COLUMNS": str(columns)}
    env.pop("FORCE_COLOR", None)
    result = subprocess.run(
        [sys.executable, "-m", "barenet", "presets"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_presets_read_whole_at_80_columns_in_a_pipe():
    text = piped_presets(80)
    lines = text.splitlines()
    assert max(map(len, lines)) <= 80
    assert "…" not in text and "..." not in text and "\x1b" not in text  # nothing cut, no colour
    flowing = " ".join(text.split())  # the descriptions wrap, but lose no word
    for preset in PRESETS.values():
        default = " (the default)" if preset.name == DEFAULT_PRESET else ""
        assert preset.name + default in lines  # the name on a line of its own
        assert " ".join(preset.description.split()) in flowing
        assert preset.reported in flowing
    # One block per preset (its name, a few lines of description, a blank line), not a table
    # whose narrow columns stack a description one or two words per line.
    assert len(lines) < 5 * len(PRESETS)
    assert "│" not in text


def test_presets_wrap_at_100_columns_in_a_wide_terminal():
    lines = piped_presets(200).splitlines()
    assert 80 < max(map(len, lines)) <= 100
