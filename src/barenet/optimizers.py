"""Optimizers: update parameters in place from their gradients.

An optimizer sees only lists of arrays, ``step(params, grads)``, and keeps its own state (velocity,
moments) per position in those lists. It knows nothing of layers or models. Each ``update`` is
its docstring's rule, line for line.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from barenet.configurable import Configurable, lookup
from barenet.schedules import SCHEDULE_CLASSES

Schedule = Callable[[int], float]
# What a saved optimizer's state means: 2 since Adam saves the paper's m and v (version 1 kept
# m / (1 - beta1) and v / (1 - beta2); see upgrade_state).
STATE_VERSION = 2


def _check(name: str, value: float, low: float, high: float = float("inf")) -> None:
    if not low <= value < high:
        raise ValueError(f"Invalid {name}: {value}")


class Optimizer(Configurable):
    """Base class. ``learning_rate`` is a number or a schedule ``step -> learning rate``.

    A subclass states its update rule in ``update`` and the per-parameter state it needs in
    ``init_state``; ``step`` applies it to every parameter.
    """

    def __init__(self, learning_rate: float | Schedule, weight_decay: float = 0.0) -> None:
        if not callable(learning_rate):
            if not learning_rate > 0:
                raise ValueError(f"Invalid learning rate: {learning_rate}")
            learning_rate = float(learning_rate)
        _check("weight_decay value", weight_decay, 0.0)
        self.learning_rate: float | Schedule = learning_rate
        self.weight_decay = float(weight_decay)
        self.iterations = 0  # updates made so far; the step a schedule sees
        self._state: list[dict[str, np.ndarray]] | None = None

    def current_learning_rate(self) -> float:
        if callable(self.learning_rate):
            return float(self.learning_rate(self.iterations))
        return self.learning_rate

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        """Apply one update to every parameter, in place.

        Args:
            params: the parameters, in the same order at every step.
            grads: ``grads[i]`` is dLoss/d``params[i]`` for the current batch.
        """
        learning_rate = self.current_learning_rate()
        for param, grad, state in zip(params, grads, self.states(params), strict=True):
            self.update(param, grad, state, learning_rate)
        self.iterations += 1

    def states(self, params: Sequence[np.ndarray]) -> list[dict[str, np.ndarray]]:
        """The state of each parameter, made at the first step (``init_state``); ValueError for
        a list of another length than the first step's."""
        if self._state is None:
            self._state = [self.init_state(p) for p in params]
        elif len(self._state) != len(params):
            raise ValueError(
                f"{type(self).__name__} was set up for {len(self._state)} parameters and now "
                f"received {len(params)}. Use a new optimizer for a different model."
            )
        return self._state

    # The kinds of state that are averages of squares: never negative (a file is checked).
    NONNEGATIVE_STATE: frozenset[str] = frozenset()

    def init_state(self, param: np.ndarray) -> dict[str, np.ndarray]:
        """The state this optimizer keeps for ``param`` (velocity, moments), made at the first
        step."""
        return {}

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The state to save, ``{"optimizer.3.m": array, ...}`` (empty before the first step)."""
        return _named_state(self._state or [])

    def restore_state(self, params: Sequence[np.ndarray], arrays: dict[str, np.ndarray]) -> None:
        """Set up the state for ``params`` and copy in the arrays of ``state_arrays()``.

        Raises:
            ValueError: the arrays do not fit these parameters (names or shapes).
        """
        states = [self.init_state(param) for param in params]
        expected = _named_state(states)
        if set(expected) != set(arrays):
            raise ValueError(
                f"The saved optimizer state does not fit {type(self).__name__} on these "
                f"{len(params)} parameters: expected {sorted(expected)}, got {sorted(arrays)}."
            )
        for name, destination in expected.items():
            array = arrays[name]
            if array.shape != destination.shape:
                raise ValueError(
                    f"{name} has shape {array.shape}; its parameter has {destination.shape}."
                )
            if not np.issubdtype(array.dtype, np.floating):
                raise ValueError(f"{name} holds {array.dtype} values, not floats")
            if not np.isfinite(array).all():
                raise ValueError(f"{name} holds NaN or infinite values")
            if name.rsplit(".", 1)[-1] in self.NONNEGATIVE_STATE and (array < 0).any():
                raise ValueError(f"{name} holds negative values, which this state never has")
            destination[...] = array
        self._state = states

    def update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray], lr: float
    ) -> None:
        """Update one parameter in place from its gradient, by this optimizer's rule.

        Args:
            param: the parameter, changed in place.
            grad: dLoss/dparam for the current batch.
            state: this parameter's state from ``init_state``, changed in place.
            lr: the learning rate of this step (a schedule's value at the current step).

        Shape:
            - param, grad and each array of state: the same shape, any.
        """
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {"learning_rate": self.learning_rate, "weight_decay": self.weight_decay}


def _named_state(states: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Per-parameter state by file name, ``"optimizer.3.m"``."""
    return {
        f"optimizer.{index}.{key}": array
        for index, state in enumerate(states)
        for key, array in state.items()
    }


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum and L2 weight decay.

    Update rule, with ``g = grad + weight_decay * p``::

        v = momentum * v + g
        p -= lr * (g + momentum * v)   if nesterov
        p -= lr * v                    otherwise (v = g when momentum is 0)
    """

    def __init__(
        self,
        learning_rate: float | Schedule = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(learning_rate, weight_decay)
        _check("momentum value", momentum, 0.0, 1.0)
        if nesterov and momentum == 0:
            raise ValueError("Invalid nesterov: Nesterov momentum requires momentum > 0")
        self.momentum = float(momentum)
        self.nesterov = nesterov

    def init_state(self, param: np.ndarray) -> dict[str, np.ndarray]:
        return {"velocity": np.zeros_like(param)} if self.momentum else {}

    def update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray], lr: float
    ) -> None:
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        if not self.momentum:
            param -= lr * grad
            return
        velocity = state["velocity"]
        velocity[...] = self.momentum * velocity + grad
        direction = grad + self.momentum * velocity if self.nesterov else velocity
        param -= lr * direction

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam (Kingma & Ba), with L2 or decoupled (AdamW) weight decay.

    Update rule, with ``t`` counting from 1::

        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g^2
        m_hat = m / (1 - beta1^t)
        v_hat = v / (1 - beta2^t)
        p -= lr * m_hat / (sqrt(v_hat) + eps)

    ``m`` and ``v`` are the state kept and saved (PyTorch's ``exp_avg`` and ``exp_avg_sq``).
    With ``decoupled_weight_decay`` (AdamW) the decay is ``p -= lr * weight_decay * p`` first;
    otherwise ``weight_decay * p`` is added to ``g`` (L2 regularisation).
    """

    def __init__(
        self,
        learning_rate: float | Schedule = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
    ) -> None:
        super().__init__(learning_rate, weight_decay)
        _check("beta1 value", beta1, 0.0, 1.0)
        _check("beta2 value", beta2, 0.0, 1.0)
        if not eps > 0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.decoupled_weight_decay = decoupled_weight_decay

    NONNEGATIVE_STATE = frozenset({"v"})

    def init_state(self, param: np.ndarray) -> dict[str, np.ndarray]:
        return {"m": np.zeros_like(param), "v": np.zeros_like(param)}

    def update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray], lr: float
    ) -> None:
        if self.weight_decay and self.decoupled_weight_decay:
            param *= 1 - lr * self.weight_decay
        elif self.weight_decay:
            grad = grad + self.weight_decay * param
        m, v, t = state["m"], state["v"], self.iterations + 1
        m[...] = self.beta1 * m + (1 - self.beta1) * grad
        v[...] = self.beta2 * v + (1 - self.beta2) * grad**2
        m_hat = m / (1 - self.beta1**t)
        v_hat = v / (1 - self.beta2**t)
        param -= lr * m_hat / (np.sqrt(v_hat) + self.eps)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta1": self.beta1,
            "beta2": self.beta2,
            "eps": self.eps,
            "decoupled_weight_decay": self.decoupled_weight_decay,
        }


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), ``weight_decay=0.01`` by default."""

    def __init__(
        self,
        learning_rate: float | Schedule = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__(learning_rate, beta1, beta2, eps, weight_decay, True)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["decoupled_weight_decay"]  # always True here, not an argument
        return config


class RMSprop(Optimizer):
    """RMSprop (Hinton): divide the step by a running root-mean-square of recent gradients.

    Update rule::

        s = rho * s + (1 - rho) * g^2
        p -= lr * g / (sqrt(s) + eps)
    """

    def __init__(
        self,
        learning_rate: float | Schedule = 1e-3,
        rho: float = 0.9,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(learning_rate, weight_decay)
        _check("rho value", rho, 0.0, 1.0)
        if not eps > 0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        self.rho, self.eps = float(rho), float(eps)

    NONNEGATIVE_STATE = frozenset({"square_avg"})

    def init_state(self, param: np.ndarray) -> dict[str, np.ndarray]:
        return {"square_avg": np.zeros_like(param)}

    def update(
        self, param: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray], lr: float
    ) -> None:
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        square_avg = state["square_avg"]
        square_avg[...] = self.rho * square_avg + (1 - self.rho) * grad**2
        param -= lr * grad / (np.sqrt(square_avg) + self.eps)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "eps": self.eps}


# Every optimizer by name: the single source of the names that the command line, training
# recipes and config files accept. Each entry is called with keyword arguments, at least
# ``learning_rate`` and ``weight_decay``.
OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {
    "sgd": SGD,
    "momentum": functools.partial(SGD, momentum=0.9),
    "nesterov": functools.partial(SGD, momentum=0.9, nesterov=True),
    "adam": Adam,
    "adamw": AdamW,
    "rmsprop": RMSprop,
}


def get_optimizer(optimizer: str | Optimizer, **kwargs: Any) -> Optimizer:
    """An optimizer from a name and keyword arguments (or the object itself)."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    return lookup(OPTIMIZERS, optimizer, "optimizer")(**kwargs)


