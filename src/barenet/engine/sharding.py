"""Data-parallel training steps on threads: a batch split into shards, one per CPU core.

NumPy's elementwise work (im2row, pooling, ReLU, the input gradient's adds) runs on one core,
however many there are; its matrix products use them all, but thin ones use them badly. A
``ShardedStep`` gives each core a shard of the batch instead: every shard runs the forward pass,
the loss and the backward pass on a *replica* of the model (the model's own parameter arrays, its
own gradients and caches) with single-threaded BLAS, in its own thread (NumPy lets go of Python's
lock while it computes). The shards' parameter gradients then add up to the batch's. The
engine shards a model's ``forward_backward`` (``barenet.engine.training``) this way.

The maths is the one-thread step's. The loss of a batch of N samples is a mean, so shard i
(n_i samples) backpropagates ``(n_i / N) * dLoss_i/dscores``: the whole batch's loss gradient for
its own rows, and the gradients add with no further weights. A layer that sums over the batch
(batch norm's mean and variance) adds its per-feature sums over all shards through the
``_across_shards`` the step gives it: a barrier that every shard reaches in the same order. Only
the rounding differs (sums in another order), and Dropout draws its masks from one generator per
shard.

Sharing a batch pays for a network with a convolution, whose step spends much of its time in
NumPy's one-core elementwise work, and not for an MLP, whose few large products BLAS already
spreads over the cores and whose many short NumPy calls would contend for Python's lock: so only
networks with a convolution are sharded unless asked (see ``shards_for``; the measurements are
in ``benchmarks/engine-timings.md``).
"""

from __future__ import annotations

import copy
import functools
import itertools
import os
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from barenet.activations import Activation, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from barenet.conv import AvgPool2D, Conv2D, MaxPool2D
from barenet.engine.state import settings
from barenet.layers import Dense, Dropout, Flatten, Layer, Rescaling, Reshape
from barenet.model import Sequential
from barenet.normalization import BatchNorm1d, BatchNorm2d

# A shard smaller than this wastes its thread on Python overhead: with more cores than
# batch_size / 32, fewer shards are used.
SMALLEST_SHARD = 32


@functools.cache  # finding BLAS inspects every loaded library; fit asks on every call
def blas_controller() -> Any | None:
    """threadpoolctl's controller of the BLAS thread pools, or None when it is not installed
    (sharding needs it: shards each running multi-threaded products oversubscribe the cores)."""
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
    """Each BLAS library's thread count, asked of the library itself: one call each, cheap
    enough to make at every step."""
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


# The layers that may be sharded: their samples never meet, or meet only in per-feature sums
# that the engine adds over the shards (batch norm). A layer of your own joins with
# ``allow_sharding``; until then a model with it trains on one thread.
SHARDABLE: set[type[Layer]] = {
    Dense, Dropout, Flatten, Reshape, Rescaling,
    Activation, ReLU, LeakyReLU, Sigmoid, Tanh, Softmax,
    Conv2D, MaxPool2D, AvgPool2D, BatchNorm1d, BatchNorm2d,
}  # fmt: skip
Gradients = Callable[[Sequential, np.ndarray, np.ndarray, float], tuple[float, np.ndarray]]


def allow_sharding(layer_class: type[Layer]) -> type[Layer]:
    """Let the engine split a batch through ``layer_class`` (a layer whose samples never meet:
    each sample's output depends on that sample alone); returns the class, so it can decorate
    it."""
    SHARDABLE.add(layer_class)
    return layer_class


def unshardable_layers(model: Sequential) -> list[str]:
    """Class names of the model's layers that the engine may not shard."""
    return sorted({type(layer).__name__ for layer in model.layers if type(layer) not in SHARDABLE})


