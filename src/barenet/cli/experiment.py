"""``barenet experiment``: repeated runs with different seeds, per variant, side by side."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click
from rich.table import Column, Table

from barenet.cli.common import (
    INTERRUPTED,
    describe_data,
    emit_json,
    require_matplotlib,
    stderr,
    stdout,
)
from barenet.cli.options import (
    config_from_options,
    json_option,
    plot_option,
    training_options,
)
from barenet.datasets import load_data
from barenet.digits.experiment import (
    RunRecord,
    Variant,
    describe,
    parse_vary,
    run_experiment,
    summarize,
)
from barenet.digits.presets import DEFAULT_PRESET
from barenet.digits.recipe import TrainedRun


@click.command("experiment")
@training_options
@click.option(
    "--runs",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Runs (seeds) per variant.",
)
@click.option(
    "--vary",
    multiple=True,
    metavar="KEY=V1,V2",
    help="Compare values of one option; repeat for a grid. Layers: 784,128,10|784,256,10.",
)
@json_option
@plot_option(
    "experiment.png",
    "Save a chart of each variant's accuracy (mean, spread, runs) [FILE: experiment.png].",
)
def experiment_command(
    preset: str | None,
    data_path: str | None,
    runs: int,
    vary: tuple[str, ...],
    as_json: bool,
    plot: str | None,
    **options: Any,
) -> None:
    """Train several times with different seeds and report mean +/- std per variant."""
    if plot:
        require_matplotlib()  # before any training, not after it
    base = config_from_options(preset, options)
    variants = parse_vary(vary, base)
    data = load_data(data_path)  # each run applies its own --train-limit
    describe_data(data, stderr)
    stderr.print(
        f"{len(variants)} variant(s) x {runs} run(s), seeds {base.seed}..{base.seed + runs - 1}"
    )
    records: list[RunRecord] = []  # filled as runs finish, so Ctrl-C keeps the finished ones

    def collect(record: RunRecord, _result: TrainedRun) -> None:
        records.append(record)
        stderr.print(
            f"  {record.variant:<30} seed {record.seed:<4} accuracy {record.test_accuracy:.2%}  "
            f"loss {record.test_loss:.4f}  {record.seconds:.1f} s"
        )

    try:
        run_experiment(base, data, runs, variants, on_run=collect)
    except KeyboardInterrupt:
        stderr.print("Interrupted; summarising the runs that finished.")
    summaries = _summaries(variants, records)
    if as_json:
        overall = summarize(records) if records else {"mean_accuracy": None, "std_accuracy": None}
        emit_json(
            {
                "runs": [vars(r) for r in records],
                "mean_accuracy": overall["mean_accuracy"],
                "std_accuracy": overall["std_accuracy"],
                "variants": summaries,
            }
        )
    else:
        _print_tables(records, summaries)
    if plot and records:
        _plot(
            records,
            f"Test accuracy per variant ({preset or DEFAULT_PRESET}, {runs} runs each)",
            plot,
        )
    if len(records) < runs * len(variants):
        sys.exit(INTERRUPTED)


def _summaries(variants: Sequence[Variant], records: Sequence[RunRecord]) -> list[dict[str, Any]]:
    """Mean and spread of each variant that has finished runs, in the order asked for."""
    summaries = []
    for variant in variants:
        name = describe(variant)
        mine = [r for r in records if r.variant == name]
        if mine:
            summaries.append({"variant": name, **summarize(mine)})
    return summaries


def _print_tables(records: Sequence[RunRecord], summaries: Sequence[dict[str, Any]]) -> None:
    name_column = Column("variant", no_wrap=True)  # "layers=784-128-10" stays whole
    table = Table(name_column, "seed", "test accuracy", "test loss", "seconds", title="Runs")
    for r in records:
        table.add_row(
            r.variant,
            str(r.seed),
            f"{r.test_accuracy:.2%}",
            f"{r.test_loss:.4f}",
            f"{r.seconds:.1f}",
        )
    stdout.print(table)
    summary = Table(
        Column("variant", no_wrap=True),
        "runs",
        "accuracy (mean ± std)",
        "seconds (mean ± std)",
        title="Summary",
    )
    for s in summaries:
        summary.add_row(
            s["variant"],
            str(s["runs"]),
            f"{s['mean_accuracy']:.2%} ± {s['std_accuracy']:.2%}",
            f"{s['mean_seconds']:.1f} ± {s['std_seconds']:.1f}",
        )
    stdout.print(summary)


def _plot(records: Sequence[RunRecord], title: str, path: str) -> None:
    from barenet.report.plots import experiment_comparison, save_png

    accuracies: dict[str, list[float]] = {}
    for record in records:
        accuracies.setdefault(record.variant, []).append(record.test_accuracy)
    saved = save_png(experiment_comparison(accuracies, title), path)
    stderr.print(f"Saved the comparison chart to {saved}")
