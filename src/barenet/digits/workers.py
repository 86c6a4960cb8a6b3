"""Experiment runs side by side in local worker processes (``barenet experiment --workers N``).

Each worker is a fresh process (spawned, not forked: forking a process whose BLAS threads are
running can deadlock) that receives the data once and then trains one run at a time, on
``BLAS_THREADS_PER_RUN`` threads, so N workers use N cores. Results come back as runs finish;
the experiment lists them in its own order, so the table does not depend on N.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

from barenet.datasets import Dataset
from barenet.digits.experiment import RunFailure, RunRecord, RunTask, run_or_report

_worker_data: Dataset | None = None  # set in each worker by _start_worker


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity where the system tells it (a
    container or ``taskset`` may allow fewer than the machine has), else the machine's count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def requested_workers(text: str) -> int:
    """The number ``--workers`` asks for: ``"auto"`` is one per usable core; otherwise a whole
    number of at least 1 (ValueError for anything else)."""
    if text == "auto":
        return usable_cores()
    digits = text.lstrip("0")
    if not (text.isascii() and text.isdigit()) or not digits:
        raise ValueError(f"--workers expects a number of at least 1, or auto. Received: {text!r}")
    if len(digits) > 18:  # past any machine's cores (and int() refuses over 4,300 digits)
        return sys.maxsize
    return int(digits)


def worker_count(text: str) -> int:
    """The worker processes to start for ``--workers``: what it asks for, at most one per usable
    core; more would only share the cores, each process holding its own copy of the data."""
    return min(requested_workers(text), usable_cores())


def _start_worker(data: Dataset) -> None:
    # Ctrl-C reaches every process of the terminal's group: the parent alone handles it (it
    # stops the workers), so a worker never prints a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _worker_data
    _worker_data = data


def _run_in_worker(task: RunTask) -> RunRecord | RunFailure:
    assert _worker_data is not None, "the worker was started without data"
    return run_or_report(task, _worker_data)


def run_in_workers(
    tasks: Sequence[RunTask], data: Dataset, workers: int
) -> Iterator[RunRecord | RunFailure]:
    """Yield each run's record (or failure) as it finishes, from ``workers`` processes.

    Ctrl-C, or a consumer that stops early, terminates every worker at once.

    Raises:
        RuntimeError: a worker process died (killed, or out of memory).
    """
    context = multiprocessing.get_context("spawn")
    others = set(multiprocessing.active_children())
    pool = ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(data,)
    )
    futures: list[Future[RunRecord | RunFailure]] = []
    try:
        futures = [pool.submit(_run_in_worker, task) for task in tasks]
        for future in as_completed(futures):
            yield future.result()
    except BrokenProcessPool:
        raise RuntimeError(
            "A worker process died (killed, or out of memory?); the runs that finished are kept."
        ) from None
    finally:
        for future in futures:
            future.cancel()
        for child in set(multiprocessing.active_children()) - others:  # the pool's workers
            child.terminate()  # stop now, mid-run if need be
        pool.shutdown(wait=True, cancel_futures=True)
