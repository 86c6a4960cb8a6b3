"""Repeated training runs: several seeds per variant, then the mean and spread of each variant.

The classic assignment: "run it five times and report the average; then try an extra layer, a
bigger batch, another learning rate." A variant is a set of changes to one base ``TrainConfig``.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import socket
import statistics
from collections.abc import Callable, Generator, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from threadpoolctl import threadpool_limits

from barenet.datasets import Dataset
from barenet.digits.config import TrainConfig, parse_widths
from barenet.digits.recipe import train
from barenet.digits.workers import run_in_workers, usable_cores

Variant = dict[str, Any]


def _parse_value(key: str, text: str, current: Any) -> Any:
    if key in ("layers", "conv"):
        return parse_widths(text)
    if key == "quirks":  # several quirks joined by '+'; 'none' for none
        return [] if text == "none" else text.split("+")
    if key == "batch_size" and text in ("full", "none", "None"):
        return None
    if isinstance(current, bool):
        answers = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
        if text.lower() not in answers:
            raise ValueError(text)  # "maybe" is neither: refused, not silently False
        return answers[text.lower()]
    if isinstance(current, int) or key in ("train_limit", "steps_per_epoch", "batch_size"):
        return int(text)
    if isinstance(current, float):
        return float(text)
    return text


def parse_vary(specs: Sequence[str], base: TrainConfig) -> list[Variant]:
    """``["learning_rate=0.1,0.01", "layers=784-128-10|784-256-10"]`` -> every combination.

    Values are separated by ``,``, or by ``|`` when a value itself holds commas (layers).
    """
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    axes: list[list[tuple[str, Any]]] = []
    for spec in specs:
        key, sep, values = spec.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not values:
            raise ValueError(
                f"--vary expects KEY=V1,V2 (e.g. learning-rate=0.1,0.01). Received: {spec!r}"
            )
        if key not in fields:
            raise ValueError(
                f"--vary: unknown option {key!r}. Expected one of: {', '.join(sorted(fields))}."
            )
        lists = key in ("layers", "conv")
        parts = values.split("|") if "|" in values or lists else values.split(",")
        try:
            axes.append(
                [(key, _parse_value(key, part.strip(), getattr(base, key))) for part in parts]
            )
        except ValueError:
            raise ValueError(f"--vary: cannot read the values of {key} in {spec!r}.") from None
    return [dict(combination) for combination in itertools.product(*axes)] or [{}]


def describe(variant: Variant) -> str:
    """``{"learning_rate": 0.1}`` -> ``"learning_rate=0.1"``; the base config is ``"base"``."""
    if not variant:
        return "base"
    return " ".join(f"{key}={_describe_value(key, value)}" for key, value in variant.items())


def _describe_value(key: str, value: Any) -> str:
    if key == "quirks":
        return "+".join(value) or "none"
    return "-".join(map(str, value)) if isinstance(value, list) else str(value)


@dataclass(frozen=True)
class RunTask:
    """One run to do: its place in the experiment, its variant's name and its whole config
    (seed included), so that any process or machine can do it alone."""

    index: int
    variant: str
    config: TrainConfig


@dataclass
class RunRecord:
    """One finished run of an experiment."""

    variant: str
    seed: int
    test_accuracy: float
    test_loss: float
    seconds: float  # training time
    train_samples: int
    index: int = 0  # the run's place in the experiment: results are listed in this order
    where: str = ""  # the host and process, or the Dask worker, that ran it
    retried: bool = False  # lost once to a dying worker, then run again


@dataclass
class RunFailure:
    """A run that raised an error of its own: reported, not retried; the others go on."""

    variant: str
    seed: int
    error: str
    index: int = 0
    where: str = ""


# Every run computes on one BLAS thread, however many run side by side: OpenBLAS's sums can
# differ in their last bits with the number of threads (measured: the quick preset's test loss),
# and the same seed must give the same result whatever --workers is.
BLAS_THREADS_PER_RUN = 1


def summarize(records: Sequence[RunRecord]) -> dict[str, Any]:
    """Mean and sample standard deviation of accuracy and time (0 spread for a single run)."""
    accuracies = [r.test_accuracy for r in records]
    seconds = [r.seconds for r in records]
    spread = statistics.stdev if len(records) > 1 else (lambda values: 0.0)
    return {
        "runs": len(records),
        "mean_accuracy": statistics.fmean(accuracies),
        "std_accuracy": spread(accuracies),
        "mean_seconds": statistics.fmean(seconds),
        "std_seconds": spread(seconds),
    }


def plan_runs(base: TrainConfig, runs: int, variants: Sequence[Variant]) -> list[RunTask]:
    """Every variant ``runs`` times with seeds ``base.seed``, ``base.seed + 1``, ...; every
    variant's options are checked here, before the first run starts."""
    if runs < 1:
        raise ValueError(f"--runs must be at least 1. Received: {runs}")
    for variant in variants:
        base.replace(**variant).validate()
    configs = [
        (describe(variant), base.replace(**variant, seed=base.seed + offset))
        for variant in variants
        for offset in range(runs)
    ]
    return [RunTask(index, name, config) for index, (name, config) in enumerate(configs)]


