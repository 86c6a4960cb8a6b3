"""The engine's optimizers: the textbook's update rules with scratch buffers instead of new
arrays, subnormal numbers flushed to zero, big parameters updated in cache-sized slices, and
Adam's update compiled into one pass when the numba engine runs.

The rules are those of ``barenet.optimizers``, operation for operation in the same order and
precision, so that each parameter and each saved state (Adam's ``m`` and ``v``) are the
textbook's bit for bit, but for the flush: a running average that stops receiving gradients
(a dead ReLU unit's weights, an always-blank pixel's) decays into the subnormal range, which
the flush rounds to zero (``flush_to_zero``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from barenet.engine.state import compiled
from barenet.optimizers import SGD, Adam, AdamW, Optimizer, RMSprop

# Entries of a parameter updated at a time: 512 kB of float32 for each of the arrays an update
# reads and writes (Adam: parameter, gradient, two moments, two scratch arrays), so they stay in
# a core's cache across the update's passes instead of streaming from memory for each one.
CACHE_SIZED = 2**17

Piece = tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], list[np.ndarray]]


def flush_to_zero(array: np.ndarray) -> None:
    """Round the subnormal entries of ``array`` to zero, in place (float32: ``|x| < 1.2e-38``).

    A running average that stops receiving gradients (the weights of a dead ReLU unit, or of a
    pixel that is always blank) decays geometrically, ``m = 0.9 m``, into the subnormal range,
    where many x86 processors (Intel's above all) multiply through a slow microcode assist: an
    Adam step slows down as more of its averages decay (measured in
    ``benchmarks/engine-timings.md``). ``x + c - c`` with ``c = 2**-93`` (``2**-960`` for
    float64) rounds ``x`` to a multiple of ``c``'s last bit, ``u = 2**-116``: every
    ``|x| < u/2`` (6e-36) becomes 0, every ``|x| > 2**24 c`` (1.7e-21) comes back bit for bit,
    and those between move by at most ``u/2``, far below anything an update can carry into a
    parameter. A decaying average thus ends at 0 or, when the rounding outweighs the decay, at a
    few ``u`` (at most 6e-33 under 0.999): a normal number that stays normal when multiplied.
    Additions take no slow path, so this costs two fast passes.
    Other dtypes are left alone: NumPy computes float16 through float32, where its subnormals
    are normal numbers (and a float16 ``c`` would round away most of its precision).
    """
    offset = _flush_offset(array.dtype)
    if offset is not None:
        array += offset
        array -= offset


@functools.cache
def _flush_offset(dtype: np.dtype) -> np.floating | None:
    """``c`` for ``flush_to_zero``: the smallest normal number times 2**(mantissa bits + 10),
    for float32 and float64; None for any other dtype."""
    if dtype not in (np.float32, np.float64):
        return None
    info = np.finfo(dtype)
    return dtype.type(info.smallest_normal * 2.0 ** (info.nmant + 10))


def _cache_sized(
    param: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray], scratch: list[np.ndarray]
) -> list[Piece]:
    """``(param, grad, state, scratch)`` as slices of at most ``CACHE_SIZED`` entries (views:
    updating them updates the whole), or whole when small or not all contiguous alike."""
    if param.size <= CACHE_SIZED:
        return [(param, grad, state, scratch)]
    arrays = [param, grad, *state.values(), *scratch]
    if not all(a.shape == param.shape and a.flags.c_contiguous for a in arrays):
        return [(param, grad, state, scratch)]
    flat = [a.reshape(-1) for a in arrays]  # views, as every array is contiguous
    named = len(state)
    return [
        (
            flat[0][part],
            flat[1][part],
            {k: v[part] for k, v in zip(state, flat[2 : 2 + named], strict=True)},
            [a[part] for a in flat[2 + named :]],
        )
        for part in (slice(i, i + CACHE_SIZED) for i in range(0, param.size, CACHE_SIZED))
    ]


def step(self: Optimizer, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
    """``Optimizer.step``: the engine's update for barenet's own optimizers (in cache-sized
    slices, with scratch arrays kept from step to step), the class's ``update`` for others."""
    learning_rate = self.current_learning_rate()
    update = UPDATES.get(type(self))
    states = self.states(params)
    for index, (param, grad, state) in enumerate(zip(params, grads, states, strict=True)):
        if update is None:
            self.update(param, grad, state, learning_rate)
            continue
        grad = _decayed(self, param, grad, learning_rate)
        for piece in _cache_sized(param, grad, state, _scratch(self, index, param)):
            update(self, *piece, learning_rate)
    self.iterations += 1


def _scratch(optimizer: Optimizer, index: int, param: np.ndarray) -> list[np.ndarray]:
    """Two arrays of ``param``'s shape and dtype, kept on the optimizer for parameter
    ``index`` (working memory, never saved)."""
    kept: dict[int, list[np.ndarray]] = optimizer.__dict__.setdefault("_engine_scratch", {})
    arrays = kept.get(index)
    if arrays is None or arrays[0].shape != param.shape or arrays[0].dtype != param.dtype:
        arrays = kept[index] = [np.empty_like(param), np.empty_like(param)]
    return arrays


def _decayed(optimizer: Optimizer, param: np.ndarray, grad: np.ndarray, lr: float) -> np.ndarray:
    """Weight decay as the textbook's updates apply it, before the rule: decoupled (AdamW)
    shrinks ``param`` in place; otherwise ``weight_decay * param`` is added to the gradient."""
    if not optimizer.weight_decay:
        return grad
    if isinstance(optimizer, Adam) and optimizer.decoupled_weight_decay:
        param *= 1 - lr * optimizer.weight_decay
        return grad
    return grad + optimizer.weight_decay * param


def _running_average(
    average: np.ndarray, beta: float, new: np.ndarray, scratch: np.ndarray
) -> None:
    """``average = beta * average + (1 - beta) * new`` in place (``scratch`` may be ``new``),
    its subnormal entries flushed to zero."""
    average *= beta
    np.multiply(new, 1 - beta, out=scratch)
    average += scratch
    flush_to_zero(average)


def sgd_update(
    self: SGD,
    param: np.ndarray,
    grad: np.ndarray,
    state: dict[str, np.ndarray],
    scratch: list[np.ndarray],
    lr: float,
) -> None:
    """``SGD.update`` (weight decay already applied)."""
    step_ = scratch[0]
    if not self.momentum:
        np.multiply(grad, lr, out=step_)
        param -= step_
        return
    velocity = state["velocity"]
    velocity *= self.momentum
    velocity += grad
    flush_to_zero(velocity)
    direction = grad + self.momentum * velocity if self.nesterov else velocity
    np.multiply(direction, lr, out=step_)
    param -= step_


def adam_update(
    self: Adam,
    param: np.ndarray,
    grad: np.ndarray,
    state: dict[str, np.ndarray],
    scratch: list[np.ndarray],
    lr: float,
) -> None:
    """``Adam.update`` (weight decay already applied), in place, or in one compiled pass."""
    m, v, t = state["m"], state["v"], self.iterations + 1
    beta1, beta2 = self.beta1, self.beta2
    c1, c2 = 1 - beta1**t, 1 - beta2**t  # the bias corrections
    fused = compiled("adam")
    constants = (beta1, beta2, 1 - beta1, 1 - beta2, c1, c2, lr, self.eps)
    if fused and fused(param, grad, m, v, constants, _flush_offset(param.dtype)):
        return
    denominator, step_ = scratch
    _running_average(m, beta1, grad, step_)
    np.multiply(grad, grad, out=step_)
    _running_average(v, beta2, step_, step_)  # of g^2
    np.divide(v, c2, out=denominator)  # sqrt(v_hat) + eps
    np.sqrt(denominator, out=denominator)
    denominator += self.eps
    np.divide(m, c1, out=step_)  # lr * m_hat / (sqrt(v_hat) + eps)
    step_ *= lr
    step_ /= denominator
    param -= step_


def rmsprop_update(
    self: RMSprop,
    param: np.ndarray,
    grad: np.ndarray,
    state: dict[str, np.ndarray],
    scratch: list[np.ndarray],
    lr: float,
) -> None:
    """``RMSprop.update`` (weight decay already applied)."""
    square_avg = state["square_avg"]
    denominator, step_ = scratch
    np.multiply(grad, grad, out=step_)
    _running_average(square_avg, self.rho, step_, step_)  # s = rho s + (1 - rho) g^2
    np.sqrt(square_avg, out=denominator)  # lr * g / (sqrt(s) + eps)
    denominator += self.eps
    np.multiply(grad, lr, out=step_)
    step_ /= denominator
    param -= step_


# The engine's update of each of barenet's optimizers (exactly these classes: a subclass may
# have changed the rule, so it keeps its own ``update``).
UPDATES: dict[type, Callable[..., None]] = {
    SGD: sgd_update,
    Adam: adam_update,
    AdamW: adam_update,
    RMSprop: rmsprop_update,
}
REPLACEMENTS: dict[tuple[type, str], Callable[..., Any]] = {(Optimizer, "step"): step}
