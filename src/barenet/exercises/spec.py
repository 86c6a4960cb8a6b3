"""What an exercise is: its signature, its test inputs with their right answers, and the classic
mistakes it can recognise, each with the guide section that explains it.

A ``Case`` is one input to try an answer on, with the answer barenet's textbook gives (or, for a
gradient, the one central differences give). A ``Mistake`` is a wrong formula a learner is known
to write: the grader computes its answer on the same input, and when the learner's answer equals
it, names the mistake.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from barenet.exercises.checks import TEXTBOOK
from barenet.gradcheck import numerical_gradient

# The guide's chapters, by number: the stem of docs/guide/<stem>.md (and of its notebook).
CHAPTERS = {
    1: "01-xor",
    2: "02-backprop",
    3: "03-softmax",
    4: "04-tutorials",
    5: "05-batches",
    6: "06-experiments",
    7: "07-convolutions",
    8: "08-your-digit",
    9: "09-debugging",
}


@dataclass(frozen=True)
class Section:
    """A place in the guide to reread: a chapter, and a heading of it, ``##`` or ``###`` (None:
    the whole chapter)."""

    chapter: int
    title: str | None = None

    def __str__(self) -> str:
        where = f"docs/guide/{CHAPTERS[self.chapter]}.ipynb"
        if self.title is None:
            return f"chapter {self.chapter} ({where})"
        return f'chapter {self.chapter}, "{self.title}" ({where})'


@dataclass(frozen=True)
class Case:
    """One input to grade an answer on, and the right answer to it.

    Attributes:
        label: the input in words, e.g. ``"a batch of one sample, float32"``.
        args: the positional arguments, by name, in the signature's order.
        options: keyword arguments, only those that differ from the signature's defaults.
        expected: the right value of each output, by the output's name.
        numerical: the outputs whose ``expected`` value comes from central differences rather
            than from barenet's textbook code.
        tolerance: the largest relative difference (in the max norm) still counted as equal.
    """

    label: str
    args: dict[str, Any]
    options: dict[str, Any]
    expected: dict[str, Any]
    numerical: frozenset[str] = frozenset()
    tolerance: float = 1e-6

    def arguments(self) -> tuple[list[Any], dict[str, Any]]:
        """Fresh copies of the arguments, ``(positional, keywords)``, so that an answer that
        changes its inputs in place changes nothing else."""
        return fresh(self.args.values()), dict(self.options)

    def describe(self) -> str:
        """The input in words and shapes: ``a batch of one, float64 (x (1, 3), w (3, 4))``."""
        parts = []
        for name, value in {**self.args, **self.options}.items():
            if isinstance(value, np.ndarray):
                parts.append(f"{name} {value.shape}")
            else:
                parts.append(f"{name}={value!r}")
        return f"{self.label} ({', '.join(parts)})"


@dataclass(frozen=True)
class Mistake:
    """A classic wrong formula for one output of an exercise.

    Attributes:
        key: a short identifier, e.g. ``"bias-summed-over-every-axis"``.
        output: the output it gets wrong, e.g. ``"db"``.
        name: the mistake in a few words, as a learner would recognise it.
        advice: why it is wrong, and what to write instead.
        answer: the mistake's value of that output, from the exercise's arguments.
        section: where the guide explains it.
        variants: the same mistake written in other ways (each computed like ``answer``).
    """

    key: str
    output: str
    name: str
    advice: str
    answer: Callable[..., Any]
    section: Section
    variants: tuple[Callable[..., Any], ...] = ()


@dataclass(frozen=True)
class Exercise:
    """A function for the learner to write, and how to grade it.

    Attributes:
        name: the function's name, which the learner's function must have in a graded file.
        arguments: its positional parameters, in order.
        options: its keyword parameters, with their defaults.
        outputs: the names of what it returns, in order (one name: a single value).
        returns: what it returns, in words with shapes.
        description: what it computes, in one line.
        section: the guide section that teaches it.
        make_cases: ``rng -> cases``, the inputs to grade on, with their right answers.
        mistakes: the wrong formulas it recognises.
        scalars: the outputs that are single numbers (a loss), not arrays.
        oracle: where the right answers come from, as the grade names it: barenet's textbook,
            or a formula where barenet has no function for it.
    """

    name: str
    arguments: tuple[str, ...]
    options: dict[str, Any]
    outputs: tuple[str, ...]
    returns: str
    description: str
    section: Section
    make_cases: Callable[[np.random.Generator], list[Case]]
    mistakes: tuple[Mistake, ...]
    scalars: frozenset[str] = field(default_factory=frozenset)
    oracle: str = TEXTBOOK

    @property
    def signature(self) -> str:
        """``"(x, w, b, stride=1, padding=0)"``."""
        options = [f"{name}={number_text(value)}" for name, value in self.options.items()]
        return f"({', '.join([*self.arguments, *options])})"


def number_text(value: object) -> str:
    """A default as a learner writes it: ``1e-8`` rather than Python's ``1e-08``."""
    text = repr(value)
    return re.sub(r"e([+-])0(\d)", r"e\1\2", text) if isinstance(value, float) else text


def fresh(values: Iterable[Any]) -> list[Any]:
    """The values, each array among them copied (so that code changing it in place changes
    nothing else)."""
    return [np.copy(value) if isinstance(value, np.ndarray) else value for value in values]


def case(
    label: str,
    dtype: type,
    reference: Callable[..., Any],
    outputs: tuple[str, ...],
    args: dict[str, Any],
    options: dict[str, Any] | None = None,
    numerical: Callable[..., Any] | None = None,
) -> Case:
    """A case whose expected answer is ``reference(*args, **options)``, computed on copies.

    ``numerical``, if given, returns central-difference values for some outputs as a dict; they
    replace the reference's. The tolerance follows the floating-point type of the input.
    """
    options = options or {}
    values = reference(*fresh(args.values()), **options)
    expected = dict(zip(outputs, values if len(outputs) > 1 else (values,), strict=True))
    numeric: dict[str, Any] = {}
    if numerical is not None:
        numeric = numerical(*fresh(args.values()), **options)
        expected.update(numeric)
    name = np.dtype(dtype).name
    tolerance = 1e-5 if numeric else 1e-4 if dtype == np.float32 else 1e-6
    return Case(f"{label}, {name}", dict(args), options, expected, frozenset(numeric), tolerance)


def central_differences(f: Callable[[], float], arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """The numerical gradient of ``f()`` with respect to each array, by name (each perturbed in
    place by ``barenet.gradcheck.numerical_gradient``, so ``f`` must read the arrays themselves).
    """
    return {name: numerical_gradient(f, array, 1e-6) for name, array in arrays.items()}
