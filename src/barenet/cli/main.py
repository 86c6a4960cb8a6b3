"""The ``barenet`` command group: every command, and the rule that a user's mistake is one line.

Commands live in modules of their own and only wire the application to the terminal. Errors a
user can cause become one line on stderr and exit code 1; usage mistakes exit with 2; Ctrl-C
during training keeps what was trained and exits with 130.
"""

from __future__ import annotations

from typing import Any

import click

from barenet.cli.common import INTERRUPTED
from barenet.cli.ensemble import ensemble_command
from barenet.cli.evaluate import evaluate_command
from barenet.cli.experiment import experiment_command
from barenet.cli.export import export_command
from barenet.cli.finetune import finetune_command
from barenet.cli.predict import predict_command
from barenet.cli.presets import presets_command
from barenet.cli.report import report_command
from barenet.cli.serve import serve_command
from barenet.cli.train import train_command
from barenet.training import TrainingDiverged
from barenet.version import __version__

# DataError, ImageError and ModelFileError are ValueErrors; a missing file is an OSError; a
# network or batch too large for this machine is a MemoryError (NumPy says how much it asked).
USER_ERRORS = (ValueError, OSError, MemoryError, TrainingDiverged)


class FriendlyGroup(click.Group):
    """Turns the library's exceptions into click's one-line ``Error: ...`` and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as error:
            raise click.ClickException(str(error)) from None
        except KeyboardInterrupt:  # before anything was worth keeping (training keeps its own)
            click.echo("Interrupted.", err=True)
            ctx.exit(INTERRUPTED)


@click.group(cls=FriendlyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="barenet")
def cli() -> None:
    """barenet: neural networks from scratch in NumPy, on MNIST digits and your own."""


for command in (
    train_command,
    finetune_command,
    ensemble_command,
    evaluate_command,
    predict_command,
    experiment_command,
    presets_command,
    report_command,
    serve_command,
    export_command,
):
    cli.add_command(command)


def main() -> None:
    """Entry point of the ``barenet`` console script."""
    cli()