def shards_for(model: Sequential, batch_size: int) -> int:
    """How many threads share a batch of ``batch_size``: the engine's ``threads`` setting, or
    with None one per core (as many as BLAS may use, at most one per ``SMALLEST_SHARD``
    samples) for a network with a convolution, and 1 for others (an MLP's products are few and
    large, which multi-threaded BLAS already spreads over the cores, and its short NumPy calls
    would contend for Python's lock).

    Raises:
        ValueError: threads were asked for, and threadpoolctl is missing or a layer is not
            shardable.
    """
    asked = settings["threads"]
    if asked == 1:
        return 1
    if asked is None and not any(isinstance(layer, Conv2D) for layer in model.layers):
        return 1  # checked first: an MLP's step asks this at every batch
    controller = blas_controller()
    if asked is None:
        if controller is None or unshardable_layers(model):
            return 1
        cores = min(usable_cores(), blas_threads(controller))
        return max(1, min(cores, batch_size // SMALLEST_SHARD))
    if controller is None:
        raise ValueError(
            f"Sharing a batch among {asked} threads needs the threadpoolctl package, to keep "
            "each shard's matrix products on one thread: pip install threadpoolctl, or use 1."
        )
    if unsharded := unshardable_layers(model):
        raise ValueError(
            f"Cannot split a batch among {asked} threads through {', '.join(unsharded)}: use one "
            "thread, or barenet.engine.allow_sharding(cls) for a layer whose samples never meet."
        )
    return max(1, min(asked, batch_size))


def replica(model: Sequential) -> Sequential:
    """A model of the same layers that shares ``model``'s parameter arrays (so it sees every
    update), with gradients, caches, buffers, generators and a loss of its own."""
    twin = Sequential(dtype=model.dtype.name)
    # A deep copy that finds every parameter already in its memo copies all but those.
    shared: dict[int, Any] = {id(param): param for _, param, _ in model.parameters()}
    twin.layers = copy.deepcopy(model.layers, shared)
    twin.loss, twin.input_shape = copy.deepcopy(model.loss), model.input_shape
    return twin


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
    """``gradients`` of one batch split into ``shards``, each on its own thread.

    ``step(model, X, y)`` returns ``(loss, scores)`` like ``gradients(model, X, y, 1.0)`` and
    leaves the batch's parameter gradients in the model's own gradient arrays, ready for its
    optimizer. Shard 0 runs on the model itself, the others on replicas (``replica``).

    Shape:
        - X: ``(N, *input_shape)`` in the model's dtype; y: ``(N,)`` or ``(N, C)``.
        - Returns the mean loss (a float) and the scores ``(N, C)``.
    """

    def __init__(self, model: Sequential, shards: int, gradients: Gradients) -> None:
        self.shards, self.gradients = shards, gradients
        self.signature = _signature(model, shards)
        self._model = weakref.ref(model)  # the cache must not keep a model alive
        self._blas = blas_controller()
        self.replicas = [replica(model) for _ in range(shards - 1)]
        self._reduce = AllReduce(shards)
        self._generators = [
            (name, [twin.random_generators()[name] for twin in self.replicas])
            for name in model.random_generators()
        ]

    def fits(self, model: Sequential, shards: int) -> bool:
        """Whether this step was made for ``model`` as it is now, with ``shards`` shards."""
        return self._model() is model and self.signature == _signature(model, shards)

    def __call__(self, model: Sequential, X: np.ndarray, y: np.ndarray) -> tuple[float, Any]:
        if len(X) < self.shards:  # a last batch smaller than the shards: one thread
            return self.gradients(model, X, y, 1.0)
        self._seed_replicas(model)
        bounds = np.linspace(0, len(X), self.shards + 1).round().astype(int)
        parts = [(X[a:b], y[a:b], (b - a) / len(X)) for a, b in itertools.pairwise(bounds)]
        assert self._blas is not None
        with self._blas.limit(limits=1, user_api="blas"):
            results = self._run_shards([model, *self.replicas], parts)
        totals = [grad for _, _, grad in model.parameters()]
        for twin in self.replicas:
            for total, (_, _, part) in zip(totals, twin.parameters(), strict=True):
                total += part
        pairs = zip(parts, results, strict=True)
        loss = sum(weight * shard_loss for (_, _, weight), (shard_loss, _) in pairs)
        return float(loss), np.concatenate([scores for _, scores in results])

    def _seed_replicas(self, model: Sequential) -> None:
        """Give each replica's Dropout a generator seeded from the model's own (whose state
        checkpoints save), so that a resumed run draws what the uninterrupted one would."""
        generators = model.random_generators()
        for name, theirs in self._generators:
            for twin in theirs:
                seed = int(generators[name].integers(2**63))
                twin.bit_generator.state = type(generators[name].bit_generator)(seed).state

    def _run_shards(
        self, models: list[Sequential], parts: list[tuple[np.ndarray, np.ndarray, float]]
    ) -> list[Any]:
        """Run shard 0 here and the others on the pool; re-raise the first real failure."""
        pool = _pool(self.shards - 1)
        futures: list[Future[Any]] = [
            pool.submit(self._shard, index, models[index], *part)
            for index, part in enumerate(parts[1:], 1)
        ]
        outcomes: list[Any] = []
        try:
            outcomes.append(self._shard(0, models[0], *parts[0]))
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

    def _shard(
        self, index: int, model: Sequential, X: np.ndarray, y: np.ndarray, weight: float
    ) -> Any:
        across = functools.partial(self._reduce.sum, index)
        for layer in model.layers:
            layer._across_shards = across  # type: ignore[attr-defined]
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # per thread: fit's does not reach
                return self.gradients(model, X, y, weight)
        except BaseException:
            self._reduce.abort()
            raise
        finally:
            for layer in model.layers:
                layer._across_shards = None  # type: ignore[attr-defined]


def _signature(model: Sequential, shards: int) -> tuple[Any, ...]:
    """What a step's replicas copy of the model: its layers (each one's identity, class and
    config, so a layer swapped or changed in place is seen), parameter arrays, loss and dtype."""
    layers = tuple((id(layer), type(layer), layer.get_config()) for layer in model.layers)
    params = tuple(id(param) for _, param, _ in model.parameters())
    return (shards, layers, params, id(model.loss), model.dtype)


@functools.cache
def _pool(workers: int) -> ThreadPoolExecutor:
    """The threads that run shards 1 and up, made once per size and kept for the process."""
    return ThreadPoolExecutor(workers, thread_name_prefix="barenet-shard")


# The steps of the model trained last, by shard count (a last, smaller batch may use fewer),
# kept between batches and dropped with that model.
_cache: dict[str, Any] = {"model": None, "steps": {}}


def step_for(model: Sequential, shards: int, gradients: Gradients) -> ShardedStep:
    """The sharded step for ``model``: the one of its last batch while it still fits."""
    if _cache["model"] is None or _cache["model"]() is not model:
        _cache["steps"] = {}
        _cache["model"] = weakref.ref(model)
        weakref.finalize(model, _cache["steps"].clear)
    steps: dict[int, ShardedStep] = _cache["steps"]
    step = steps.get(shards)
    if step is None or not step.fits(model, shards):
        step = steps[shards] = ShardedStep(model, shards, gradients)
    return step
