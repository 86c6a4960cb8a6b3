"""Comparing a learner's answer with the right one, and saying in a sentence what differs.

Every function here takes whatever a learner's function returned and never raises on it: a value
that is not what the exercise asks for becomes a sentence that says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np

TEXTBOOK = "barenet's textbook"
NUMERICAL = "the numerical gradient (central differences)"


def a_type(value: object) -> str:
    """``"a list"``, ``"an int"``, ``"a NumPy array of shape (3,)"``: the type of ``value``."""
    if isinstance(value, np.ndarray):
        return f"a NumPy array of shape {value.shape}"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def as_numbers(name: str, value: object, scalar: bool) -> tuple[np.ndarray | None, str | None]:
    """``value`` as a float64 array, or a sentence saying why it is not the array (or, with
    ``scalar``, the single number) that output ``name`` should be."""
    wanted = "a single number" if scalar else "a NumPy array"
    if value is None:
        return None, f"{name} is None, where {wanted} was expected"
    if isinstance(value, list):
        return None, f"{name} is a list, where {wanted} was expected (np.array makes one)"
    if not isinstance(value, (np.ndarray, np.generic, int, float)):
        return None, f"{name} is {a_type(value)}, where {wanted} was expected"
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        return None, f"{name} holds values of type {array.dtype}, where numbers were expected"
    return array.astype(np.float64), None


def unpack(
    answer: object, outputs: tuple[str, ...], scalars: frozenset[str]
) -> tuple[dict[str, np.ndarray], str | None]:
    """The returned value of each output, by name, or a sentence saying why ``answer`` is not
    what the exercise returns (None, a tuple of the wrong length, a list where an array is due)."""
    if answer is None:
        return {}, "it returned None (is a return statement missing?)"
    values: tuple[Any, ...] = (answer,)
    if len(outputs) > 1:
        names = f"({', '.join(outputs)})"
        if not isinstance(answer, (tuple, list)):
            return {}, f"it returned {a_type(answer)}, where a tuple {names} was expected"
        if len(answer) != len(outputs):
            return {}, (
                f"it returned {len(answer)} values, where {len(outputs)} were expected: {names}"
            )
        values = tuple(answer)
    arrays = {}
    for name, value in zip(outputs, values, strict=True):
        array, problem = as_numbers(name, value, name in scalars)
        if array is None:
            return {}, problem
        arrays[name] = array
    return arrays, None


def largest_relative_difference(got: np.ndarray, want: np.ndarray) -> float:
    """``max |got - want| / max(|got|, |want|)`` over every entry, 0 when both are all zeros:
    a relative error that ignores how the entries compare in size among themselves."""
    if got.size == 0:
        return 0.0
    scale = max(float(np.abs(got).max()), float(np.abs(want).max()))
    return 0.0 if scale == 0 else float(np.abs(got - want).max() / scale)


def agrees(got: np.ndarray, want: np.ndarray, tolerance: float) -> bool:
    """Same shape, NaN in the same places, the same infinities, and finite entries equal up to
    ``tolerance`` (``largest_relative_difference``)."""
    if got.shape != want.shape:
        return False
    nan = np.isnan(got)
    if (nan != np.isnan(want)).any():
        return False
    infinite = np.isinf(got) | np.isinf(want)
    if (got[infinite] != want[infinite]).any():
        return False
    finite = ~(nan | infinite)
    return largest_relative_difference(got[finite], want[finite]) <= tolerance


def difference(name: str, got: np.ndarray, want: np.ndarray, oracle: str) -> str:
    """What is wrong with output ``name``, in a sentence (``got`` differs from ``want``)."""
    if got.shape != want.shape:
        wanted = "a single number" if want.shape == () else f"shape {want.shape}"
        return f"{name} has shape {got.shape}, where {wanted} was expected"
    for test, word in ((np.isnan, "NaN (not a number)"), (np.isinf, "inf")):
        bad = test(got) & np.isfinite(want)
        if bad.any():
            where = "" if got.shape == () else f" in {bad.sum()} of its {got.size} entries"
            return (
                f"{name} is {word}{where} where the right answer is finite (NaN and inf come "
                f"from an overflow, such as exp of a large number, or from a division by zero)"
            )
    if got.shape == ():
        return f"{name} is {got.item():.6g}, where {oracle} gives {want.item():.6g}"
    index = np.unravel_index(np.argmax(np.abs(np.nan_to_num(got - want, nan=np.inf))), got.shape)
    at = tuple(int(i) for i in index)
    return (
        f"{name} differs from {oracle}: at index {at} it is {got[index]:.6g}, where "
        f"{want[index]:.6g} is right"
    )


def error_sentence(error: BaseException) -> str:
    """``it raised ValueError: operands could not be broadcast ...``: the exception in one
    sentence (its first line, shortened)."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    text = text if len(text) <= 200 else text[:197] + "..."
    return f"it raised {type(error).__name__}" + (f": {text}" if text else "")
