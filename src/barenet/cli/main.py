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
from barenet.cli.grade import grade_command
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


# Where each command is explained: its section of docs/cli.md, then the topic page it belongs
# to. The paths are those in barenet's repository; the built site has each page as .html.
DOCS = {
    "train": ("docs/cli.md#barenet-train",),
    "finetune": ("docs/cli.md#barenet-finetune", "docs/your-digit.md"),
    "ensemble": ("docs/cli.md#barenet-ensemble",),
    "evaluate": ("docs/cli.md#barenet-evaluate",),
    "predict": ("docs/cli.md#barenet-predict", "docs/your-digit.md"),
    "experiment": ("docs/cli.md#barenet-experiment", "docs/experiments.md"),
    "presets": ("docs/cli.md#barenet-presets", "docs/presets.md"),
    "report": ("docs/cli.md#barenet-report",),
    "serve": ("docs/cli.md#barenet-serve", "docs/page.md"),
    "export": ("docs/cli.md#barenet-export",),
    "grade": ("docs/cli.md#barenet-grade",),
}


def docs_pointer(pages: tuple[str, ...]) -> str:
    """The last line of a command's --help: ``Docs: docs/cli.md#barenet-train``."""
    return "Docs: " + " and ".join(pages)


@click.group(
    cls=FriendlyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Docs: docs/ in barenet's repository; docs/cli.md has a section per command.",
)
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
    grade_command,
):
    assert command.name is not None and command.help is not None
    # The listing in `barenet --help` shows the docstring's whole first line, wrapped at need,
    # where click would cut it short with "..." in a narrow terminal.
    command.short_help = command.help.strip().splitlines()[0]
    command.epilog = docs_pointer(DOCS[command.name])
    cli.add_command(command)


def main() -> None:
    """Entry point of the ``barenet`` console script."""
    cli()
