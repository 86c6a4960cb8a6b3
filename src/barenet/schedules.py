"""Learning-rate schedules: callables ``step -> learning_rate``; ``step`` counts updates from 0.

Any function of the step works as a schedule; these are the common ones, as small objects so they
print and compare nicely.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from barenet.configurable import lookup


def _check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"Invalid {name}: {value}")


@dataclass(frozen=True)
class Constant:
    """``lr(step) = learning_rate``."""

    learning_rate: float

    def __call__(self, step: int) -> float:
        return self.learning_rate


@dataclass(frozen=True)
class StepDecay:
    """``lr(step) = learning_rate * gamma ** (step // step_size)``."""

    learning_rate: float
    step_size: int
    gamma: float = 0.1

    def __post_init__(self) -> None:
        _check_positive("learning rate", self.learning_rate)
        _check_positive("step_size", self.step_size)
        _check_positive("gamma", self.gamma)

    def __call__(self, step: int) -> float:
        return self.learning_rate * self.gamma ** (step // self.step_size)


@dataclass(frozen=True)
class ExponentialDecay:
    """``lr(step) = learning_rate * decay_rate ** (step / decay_steps)``."""

    learning_rate: float
    decay_steps: int
    decay_rate: float

    def __post_init__(self) -> None:
        _check_positive("learning rate", self.learning_rate)
        _check_positive("decay_steps", self.decay_steps)
        _check_positive("decay_rate", self.decay_rate)

    def __call__(self, step: int) -> float:
        return self.learning_rate * self.decay_rate ** (step / self.decay_steps)


@dataclass(frozen=True)
class CosineDecay:
    """A linear warm-up, then a half cosine down to ``min_learning_rate`` at ``total_steps``
    (held there afterwards).

    ``lr(s) = learning_rate * (s + 1) / warmup`` for ``s < warmup`` (from ``learning_rate /
    warmup`` at step 0 up to ``learning_rate``: no step is taken at a rate of 0), then
    ``lr(s) = min + (learning_rate - min) * (1 + cos(pi * (s - warmup) / (total - warmup))) / 2``.
    """

    learning_rate: float
    total_steps: int
    warmup_steps: int = 0
    min_learning_rate: float = 0.0

    def __post_init__(self) -> None:
        _check_positive("learning rate", self.learning_rate)
        _check_positive("total_steps", self.total_steps)
        if not 0 <= self.warmup_steps < self.total_steps:
            raise ValueError(
                f"Invalid warmup_steps: {self.warmup_steps} (expected 0 <= warmup_steps < "
                f"total_steps={self.total_steps})"
            )

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.learning_rate * (step + 1) / self.warmup_steps
        progress = min(1.0, (step - self.warmup_steps) / (self.total_steps - self.warmup_steps))
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.min_learning_rate + (self.learning_rate - self.min_learning_rate) * cosine


# The schedule objects, by class name: a saved optimizer names one of these.
SCHEDULE_CLASSES: dict[str, type] = {
    cls.__name__: cls for cls in (Constant, StepDecay, ExponentialDecay, CosineDecay)
}


def constant_over_run(learning_rate: float, total_steps: int, warmup_steps: int = 0) -> float:
    """The same learning rate for the whole run (no warm-up)."""
    return learning_rate


def cosine_over_run(learning_rate: float, total_steps: int, warmup_steps: int = 0) -> CosineDecay:
    """Warm up linearly, then follow a half cosine down to 0 at the end of the run."""
    return CosineDecay(learning_rate, total_steps, min(warmup_steps, total_steps - 1))


# A schedule over a whole training run, by name: the single source of the names that the command
# line, training recipes and config files accept. Each entry maps (learning_rate, total_steps,
# warmup_steps) to what an optimizer takes as its learning rate: a number or a schedule.
SCHEDULES: dict[str, Callable[[float, int, int], float | Callable[[int], float]]] = {
    "constant": constant_over_run,
    "cosine": cosine_over_run,
}


def get_schedule(
    name: str, learning_rate: float, total_steps: int, warmup_steps: int = 0
) -> float | Callable[[int], float]:
    """The learning rate (or schedule) named ``name`` over a run of ``total_steps`` updates."""
    return lookup(SCHEDULES, name, "schedule")(learning_rate, total_steps, warmup_steps)
