"""The Adam exercise: one step of the update, bias correction included.

The right answers come from ``barenet.optimizers.Adam``; each mistake is a learner's version of
the step, in plain NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from barenet.exercises.spec import Case, Exercise, Mistake, Section, case
from barenet.optimizers import Adam

OPTIMIZERS = Section(5, "Optimizers: what to do with a gradient")


def adam_reference(
    p: np.ndarray,
    g: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    t: int,
    lr: float,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
) -> tuple[np.ndarray, ...]:
    adam = Adam(learning_rate=lr, beta1=beta1, beta2=beta2, eps=eps)
    adam.iterations = t - 1  # steps already made: this is step t
    state = {"m": m, "v": v}
    adam.update(p, g, state, lr)  # in place, on the case's copies
    return p, state["m"], state["v"]


def adam_cases(rng: np.random.Generator) -> list[Case]:
    """The first step (m and v zero, where bias correction matters most), later steps with
    moments from earlier ones, float32 and float64, and other betas and eps."""
    steps: tuple[tuple[Any, ...], ...] = (  # label, shape, t, lr, options, dtype
        ("the first step (m and v zero)", (3, 4), 1, 0.1, {}, np.float64),
        ("step 2, a vector", (5,), 2, 0.05, {}, np.float32),
        ("step 5, other betas", (2, 3), 5, 0.1, {"beta1": 0.8, "beta2": 0.99}, np.float64),
        ("step 3, another eps", (1, 4), 3, 0.01, {"eps": 1e-6}, np.float64),
    )
    cases = []
    for label, shape, t, lr, options, dtype in steps:
        earlier = rng.normal(size=shape) * (t > 1)
        arrays = {
            "p": rng.normal(size=shape),
            "g": rng.normal(size=shape),
            "m": 0.2 * earlier,
            "v": 0.01 * earlier**2,
        }
        arguments: dict[str, Any] = {k: a.astype(dtype) for k, a in arrays.items()}
        arguments |= {"t": t, "lr": lr}
        cases.append(case(label, dtype, adam_reference, ("p", "m", "v"), arguments, options))
    return cases


def adam(bias_correction: bool = True, shift: int = 0, squared: bool = True, sign: int = 1) -> Any:
    """One Adam step as a learner writes it: ``(p, m, v, m_hat, v_hat)``, with the bias
    correction at step ``t + shift`` (or none), ``v`` of ``g`` or of ``g^2``, and the sign."""

    def step(
        p: Any,
        g: Any,
        m: Any,
        v: Any,
        t: int,
        lr: float,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
    ) -> tuple[np.ndarray, ...]:
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * (g * g if squared else g)
        m_hat = m / (1 - beta1 ** (t + shift)) if bias_correction else m
        v_hat = v / (1 - beta2 ** (t + shift)) if bias_correction else v
        return p - sign * lr * m_hat / (np.sqrt(v_hat) + eps), m, v, m_hat, v_hat

    return step


def output(step: Any, index: int) -> Any:
    """The ``index``-th value of an ``adam`` step variant."""
    return lambda *args, **options: step(*args, **options)[index]


UPDATE = (
    "m_hat = m / (1 - beta1**t), v_hat = v / (1 - beta2**t), "
    "then p = p - lr * m_hat / (sqrt(v_hat) + eps)"
)
ADAM_MISTAKES = (
    Mistake(
        "no-bias-correction",
        "p",
        "Adam without bias correction",
        "m and v start at 0, so early on they are too small by a factor 1 - beta**t; "
        f"divide it out before the step: {UPDATE}.",
        output(adam(bias_correction=False), 0),
        OPTIMIZERS,
    ),
    Mistake(
        "t-off-by-one",
        "p",
        "the step number t off by one in the bias correction",
        f"t counts from 1 (the first step divides m by 1 - beta1**1) and is used as given: "
        f"{UPDATE}.",
        output(adam(shift=1), 0),
        OPTIMIZERS,
        variants=(output(adam(shift=-1), 0),),
    ),
    Mistake(
        "corrected-moments-kept",
        "m",
        "the bias-corrected m_hat returned as the new m",
        "The state is the running averages m and v themselves; m_hat and v_hat only serve "
        "this step's update. Return (p, m, v).",
        output(adam(), 3),
        OPTIMIZERS,
    ),
    Mistake(
        "corrected-moments-kept",
        "v",
        "the bias-corrected v_hat returned as the new v",
        "The state is the running averages m and v themselves; m_hat and v_hat only serve "
        "this step's update. Return (p, m, v).",
        output(adam(), 4),
        OPTIMIZERS,
    ),
    Mistake(
        "v-of-g-not-g-squared",
        "v",
        "v averaging g instead of g**2",
        "v is the running mean of the squared gradient: v = beta2 * v + (1 - beta2) * g**2.",
        output(adam(squared=False), 2),
        OPTIMIZERS,
    ),
    Mistake(
        "v-of-g-not-g-squared",
        "p",
        "v averaging g instead of g**2",
        "v is the running mean of the squared gradient: v = beta2 * v + (1 - beta2) * g**2.",
        output(adam(squared=False), 0),
        OPTIMIZERS,
    ),
    Mistake(
        "step-uphill",
        "p",
        "the step taken uphill (p + ...)",
        f"Descent moves against the gradient: {UPDATE}.",
        output(adam(sign=-1), 0),
        OPTIMIZERS,
    ),
)

EXERCISES = (
    Exercise(
        name="adam_step",
        arguments=("p", "g", "m", "v", "t", "lr"),
        options={"beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
        outputs=("p", "m", "v"),
        returns="(p, m, v) after step t (t counts from 1), each the shape of p",
        description="one Adam update of parameters p from their gradient g",
        section=OPTIMIZERS,
        make_cases=adam_cases,
        mistakes=ADAM_MISTAKES,
    ),
)