def where_am_i() -> str:
    """``host:pid``: where a run ran."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_one(task: RunTask, data: Dataset, where: str | None = None) -> RunRecord:
    """Train one run on ``BLAS_THREADS_PER_RUN`` threads. Ctrl-C raises KeyboardInterrupt: a
    run cut short is not a result."""
    with threadpool_limits(BLAS_THREADS_PER_RUN):
        result = train(task.config, data)
    if result.interrupted:
        raise KeyboardInterrupt
    assert result.test_accuracy is not None and result.test_loss is not None, "no test set"
    return RunRecord(
        task.variant,
        task.config.seed,
        result.test_accuracy,
        result.test_loss,
        result.train_seconds,
        result.train_samples,
        index=task.index,
        where=where or where_am_i(),
    )


def run_or_report(task: RunTask, data: Dataset) -> RunRecord | RunFailure:
    """``run_one``, with a run's own error (say, it diverged) returned as a ``RunFailure``, so
    that the other runs go on. Ctrl-C still stops everything."""
    try:
        return run_one(task, data)
    except Exception as error:
        return RunFailure(task.variant, task.config.seed, str(error), task.index, where_am_i())


def run_experiment(
    base: TrainConfig,
    data: Dataset,
    runs: int,
    variants: Sequence[Variant],
    on_run: Callable[[RunRecord], None] | None = None,
    workers: int = 1,
) -> list[RunRecord]:
    """Train every variant ``runs`` times, one run after another in this process, or side by
    side in ``workers`` processes (``barenet.digits.workers``; at most one per usable core):
    the same accuracies and losses, in the same order, as every run computes on one thread
    either way. ``on_run`` sees each record as its run ends.

    Raises:
        ValueError: ``workers`` is below 1.
        RuntimeError: a run failed in a worker (in this process, its own error is raised), or a
            worker process died; the other workers are stopped.
    """
    if workers < 1:
        raise ValueError(f"run_experiment expects workers >= 1. Received: {workers!r}")
    tasks = plan_runs(base, runs, variants)
    workers = min(workers, usable_cores(), len(tasks))
    if workers > 1:
        outcomes: Generator[RunRecord | RunFailure, None, None] = run_in_workers(
            tasks, data, workers, run_or_report
        )
    else:
        outcomes = (run_one(task, data) for task in tasks)
    records = []
    with closing(outcomes):  # an error stops the workers now, not when the traceback is freed
        for outcome in outcomes:
            if isinstance(outcome, RunFailure):
                raise RuntimeError(
                    f"The run {outcome.variant} with seed {outcome.seed} failed: {outcome.error}"
                )
            records.append(outcome)
            if on_run:
                on_run(outcome)
    return sorted(records, key=lambda record: record.index)
