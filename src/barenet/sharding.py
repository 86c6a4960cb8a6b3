"""Data-parallel training steps on threads: a batch split into shards, one per CPU core.

NumPy's elementwise work (im2row, pooling, ReLU, the input gradient's adds) runs on one core,
however many there are; its matrix products use them all, but thin ones use them badly. A
``ShardedStep`` gives each core a shard of the batch instead: every shard runs the forward pass,
the loss and the backward pass on a *replica* of the model (the model's own parameter arrays, its
own gradients and caches) with single-threaded BLAS, in its own thread (NumPy lets go of Python's
lock while it computes). The shards' parameter gradients then add up to the batch's.

The maths is the one-thread step's. The loss of a batch of N samples is a mean, so shard i
(n_i samples) backpropagates ``(n_i / N) * dLoss_i/dscores``: the whole batch's loss gradient for
its own rows, and the gradients add with no further weights. A layer that sums over the batch
(batch norm's mean and variance) adds its per-feature sums over all shards through
``Layer.across_shards``: a barrier that every shard reaches in the same order. Only the rounding
differs (sums in another order), and Dropout draws its masks from one generator per shard.

Measured through ``fit`` on 2 cores (Intel Xeon, AVX-512, OpenBLAS SkylakeX kernels), batches
of 128, one thread against two: the benchmark CNN's step 32.7 -> 22.9 ms, the ``cnn`` preset's
42.5 -> 32.0 ms, ``cnn-deep``'s 79 -> 56 ms; MLP steps got slower (784-800-10: 3.1 -> 4.0 ms;
their short NumPy calls contend for Python's lock), so only networks with a convolution are
sharded unless asked (see ``choose_threads``).
"""

from __future__ import annotations

import functools
import itertools
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from barenet.conv import Conv2D

if TYPE_CHECKING:
    from barenet.model import Sequential

# A shard smaller than this wastes its thread on Python overhead: with more cores than
# batch_size / 32, fewer shards are used.
SMALLEST_SHARD = 32


@functools.cache  # finding the loaded libraries takes ~1 ms; fit asks on every call
def blas_controller() -> Any | None:
    """threadpoolctl's controller of the BLAS thread pools, or None when it is not installed
    (sharding needs it: two shards each running two-thread products made the benchmark CNN's step
    34 -> 58 ms)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


def usable_cores() -> int:
    """The CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def blas_threads(controller: Any) -> int:
    """The fewest threads any BLAS library here is set to use (1 under OPENBLAS_NUM_THREADS=1
    or inside ``threadpool_limits(1)``, as ``barenet experiment`` runs each of its trainings)."""
    return min(_blas_thread_counts(controller), default=1)


def _blas_thread_counts(controller: Any) -> list[int]:
    """Each BLAS library's thread count, asked of the library itself (under a microsecond)."""
    return [lib.num_threads for lib in controller.lib_controllers if lib.user_api == "blas"]


def blas_on_one_thread() -> bool:
    """Whether every BLAS library here is set to one thread right now (inside a sharded step,
    under ``OPENBLAS_NUM_THREADS=1``, on one core); False without threadpoolctl, which alone can
    tell."""
    controller = blas_controller()
    if controller is None:
        return False
    counts = _blas_thread_counts(controller)
    return bool(counts) and max(counts) == 1


def unshardable_layers(model: Sequential) -> list[str]:
    """Class names of the model's layers that do not declare ``shardable = True``."""
    return sorted({type(layer).__name__ for layer in model.layers if not layer.shardable})


