"""Local worker processes: the same records as one process, in any order; failures reported."""

import os
import re

import pytest

from barenet.digits.config import TrainConfig
from barenet.digits.experiment import RunFailure, parse_vary, plan_runs, run_experiment
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
    side_by_side = sorted(
        run_in_workers(plan_runs(SMALL, 2, variants), tiny_digits, 2), key=lambda r: r.index
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


def test_a_failing_run_is_reported_and_the_others_go_on(tiny_digits):
    # Adam at a learning rate of 1e9 diverges: TrainingDiverged inside that run only.
    base = SMALL.replace(optimizer="adam")
    variants = parse_vary(["learning-rate=1e9,0.001"], base)
    outcomes = list(run_in_workers(plan_runs(base, 1, variants), tiny_digits, 2))
    failures = [o for o in outcomes if isinstance(o, RunFailure)]
    assert len(outcomes) == 2 and len(failures) == 1
    assert failures[0].variant == "learning_rate=1000000000.0" and failures[0].seed == 0
    assert "diverged" in failures[0].error.lower() and failures[0].where
