"""``barenet report``: a model's pictures (curves, confusion, mistakes, weights, calibration)."""

from __future__ import annotations

from pathlib import Path

import click

from barenet.cli.common import describe_data, require_matplotlib, stderr, stdout
from barenet.cli.options import data_option
from barenet.digits.data import load_digit_data
from barenet.digits.shipped import open_model


@click.command("report")
@click.argument("model_path", metavar="[MODEL]", required=False)
@data_option(" to test on")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Folder for the PNGs and report.html (default: <model name>-report).",
)
def report_command(model_path: str | None, data_path: str | None, out: str | None) -> None:
    """Draw a model's pictures and gather them in report.html.

    Learning curves, the confusion matrix, the worst mistakes, per-digit accuracy, the first
    layer's weights and a calibration plot. MODEL is a shipped model's name (cnn, the
    default, or mlp) or a model file.
    """
    from barenet.report.page import write_report

    require_matplotlib()
    model, path = open_model(model_path)
    data = load_digit_data(data_path)
    describe_data(data, stderr)
    folder = Path(out) if out else Path(f"{path.stem}-report")
    stderr.print(f"Drawing the report of {path} ...")
    page = write_report(model, data, folder, path.name)
    for png in sorted(folder.glob("*.png")):
        stderr.print(f"  {png}")
    stdout.print(str(page))
