"""The ``barenet`` command: one module per command, wired together in ``main``."""

from barenet.cli.main import cli, main

__all__ = ["cli", "main"]
