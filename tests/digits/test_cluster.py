"""Runs on a Dask cluster (a LocalCluster on loopback with 2 worker processes): the same results
as one process, a run's own error reported, a run lost to a dying worker retried once."""

import functools
import json
import os
from pathlib import Path

import pytest

from barenet.datasets import load_data
from barenet.digits.config import TrainConfig
from barenet.digits.experiment import (
    RunFailure,
    RunRecord,
    parse_vary,
    plan_runs,
    run_experiment,
    run_one,
)
from tests.helpers import QUICK, invoke

distributed = pytest.importorskip("distributed")
from barenet.digits.cluster import run_on_cluster  # noqa: E402

SMALL = TrainConfig(layers=[784, 16, 10], epochs=1, batch_size=64, train_limit=600)


@pytest.fixture(scope="module")
def scheduler():
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        yield cluster.scheduler_address


def in_order(outcomes):
    return sorted(outcomes, key=lambda outcome: outcome.index)


def test_the_cluster_gives_the_records_of_one_process(scheduler):
    variants = parse_vary(["batch-size=32,128"], SMALL)
    alone = run_experiment(SMALL, load_data(None), 2, variants)
    remote = in_order(run_on_cluster(plan_runs(SMALL, 2, variants), scheduler, None))
    assert all(isinstance(record, RunRecord) for record in remote)
    for one, other in zip(alone, remote, strict=True):
        assert (one.variant, one.seed, one.index) == (other.variant, other.seed, other.index)
        assert one.test_loss == other.test_loss and one.test_accuracy == other.test_accuracy
        assert other.where.startswith("tcp://127.0.0.1:") and not other.retried


def die_on_first_try(marker: Path, task, data, where):
    """A run whose worker dies the first time it trains it (as if killed or out of memory)."""
    if task.index == 0 and not marker.exists():
        marker.write_text("died once")
        os._exit(1)
    return run_one(task, data, where)


def test_a_run_lost_to_a_dying_worker_is_retried_once(scheduler, tmp_path):
    run = functools.partial(die_on_first_try, tmp_path / "died")
    outcomes = in_order(run_on_cluster(plan_runs(SMALL, 2, [{}]), scheduler, None, run=run))
    assert [type(outcome) for outcome in outcomes] == [RunRecord, RunRecord]
    assert [outcome.retried for outcome in outcomes] == [True, False]
    assert (tmp_path / "died").exists()
    assert (
        outcomes[0].test_accuracy
        == run_experiment(SMALL, load_data(None), 1, [{}])[0].test_accuracy
    )


def test_a_run_that_fails_by_itself_is_reported_not_retried(scheduler):
    base = SMALL.replace(optimizer="adam")
    variants = parse_vary(["learning-rate=1e9,0.001"], base)
    outcomes = in_order(run_on_cluster(plan_runs(base, 1, variants), scheduler, None))
    assert isinstance(outcomes[0], RunFailure) and "diverged" in outcomes[0].error.lower()
    assert outcomes[0].where.startswith("tcp://")
    assert isinstance(outcomes[1], RunRecord) and not outcomes[1].retried


def test_the_command_line_sends_runs_to_the_cluster(scheduler):
    args = ("experiment", *QUICK, "--train-limit", 600, "--runs", 2, "--json")
    alone = invoke(*args)
    remote = invoke(*args, "--cluster", scheduler)
    assert alone.exit_code == remote.exit_code == 0, remote.output
    assert "on the Dask cluster at" in remote.stderr
    first, second = json.loads(alone.stdout), json.loads(remote.stdout)
    strip = ("where", "seconds")
    assert [{k: v for k, v in run.items() if k not in strip} for run in first["runs"]] == [
        {k: v for k, v in run.items() if k not in strip} for run in second["runs"]
    ]


def test_an_unreachable_scheduler_is_one_sentence():
    result = invoke("experiment", *QUICK, "--runs", 1, "--cluster", "tcp://127.0.0.1:9")
    assert result.exit_code == 1
    assert "Cannot reach a Dask scheduler at tcp://127.0.0.1:9" in result.output
    assert "Traceback" not in result.output
