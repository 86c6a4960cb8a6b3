"""``barenet experiment``: repeated runs with different seeds, per variant, side by side."""

from __future__ import annotations

import sys
from collections.abc import Generator, Iterator, Sequence
from contextlib import closing, nullcontext
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from barenet.atomic import check_writable
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
from barenet.digits.cluster import run_on_cluster
from barenet.digits.data import load_digit_data
from barenet.digits.experiment import (
    RunFailure,
    RunRecord,
    RunTask,
    Variant,
    describe,
    parse_vary,
    plan_runs,
    run_or_report,
    summarize,
)
from barenet.digits.presets import DEFAULT_PRESET
from barenet.digits.workers import requested_workers, run_in_workers, worker_count


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
@click.option(
    "--workers",
    default="1",
    show_default=True,
    metavar="N|auto",
    help="Run N runs side by side in worker processes, one core each (at most one per core; "
    "auto: one per core).",
)
@click.option(
    "--cluster",
    metavar="tcp://HOST:PORT",
    help="Send the runs to this Dask scheduler instead (needs barenet[cluster]).",
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
    workers: str,
    cluster: str | None,
    as_json: bool,
    plot: str | None,
    **options: Any,
) -> None:
    """Compare variants, each trained with several seeds.

    Prints each run's test accuracy, then each variant's mean and standard deviation.
    """
    if plot:
        require_matplotlib()  # before any training, not after it
        check_writable(plot)
    base = config_from_options(preset, options)
    variants = parse_vary(vary, base)
    tasks = plan_runs(base, runs, variants)  # every variant checked before the first run
    requested, count = requested_workers(workers), worker_count(workers)
    if cluster and requested > 1:
        raise click.UsageError(
            "--workers and --cluster exclude each other: a cluster's workers are started "
            "with `dask worker` (see docs/experiments.md)."
        )
    if count < requested:
        cores = f"{count} core{'s' * (count > 1)}"
        stderr.print(f"--workers {workers}: this machine has {cores}; using {count}.")
    count = min(count, len(tasks))  # what "in N worker(s)" says; one run needs no worker process
    where = f"on the Dask cluster at {cluster}" if cluster else f"in {count} worker(s)"
    stderr.print(
        f"{len(variants)} variant(s) x {runs} run(s), seeds {base.seed}..{base.seed + runs - 1}, "
        f"{where}"
    )
    records: list[RunRecord] = []  # filled as runs finish, so Ctrl-C keeps the finished ones
    failures: list[RunFailure] = []
    problem = None
    try:
        with closing(_runs(tasks, data_path, count, cluster)) as finished:
            _follow(finished, len(tasks), records, failures)
    except KeyboardInterrupt:
        stderr.print("Interrupted; summarising the runs that finished.")
    except RuntimeError as error:  # a worker process died: say so, keep what finished
        problem = str(error)
    records.sort(key=lambda record: record.index)  # the plan's order, whatever finished first
    _report(records, failures, variants, as_json)
    if plot and records:
        title = f"Test accuracy per variant ({preset or DEFAULT_PRESET}, {runs} runs each)"
        _plot(records, title, plot)
    if problem or failures:
        stderr.print(f"Error: {problem or f'{len(failures)} run(s) failed (see above).'}")
        sys.exit(1)
    if len(records) < len(tasks):
        sys.exit(INTERRUPTED)


def _runs(
    tasks: Sequence[RunTask], data_path: str | None, workers: int, cluster: str | None
) -> Generator[RunRecord | RunFailure, None, None]:
    """The finished runs, from this process, local workers or a Dask cluster."""
    if cluster:
        stderr.print(f"Data: each worker loads {data_path or 'the shipped MNIST'} itself")
        yield from run_on_cluster(tasks, cluster, data_path)
        return
    data = load_digit_data(data_path)  # each run applies its own --train-limit
    describe_data(data, stderr)
    if workers > 1:
        yield from run_in_workers(tasks, data, workers, run_or_report)
    else:
        yield from (run_or_report(task, data) for task in tasks)


def _follow(
    finished: Iterator[RunRecord | RunFailure],
    total: int,
    records: list[RunRecord],
    failures: list[RunFailure],
) -> None:
    """One line per finished run, and a live count with the mean so far in a terminal."""
    progress = Progress(
        TextColumn("Runs"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[mean]}"),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
    )
    bar = progress.add_task("runs", total=total, mean="")
    with progress if stderr.is_terminal else nullcontext():
        for outcome in finished:
            if isinstance(outcome, RunFailure):
                failures.append(outcome)
                stderr.print(
                    f"  {outcome.variant:<30} seed {outcome.seed:<4} FAILED on "
                    f"{outcome.where or 'a lost worker'}: {outcome.error}"
                )
            else:
                records.append(outcome)
                retried = "  (retried: its first worker died)" if outcome.retried else ""
                stderr.print(
                    f"  {outcome.variant:<30} seed {outcome.seed:<4} accuracy "
                    f"{outcome.test_accuracy:.2%}  loss {outcome.test_loss:.4f}  "
                    f"{outcome.seconds:.1f} s  on {outcome.where}{retried}"
                )
            mean = sum(r.test_accuracy for r in records) / len(records) if records else None
            shown = f"mean accuracy so far {mean:.2%}" if mean is not None else ""
            progress.update(bar, advance=1, mean=shown)


def _report(
    records: Sequence[RunRecord],
    failures: Sequence[RunFailure],
    variants: Sequence[Variant],
    as_json: bool,
) -> None:
    summaries = _summaries(variants, records)
    if not as_json:
        _print_tables(records, summaries)
        return
    overall = summarize(records) if records else {"mean_accuracy": None, "std_accuracy": None}
    emit_json(
        {
            "runs": [vars(r) for r in records],
            "failed": [vars(f) for f in sorted(failures, key=lambda f: f.index)],
            "mean_accuracy": overall["mean_accuracy"],
            "std_accuracy": overall["std_accuracy"],
            "variants": summaries,
        }
    )


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
    # A long variant wraps between its settings (rich breaks lines at spaces, never inside
    # "layers=784-128-10"); the figures stay whole, so nothing is cut short at 80 columns.
    table = Table(
        Column("variant", overflow="fold"),
        Column("seed", no_wrap=True),
        Column("test accuracy", no_wrap=True),
        Column("test loss", no_wrap=True),
        Column("seconds", no_wrap=True),
        title="Runs",
    )
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
        Column("variant", overflow="fold"),
        Column("runs", no_wrap=True),
        Column("test accuracy", no_wrap=True),
        Column("seconds", no_wrap=True),
        title="Summary: mean ± standard deviation of each variant's runs",
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
