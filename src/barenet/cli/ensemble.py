"""``barenet ensemble``: several trained models saved as one that averages their probabilities."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from barenet.atomic import check_writable
from barenet.cli.common import describe_data, emit_json, stderr, stdout
from barenet.cli.options import data_option, json_option
from barenet.datasets import Dataset
from barenet.digits.data import load_digit_data
from barenet.digits.shipped import open_model
from barenet.ensemble import MAX_NETWORKS, ensemble
from barenet.model import Sequential
from barenet.saving import model_file_path


def member_record(model: Sequential, path: Path) -> dict[str, Any]:
    """What an ensemble's metadata keeps of one member: where it came from and how it was made."""
    metadata = model.metadata
    return {
        "file": path.name,
        "preset": metadata.get("preset"),
        "config": metadata.get("config"),
        "data_sha256": (metadata.get("data") or {}).get("sha256"),
        "test_accuracy": (metadata.get("metrics") or {}).get("test_accuracy"),
        "history": model.history.history if model.history is not None else None,
    }


def ensemble_metadata(
    members: list[dict[str, Any]], scores: dict[str, float], data: Dataset, first: Sequential
) -> dict[str, Any]:
    """The metadata of an ensemble file: its members, its own test figures, and the
    preprocessing its members share (the first member's)."""
    presets = {member["preset"] for member in members}
    return {
        "preset": f"ensemble of {len(members)} x {presets.pop()}" if len(presets) == 1 else None,
        "members": members,
        "data": {
            "source": data.source,
            "sha256": data.checksum(),
            "test_samples": len(data.y_test),
        },
        "metrics": {"test_accuracy": scores["accuracy"], "test_loss": scores["loss"]},
        "preprocessing": first.metadata.get("preprocessing"),
    }


@click.command("ensemble")
@click.argument("models", nargs=-1, required=True, metavar="MODEL...")
@click.option(
    "--out", required=True, metavar="FILE", help="Where to save the ensemble (a model file)."
)
@data_option(" to test the ensemble on")
@json_option
def ensemble_command(
    models: tuple[str, ...], out: str, data_path: str | None, as_json: bool
) -> None:
    """Combine models into one that averages their probabilities.

    MODELs are model files or shipped names. The ensemble file is a model like any other:
    predict, evaluate, report, serve and export take it. It is measured on the test split
    (MNIST's, or --data's) before it is saved.
    """
    if len(models) > MAX_NETWORKS:
        raise click.UsageError(f"At most {MAX_NETWORKS} models, got {len(models)}.")
    check_writable(model_file_path(out))
    loaded = [open_model(name) for name in models]
    combined = ensemble([model for model, _ in loaded])
    data = load_digit_data(data_path)
    scores = combined.evaluate(data.x_test, data.y_test)
    members = [member_record(model, path) for model, path in loaded]
    metadata = ensemble_metadata(members, scores, data, loaded[0][0])
    path = combined.save(out, metadata, include_optimizer=False)
    if as_json:
        listed = [{k: v for k, v in m.items() if k != "history"} for m in members]
        emit_json({"model": str(path), **metadata["metrics"], "members": listed})
        return
    describe_data(data, stderr)
    for member in members:
        accuracy = member["test_accuracy"]
        shown = f"{accuracy:.2%} when trained" if accuracy is not None else "not recorded"
        stdout.print(f"  {member['file']}: {shown}")
    stdout.print(
        f"Ensemble of {len(members)}: accuracy {scores['accuracy']:.2%}  loss "
        f"{scores['loss']:.4f} on {len(data.y_test):,} test images\nSaved {path}"
    )