def choose_threads(model: Sequential, batch_size: int, controller: Any | None) -> int:
    """Shards for ``fit(threads=None)``: one per core, as many as BLAS may use, at most one per
    ``SMALLEST_SHARD`` samples, for a network with a convolution; otherwise 1 (an MLP's step is
    faster on one thread with multi-threaded BLAS, as measured above; and without threadpoolctl,
    or with a layer that has not declared itself shardable, there is no sharding)."""
    if controller is None or unshardable_layers(model):
        return 1
    if not any(isinstance(layer, Conv2D) for layer in model.layers):
        return 1
    cores = min(usable_cores(), blas_threads(controller))
    return max(1, min(cores, batch_size // SMALLEST_SHARD))


class AllReduce:
    """Sums one array over all shards: each shard hands in its part and gets the total back.

    Every shard adds the parts in the same order (shard 0 first), so all get the same bits, and
    the same seed gives the same run whatever the threads' timing.
    """

    def __init__(self, shards: int) -> None:
        self._barrier = threading.Barrier(shards)
        self._parts: list[np.ndarray] = [np.zeros(0)] * shards

    def sum(self, shard: int, part: np.ndarray) -> np.ndarray:
        self._parts[shard] = part
        self._barrier.wait()  # every part is in
        total = self._parts[0]
        for other in self._parts[1:]:
            total = total + other
        self._barrier.wait()  # every shard has read the parts before any is overwritten
        return total

    def abort(self) -> None:
        """Release the shards waiting for one that failed (they raise BrokenBarrierError)."""
        self._barrier.abort()

    def reset(self) -> None:
        self._barrier.reset()


class ShardedStep:
    """Forward, loss and backward of one batch split into ``shards``, each on its own thread.

    ``step(X, y)`` returns ``(loss, scores)`` like the one-thread step and leaves the batch's
    parameter gradients in the model's own gradient arrays, ready for its optimizer. Use it as a
    context manager: its threads stop at the end.

    Shape:
        - X: ``(N, *input_shape)`` in the model's dtype; y: ``(N,)`` or ``(N, C)``.
        - Returns the mean loss (a float) and the scores ``(N, C)``.
    """

    def __init__(self, model: Sequential, shards: int, controller: Any) -> None:
        self.model, self.shards, self._blas = model, shards, controller
        self.replicas = [model] + [model.replica() for _ in range(shards - 1)]
        self._reduce = AllReduce(shards)
        self._pool = ThreadPoolExecutor(shards - 1, thread_name_prefix="barenet-shard")
        self._grads = [[grad for _, _, grad in replica.parameters()] for replica in self.replicas]
        # Each Dropout's generator, with the same layer's generator in every other replica.
        self._generators = [
            (generator, [replica.random_generators()[name] for replica in self.replicas[1:]])
            for name, generator in model.random_generators().items()
        ]

    def __enter__(self) -> ShardedStep:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown()

    def __call__(self, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        if len(X) < self.shards:  # a last batch smaller than the shards: one thread
            return self.model.forward_backward(X, y)
        self._seed_replicas()
        bounds = np.linspace(0, len(X), self.shards + 1).round().astype(int)
        parts = [(X[a:b], y[a:b], (b - a) / len(X)) for a, b in itertools.pairwise(bounds)]
        with self._blas.limit(limits=1, user_api="blas"):
            results = self._run_shards(parts)
        for grads in self._grads[1:]:
            for total, part in zip(self._grads[0], grads, strict=True):
                total += part
        pairs = zip(parts, results, strict=True)
        loss = sum(weight * shard_loss for (_, _, weight), (shard_loss, _) in pairs)
        return float(loss), np.concatenate([scores for _, scores in results])

    def _seed_replicas(self) -> None:
        """Give each replica's Dropout a generator seeded from the model's own (whose state
        checkpoints save), so that a resumed run draws what the uninterrupted one would."""
        for generator, theirs in self._generators:
            for twin in theirs:
                seed = int(generator.integers(2**63))
                twin.bit_generator.state = type(generator.bit_generator)(seed).state

    def _run_shards(self, parts: list[tuple[np.ndarray, np.ndarray, float]]) -> list[Any]:
        """Run shard 0 here and the others on the pool; re-raise the first real failure."""
        futures: list[Future[Any]] = [
            self._pool.submit(self._shard, index, *part) for index, part in enumerate(parts[1:], 1)
        ]
        outcomes: list[Any] = []
        try:
            outcomes.append(self._shard(0, *parts[0]))
        except BaseException as failure:  # kept until every shard has ended, then raised
            outcomes.append(failure)
        for future in futures:
            raised = future.exception()
            outcomes.append(future.result() if raised is None else raised)
        failures = [item for item in outcomes if isinstance(item, BaseException)]
        if failures:
            self._reduce.reset()
            real = [item for item in failures if not isinstance(item, threading.BrokenBarrierError)]
            raise (real or failures)[0]
        return outcomes

    def _shard(self, index: int, X: np.ndarray, y: np.ndarray, weight: float) -> Any:
        replica = self.replicas[index]
        across = functools.partial(self._reduce.sum, index)
        for layer in replica.layers:
            layer.across_shards = across
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # per thread: fit's does not reach
                return replica.forward_backward(X, y, weight)
        except BaseException:
            self._reduce.abort()
            raise
        finally:
            for layer in replica.layers:
                layer.across_shards = None
