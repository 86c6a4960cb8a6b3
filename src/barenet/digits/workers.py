"""Experiment runs side by side in local worker processes (``barenet experiment --workers N``,
``run_experiment(..., workers=N)``).

Each worker is a fresh process (spawned, not forked: forking a process whose BLAS threads are
running can deadlock) that receives the data once and then trains one run at a time, each on
one thread (``experiment.BLAS_THREADS_PER_RUN``), so N workers use N cores. Results come back
as runs finish; the experiment lists them in its own order, so the table does not depend on N.
What a run is (``experiment.run_or_report``) is the caller's to say: this module only shares
the runs out.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from barenet.datasets import Dataset

Task = TypeVar("Task")
Outcome = TypeVar("Outcome")

# set in each worker by _start_worker: the data, and what to do with a task and the data
_worker_data: Dataset | None = None
_worker_run: Callable[[Any, Dataset], Any] | None = None


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


def _exit_when_orphaned(parent: multiprocessing.process.BaseProcess) -> None:
    parent.join()  # returns when the parent process has ended, however it ended
    os._exit(1)  # nothing of a run cut short is kept: its parent, who would keep it, is gone


def exit_with_parent() -> None:
    """In a worker process: exit as soon as the process that started it is gone (a thread of
    its own waits on the parent). Ctrl-C reaches the parent, which stops its workers; but a
    parent killed alone (SIGTERM, SIGKILL, out of memory) cannot, and its workers would run on
    as orphans. Outside a ``multiprocessing`` child, nothing to watch: does nothing."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    watcher = threading.Thread(target=_exit_when_orphaned, args=(parent,), name="exit-with-parent")
    watcher.daemon = True
    watcher.start()


def _start_worker(data: Dataset, run: Callable[[Any, Dataset], Any]) -> None:
    exit_with_parent()
    # Ctrl-C reaches every process of the terminal's group: the parent alone handles it (it
    # stops the workers), so a worker never prints a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _worker_data, _worker_run
    _worker_data, _worker_run = data, run


def _run_in_worker(task: Any) -> Any:
    assert _worker_data is not None and _worker_run is not None, "the worker was not started"
    return _worker_run(task, _worker_data)


def run_in_workers(
    tasks: Sequence[Task],
    data: Dataset,
    workers: int,
    run: Callable[[Task, Dataset], Outcome],
) -> Generator[Outcome, None, None]:
    """Yield ``run(task, data)`` of each task as it finishes, from ``workers`` processes
    (``run``, a module's function, is sent to them by name; for an experiment it is
    ``experiment.run_or_report``, which returns a run's record or its failure).

    Ctrl-C, or a consumer that stops early, terminates every worker at once.

    Raises:
        RuntimeError: a worker process died (killed, or out of memory).
    """
    context = multiprocessing.get_context("spawn")
    others = set(multiprocessing.active_children())
    pool = ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(data, run)
    )
    futures: list[Future[Outcome]] = []
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
