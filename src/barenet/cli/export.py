"""``barenet export``: write a model as ONNX, to run wherever onnxruntime runs."""

from __future__ import annotations

from typing import Any

import click

from barenet.cli.common import emit_json, stdout
from barenet.cli.options import json_option
from barenet.digits.shipped import open_model
from barenet.onnx_export import export_onnx


@click.command("export")
@click.argument("model_name", metavar="MODEL")
@click.argument("out", type=click.Path(dir_okay=False))
@json_option
def export_command(model_name: str, out: str, as_json: bool) -> None:
    """Write a model as ONNX, to run it elsewhere.

    MODEL is cnn, ensemble, mlp or a model file; OUT the .onnx file to write. Needs
    barenet[onnx].
    """
    model, path = open_model(model_name)
    try:
        written = export_onnx(model, out)
    except ImportError as error:  # the onnx extra is not installed
        raise click.ClickException(str(error)) from None
    shape = ", ".join(map(str, ("batch", *(model.input_shape or ())))) or "batch, ..."
    output = "probabilities" if type(model.layers[-1]).__name__ == "Softmax" else "output"
    details: dict[str, Any] = {
        "model": str(path),
        "onnx": str(written),
        "bytes": written.stat().st_size,
        "input": {"name": "input", "shape": f"({shape})", "dtype": model.dtype.name},
        "output": {"name": output, "shape": f"(batch, {model.output_size()})"},
    }
    if as_json:
        emit_json(details)
        return
    stdout.print(
        f"Exported {path.name} to {written} ({details['bytes'] / 1000:,.0f} kB): input "
        f"'input' ({shape}) {model.dtype.name}, what the barenet model takes; output "
        f"'{output}' (batch, {model.output_size()})."
    )
