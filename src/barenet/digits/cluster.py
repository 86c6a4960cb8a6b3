"""Experiment runs on a Dask distributed cluster (``barenet experiment --cluster tcp://HOST:PORT``).

The scheduler hands each run to a worker; the worker loads the data itself, once (the shipped
MNIST, or a path every worker can read), and trains the run on one BLAS thread, exactly as a
local run, so the same seeds give the same results. Dask's pitfalls, and what is done here:

- identical calls are computed once: every run is submitted with ``pure=False``;
- a nanny sets BLAS threads to 1 in its workers: ``run_one`` limits them to 1 anyway;
- a worker that dies takes its running task with it, and the scheduler quietly runs the task
  again elsewhere. Each run counts its attempts in a Dask ``Variable`` (kept by the scheduler),
  so a second attempt is reported as retried and a third is refused;
- ``retries=`` would also re-run a run that failed by itself: a run's own error is caught on the
  worker and reported instead, and the other runs go on.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from barenet.datasets import Dataset
from barenet.digits.data import load_digit_data
from barenet.digits.experiment import RunFailure, RunRecord, RunTask, run_one

MAX_ATTEMPTS = 2  # the first, and one retry after its worker died
CONNECT_SECONDS = 10

_loaded: dict[str | None, Dataset] = {}  # in each worker: the data, loaded once per path

Runner = Callable[[RunTask, Dataset, str], RunRecord]


def _data(path: str | None) -> Dataset:
    if path not in _loaded:
        _loaded[path] = load_digit_data(path)
    return _loaded[path]


def _attempt(counter: str) -> int:
    """This run's attempt number: 1, then 2 after its first worker died."""
    from distributed import Variable, get_client

    variable = Variable(counter, client=get_client())
    attempt = int(variable.get()) + 1  # one task runs at a time: get, then set, is safe
    variable.set(attempt)
    return attempt


def run_on_worker(
    task: RunTask, data_path: str | None, counter: str, run: Runner = run_one
) -> RunRecord | RunFailure:
    """What a Dask worker does for one run: count the attempt, load the data, train."""
    from distributed import get_worker

    where = get_worker().address
    attempt = _attempt(counter)
    if attempt > MAX_ATTEMPTS:
        message = f"lost to a dying worker {attempt - 1} times; not tried again"
        return RunFailure(task.variant, task.config.seed, message, task.index, where)
    try:
        record = run(task, _data(data_path), where)
    except Exception as error:  # the run's own failure: reported, not retried
        return RunFailure(task.variant, task.config.seed, str(error), task.index, where)
    record.retried = attempt > 1
    return record


def run_on_cluster(
    tasks: Sequence[RunTask], address: str, data_path: str | None, run: Runner = run_one
) -> Iterator[RunRecord | RunFailure]:
    """Yield each run's record (or failure) as it finishes on the cluster at ``address``.

    Stopping early (Ctrl-C) cancels the runs not started; a run already training finishes on
    its worker, and its result is dropped.

    Raises:
        ValueError: no Dask scheduler answers at ``address``.
    """
    from distributed import Client, Variable, as_completed
    from distributed.scheduler import KilledWorker

    try:
        client = Client(address, timeout=CONNECT_SECONDS)
    except (OSError, TimeoutError) as error:
        raise ValueError(
            f"Cannot reach a Dask scheduler at {address} ({error}). Start one with "
            "`dask scheduler` and check the address (tcp://HOST:8786)."
        ) from None
    experiment = uuid.uuid4().hex[:12]
    counters = [f"barenet-{experiment}-{task.index}" for task in tasks]
    futures: list[Any] = []
    try:
        for counter in counters:
            Variable(counter, client=client).set(0)
        futures = [
            client.submit(run_on_worker, task, data_path, counter, run, pure=False, key=counter)
            for task, counter in zip(tasks, counters, strict=True)
        ]
        index_of = {future.key: task for future, task in zip(futures, tasks, strict=True)}
        for future in as_completed(futures):
            try:
                yield future.result()
            except KilledWorker:  # the scheduler gave up on it first
                task = index_of[future.key]
                message = "lost to dying workers; the scheduler gave up on it"
                yield RunFailure(task.variant, task.config.seed, message, task.index)
    finally:
        client.cancel(futures)
        for counter in counters:
            Variable(counter, client=client).delete()
        client.close()
