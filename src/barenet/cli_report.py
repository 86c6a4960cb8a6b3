"""``barenet report``: a model's pictures (curves, confusion, mistakes, weights, calibration)."""

from __future__ import annotations

from pathlib import Path

import click

from barenet.cli import describe_data, stderr, stdout
from barenet.datasets import load_data
from barenet.shipped import open_model, resolve_model_path


def require_matplotlib() -> None:
    """Raise a one-line ClickException naming the extra to install when matplotlib is missing."""
    from barenet.plots import INSTALL_HINT

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise click.ClickException(INSTALL_HINT) from None


@click.command("report")
@click.argument("model_path", metavar="[MODEL]", required=False)
@click.option(
    "--data",
    "data_path",
    type=click.Path(),
    help="IDX folder, Keras .npz or CSV to test on (default: the shipped MNIST).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Folder for the PNGs and report.html (default: <model name>-report).",
)
def report_command(model_path: str | None, data_path: str | None, out: str | None) -> None:
    """Draw learning curves, the confusion matrix, the worst mistakes, per-digit accuracy, the
    first layer's weights and a calibration plot, and gather them in report.html.

    MODEL is a shipped model's name (cnn, the default, or mlp) or a model file.
    """
    from barenet.report import write_report

    require_matplotlib()
    path = resolve_model_path(model_path)
    model = open_model(model_path)
    data = load_data(data_path)
    describe_data(data, stderr)
    folder = Path(out) if out else Path(f"{path.stem}-report")
    stderr.print(f"Drawing the report of {path} ...")
    page = write_report(model, data, folder, path.name)
    for png in sorted(folder.glob("*.png")):
        stderr.print(f"  {png}")
    stdout.print(str(page))
