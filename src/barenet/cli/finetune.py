"""``barenet finetune``: adapt a model to one person's digits, keeping what it knew of MNIST."""

from __future__ import annotations

import click

from barenet.atomic import check_writable
from barenet.cli.common import describe_data, emit_json, stderr, stdout
from barenet.cli.options import json_option, model_option
from barenet.digits.data import load_digit_data
from barenet.digits.finetuning import FinetuneSettings, finetune
from barenet.digits.folders import default_folder
from barenet.digits.shipped import open_model
from barenet.saving import model_file_path


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


@click.command("finetune")
@click.option(
    "--data",
    "data_path",
    metavar="PATH",
    help="The person's digits: a DIGIT/NAME.png folder (the page's corrections), or any data "
    "--data takes. Default: the page's folder, $BARENET_MY_DIGITS or "
    "~/.local/share/barenet/my-digits.",
)
@model_option
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="The model to write.")
@click.option("--epochs", type=click.IntRange(1, 100), default=FinetuneSettings.epochs,
              show_default=True, help="Passes over the mixed set.")  # fmt: skip
@click.option(
    "--mnist-images",
    type=click.IntRange(0, 60_000),
    default=FinetuneSettings.mnist_images,
    show_default=True,
    help="MNIST training images mixed in, so that the model forgets nothing.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@json_option
def finetune_command(
    data_path: str | None,
    model_path: str | None,
    out: str,
    epochs: int,
    mnist_images: int,
    seed: int,
    as_json: bool,
) -> None:
    """Fine-tune a model on a person's own digits.

    Their digits are mixed with MNIST images, so that the model forgets nothing; it then says
    what it gained on both.
    """
    check_writable(model_file_path(out))  # before the work whose result goes there
    data = load_digit_data(data_path or default_folder())
    if not as_json:
        describe_data(data, stderr)
    model, path = open_model(model_path)
    settings = FinetuneSettings(epochs=epochs, mnist_images=mnist_images, seed=seed)
    stderr.print(f"Fine-tuning {path.name} on {len(data.x_train)} of {data.source}'s digits...")
    result = finetune(model, data, settings)
    details = {
        "model": str(path),
        "data": data.source,
        "person_train": result.person_train,
        "person_test": result.person_test,
        "person_accuracy_before": result.person_before,
        "person_accuracy_after": result.person_after,
        "mnist_accuracy_before": result.mnist_before,
        "mnist_accuracy_after": result.mnist_after,
        "seconds": round(result.seconds, 1),
    }
    written = model.save(out, {"finetuned": details}, include_optimizer=False)
    if as_json:
        emit_json({**details, "out": str(written)})
        return
    stdout.print(
        f"Wrote {written} ({result.seconds:.0f} s). Your {result.person_test} held-out digits: "
        f"{percent(result.person_before)} -> {percent(result.person_after)}; MNIST test: "
        f"{percent(result.mnist_before)} -> {percent(result.mnist_after)}."
    )
