"""Local worker processes: the same records as one process, in any order; failures reported."""

import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from barenet.digits.config import TrainConfig
from barenet.digits.experiment import (
    RunFailure,
    parse_vary,
    plan_runs,
    run_experiment,
    run_or_report,
)
from barenet.digits.workers import run_in_workers, usable_cores, worker_count

SMALL = TrainConfig(layers=[784, 16, 10], epochs=1, batch_size=64, train_limit=600)


def test_worker_count():
    assert worker_count("auto") == usable_cores() <= (os.cpu_count() or 1)
    assert worker_count("1") == 1 and worker_count(str(usable_cores())) == usable_cores()
    for bad in ("0", "-1", "two", "1.5", ""):
        with pytest.raises(ValueError, match="at least 1, or auto"):
            worker_count(bad)


def test_workers_give_the_records_of_one_process_bit_for_bit(tiny_digits):
    variants = parse_vary(["batch-size=32,128"], SMALL)
    alone = run_experiment(SMALL, tiny_digits, 2, variants)
    tasks = plan_runs(SMALL, 2, variants)
    side_by_side = sorted(
        run_in_workers(tasks, tiny_digits, 2, run_or_report), key=lambda r: r.index
    )
    assert [r.index for r in side_by_side] == [0, 1, 2, 3]
    for one, other in zip(alone, side_by_side, strict=True):
        assert (one.variant, one.seed, one.train_samples) == (
            other.variant,
            other.seed,
            other.train_samples,
        )
        assert one.test_loss == other.test_loss and one.test_accuracy == other.test_accuracy
        assert re.fullmatch(r".+:\d+", other.where)  # host:pid
        assert other.where != one.where  # another process
    assert len({r.where for r in side_by_side}) <= 2
    in_order = run_experiment(SMALL, tiny_digits, 2, variants, workers=2)
    assert [(r.index, r.test_loss, r.test_accuracy) for r in in_order] == [
        (r.index, r.test_loss, r.test_accuracy) for r in alone
    ]


def test_a_run_that_fails_in_a_worker_stops_the_experiment_with_its_error(tiny_digits):
    base = SMALL.replace(optimizer="adam")
    variants = parse_vary(["learning-rate=1e9,0.001"], base)
    with pytest.raises(
        RuntimeError, match="learning_rate=1000000000.0 with seed 0 failed.*diverged"
    ) as failure:
        run_experiment(base, tiny_digits, 1, variants, workers=2)
    # Stopped at once: not when the traceback (held here, as a notebook holds it) is freed.
    assert failure.traceback and not multiprocessing.active_children()
    with pytest.raises(ValueError, match="workers >= 1. Received: 0"):
        run_experiment(base, tiny_digits, 1, variants, workers=0)


def test_a_failing_run_is_reported_and_the_others_go_on(tiny_digits):
    # Adam at a learning rate of 1e9 diverges: TrainingDiverged inside that run only.
    base = SMALL.replace(optimizer="adam")
    variants = parse_vary(["learning-rate=1e9,0.001"], base)
    outcomes = list(run_in_workers(plan_runs(base, 1, variants), tiny_digits, 2, run_or_report))
    failures = [o for o in outcomes if isinstance(o, RunFailure)]
    assert len(outcomes) == 2 and len(failures) == 1
    assert failures[0].variant == "learning_rate=1000000000.0" and failures[0].seed == 0
    assert "diverged" in failures[0].error.lower() and failures[0].where


PARENT = """
import multiprocessing, os, time
from concurrent.futures import ProcessPoolExecutor
from barenet.digits.workers import exit_with_parent

if __name__ == "__main__":
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(1, mp_context=context, initializer=exit_with_parent)
    print(pool.submit(os.getpid).result(), flush=True)
    pool.submit(time.sleep, 600)  # the worker is busy when its parent dies
    time.sleep(600)
"""


def running(pid: int) -> bool:
    """Whether ``pid`` is a process that has not ended (a zombie has: it waits to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_worker_exits_when_its_parent_is_killed(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    worker = int(parent.stdout.readline())
    try:
        assert running(worker)
        parent.kill()  # SIGKILL: the parent can stop nothing
        parent.wait()
        deadline = time.monotonic() + 30
        while running(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not running(worker)
    finally:
        parent.kill()
        if running(worker):
            os.kill(worker, signal.SIGKILL)  # leave no orphan behind when the test fails