# The classes, by name, that a model file's optimizer description may name.
OPTIMIZER_CLASSES: dict[str, type[Optimizer]] = {
    cls.__name__: cls for cls in (SGD, Adam, AdamW, RMSprop)
}


def describe_optimizer(optimizer: Optimizer) -> dict[str, Any] | None:
    """The JSON that rebuilds ``optimizer`` (class, arguments, steps taken), or None when its
    learning rate is a Python function, which a file cannot hold."""
    config = optimizer.get_config()
    rate = config["learning_rate"]
    if callable(rate):
        if type(rate).__name__ not in SCHEDULE_CLASSES:
            return None
        config["learning_rate"] = {"schedule": type(rate).__name__, **dataclasses.asdict(rate)}
    return {
        "class": type(optimizer).__name__,
        "config": config,
        "iterations": optimizer.iterations,
        "state_version": STATE_VERSION,
    }


def optimizer_from_description(description: dict[str, Any]) -> Optimizer:
    """Rebuild an optimizer from ``describe_optimizer``'s JSON (its state arrays come apart)."""
    cls = lookup(OPTIMIZER_CLASSES, description["class"], "optimizer class")
    config = dict(description["config"])
    rate = config["learning_rate"]
    if isinstance(rate, dict):
        arguments = dict(rate)
        schedule = lookup(SCHEDULE_CLASSES, arguments.pop("schedule"), "schedule class")
        config["learning_rate"] = schedule(**arguments)
    optimizer = cls(**config)
    iterations = description.get("iterations", 0)
    if not isinstance(iterations, int) or isinstance(iterations, bool) or iterations < 0:
        raise ValueError(f"its optimizer's step count {iterations!r} is not a whole number >= 0")
    optimizer.iterations = iterations
    return optimizer


def upgrade_state(description: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Bring the state arrays of an older file to ``STATE_VERSION``, in place: files of version 1
    (or none) kept Adam's moments as ``m / (1 - beta1)`` and ``v / (1 - beta2)``."""
    if description.get("state_version", 1) >= STATE_VERSION:
        return
    if description["class"] not in ("Adam", "AdamW"):
        return
    config = description["config"]
    factors = {"m": 1 - config.get("beta1", 0.9), "v": 1 - config.get("beta2", 0.999)}
    for name, array in arrays.items():
        kind = name.rsplit(".", 1)[-1]
        if kind in factors:
            arrays[name] = array * array.dtype.type(factors[kind])
