"""Grading: run a learner's function on every case of an exercise and say OK, or what is wrong.

``grade`` never raises on the learner's answer: an exception it raises, a None, a wrong type or
shape, a NaN, a wrong number all become a WRONG result with a sentence. When the wrong answer is
exactly what a classic mistake gives, the result names the mistake and the guide section that
explains it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import itertools
import re
import sys
import textwrap
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from barenet import engine
from barenet.exercises.checks import (
    NUMERICAL,
    agrees,
    difference,
    error_sentence,
    unpack,
)
from barenet.exercises.registry import EXERCISES, get_exercise
from barenet.exercises.spec import Case, Exercise, Mistake, fresh

SEED = 0  # every exercise draws its inputs from default_rng(SEED): the same inputs every time
_modules = itertools.count()  # numbers the modules grade_file imports, so each name is new


@dataclass(frozen=True)
class Result:
    """The grade of one answer.

    Attributes:
        name: the exercise.
        passed: True when the answer is right on every input.
        message: what was checked, or what is wrong, in sentences (one paragraph per line).
        mistakes: the keys of the classic mistakes recognised (empty when none is).
    """

    name: str
    passed: bool
    message: str
    mistakes: tuple[str, ...] = ()

    def __str__(self) -> str:
        """``OK name: ...`` or ``WRONG name: ...``, wrapped to 80 columns."""
        return wrapped(f"{'OK' if self.passed else 'WRONG'} {self.name}: {self.message}")


def wrapped(text: str, width: int = 80) -> str:
    """``text`` wrapped to ``width`` columns, each paragraph after the first indented. No line
    breaks inside a shape, ``(3, 4)``, or beside an operator, so ``dx = dy * (x > 0)`` stays
    on one line."""
    # The spaces not to break at become no-break spaces until the text is wrapped.
    text = re.sub(r"\([^()]*\)", lambda match: match[0].replace(", ", ",\xa0"), text)
    text = re.sub(r" (=|\*\*|\*|@|\+|-|/|//|<=|>=|<|>) ", "\xa0\\1\xa0", text)
    lines = [
        textwrap.fill(
            paragraph,
            width,
            initial_indent="  " if number else "",
            subsequent_indent="  ",
            break_long_words=False,
            break_on_hyphens=False,
        )
        for number, paragraph in enumerate(text.splitlines())
    ]
    return "\n".join(lines).replace("\xa0", " ")  # the no-break spaces, spaces again


@dataclass
class Failure:
    """What went wrong on one case: sentences, and the mistakes recognised in it."""

    case: Case
    problems: list[str]
    mistakes: list[Mistake] = field(default_factory=list)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """NumPy's overflow and division warnings silenced: the grade says what they meant."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def recognised(mistake: Mistake, case: Case, got: np.ndarray) -> bool:
    """Whether ``got`` is what ``mistake`` (or one of its variants) gives on this case; a
    formula that does not run on these shapes is not it."""
    for formula in (mistake.answer, *mistake.variants):
        try:
            with quiet():
                answer = formula(*fresh(case.args.values()), **case.options)
                answer = np.asarray(answer, dtype=np.float64)
        except Exception:
            continue
        if agrees(got, answer, case.tolerance):
            return True
    return False


def called_with_wrong_arguments(error: TypeError) -> bool:
    """Whether the call itself raised ``error`` (no frame of the function ran): its parameters
    are not the exercise's."""
    return error.__traceback__ is not None and error.__traceback__.tb_next is None


def try_case(exercise: Exercise, fn: Callable[..., Any], case: Case) -> Failure | None:
    """None when ``fn`` gives the right answer on ``case``, else what is wrong."""
    positional, keywords = case.arguments()
    try:
        with quiet():
            answer = fn(*positional, **keywords)
    except (Exception, SystemExit) as error:  # exit() in an answer is an answer too
        sentence = error_sentence(error)
        if isinstance(error, TypeError) and called_with_wrong_arguments(error):
            sentence += f" (it is called as {exercise.name}{exercise.signature})"
        return Failure(case, [sentence])
    values, problem = unpack(answer, exercise.outputs, exercise.scalars)
    if problem is not None:
        return Failure(case, [problem])
    failure = Failure(case, [])
    for name in exercise.outputs:
        got, want = values[name], np.asarray(case.expected[name], dtype=np.float64)
        if agrees(got, want, case.tolerance):
            continue
        oracle = NUMERICAL if name in case.numerical else exercise.oracle
        failure.problems.append(difference(name, got, want, oracle))
        failure.mistakes += [
            mistake
            for mistake in exercise.mistakes
            if mistake.output == name and recognised(mistake, case, got)
        ]
    return failure if failure.problems else None


def diagnose(failures: list[Failure]) -> tuple[Failure, list[Mistake]]:
    """The failure to report, and the mistakes to name in it: at most one per output, the one
    recognised on the most inputs (on a batch of one, several formulas can give the same
    numbers; the mistake that explains every input is the one made)."""
    count = Counter(mistake.key for failure in failures for mistake in failure.mistakes)

    def rank(failure: Failure) -> tuple[int, int]:
        best = max((count[mistake.key] for mistake in failure.mistakes), default=0)
        return -best, len({mistake.key for mistake in failure.mistakes})

    failure = min(failures, key=rank)  # the first of equals: the inputs' order
    named: dict[str, Mistake] = {}
    for mistake in sorted(failure.mistakes, key=lambda mistake: -count[mistake.key]):
        named.setdefault(mistake.output, mistake)
    return failure, list(named.values())


def report(exercise: Exercise, failures: list[Failure], cases: int) -> Result:
    """The WRONG result: what is wrong on one input, the classic mistakes recognised, the guide
    sections to reread, and on how many inputs it is wrong."""
    failure, mistakes = diagnose(failures)
    lines = [f"On {failure.case.describe()}, {'; '.join(failure.problems)}."]
    # One line for a mistake that several outputs share: "Classic mistake in row and col: ...".
    outputs: dict[tuple[str, str, str], list[str]] = {}
    for mistake in mistakes:
        outputs.setdefault((mistake.key, mistake.name, mistake.advice), []).append(mistake.output)
    for (_, name, advice), names in outputs.items():
        lines.append(f"Classic mistake in {' and '.join(names)}: {name}. {advice}")
    sections = [mistake.section for mistake in mistakes]
    for section in dict.fromkeys(sections or [exercise.section]):
        lines.append(f"Reread {section}.")
    others = cases - 1
    if len(failures) == 1 and others:
        lines.append(f"It is right on the other {others} input{'s' * (others > 1)}.")
    elif len(failures) > 1:
        some = "all" if len(failures) == cases else f"{len(failures)} of the"
        lines.append(f"It is wrong on {some} {cases} inputs.")
    keys = tuple(dict.fromkeys(mistake.key for mistake in mistakes))
    return Result(exercise.name, False, "\n".join(lines), keys)


def grade(name: str, fn: object) -> Result:
    """Grade ``fn`` as the answer to exercise ``name``: OK when it agrees with barenet's
    textbook, or the exercise's formula where barenet has none (and with central differences,
    for gradients) on every input.

    Args:
        name: an exercise of ``EXERCISES``, e.g. ``"dense_backward"``.
        fn: the learner's function.

    Returns:
        A ``Result``; ``str(result)`` starts with ``OK`` or ``WRONG``.

    Raises:
        ValueError: ``name`` is not an exercise (the message lists them).
    """
    exercise = get_exercise(name)
    if not callable(fn):
        return Result(name, False, f"expected a function, received {fn!r}.")
    with engine.using("reference"):  # the right answers are the textbook's own
        cases = exercise.make_cases(np.random.default_rng(SEED))
    failures = [failure for case in cases if (failure := try_case(exercise, fn, case))]
    if failures:
        return report(exercise, failures, len(cases))
    checked = exercise.oracle + (
        " and central differences" if any(case.numerical for case in cases) else ""
    )
    labels = "; ".join(case.label for case in cases)
    return Result(name, True, f"agrees with {checked} on all {len(cases)} inputs: {labels}.")


def load(path: Path) -> tuple[Any, str | None]:
    """Import the Python file ``path`` under a new module name: ``(module, None)``, or
    ``(None, a sentence)`` when it does not import."""
    module_name = f"barenet_exercise_file_{next(_modules)}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        return None, f"{path.name} cannot be imported as a Python file."
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # as an import would (dataclasses look themselves up)
    try:
        with quiet():
            spec.loader.exec_module(module)
    except SyntaxError as error:
        return None, f"{path.name} has a syntax error on line {error.lineno}: {error.msg}."
    except (Exception, SystemExit) as error:
        frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == str(path)]
        line = f" (line {frames[-1].lineno})" if frames else ""
        return None, f"Importing {path.name} failed{line}: {error_sentence(error)}."
    finally:
        sys.modules.pop(module_name, None)
    return module, None


def grade_file(path: str | Path) -> list[tuple[str, Result]]:
    """Import a learner's Python file and grade each top-level function in it that is named
    after an exercise, in the order the file defines them.

    Returns:
        ``[(name, result), ...]``; empty when no function is named after an exercise. A file
        that does not import (a syntax error, an exception) gives one WRONG result, named after
        the file, that says why.

    Raises:
        FileNotFoundError: there is no file at ``path``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such file: {path}. Give the path of a Python file.")
    module, problem = load(path.resolve())
    if module is None:
        return [(path.name, Result(path.name, False, problem or ""))]
    functions = [
        (name, value)
        for name, value in vars(module).items()
        if name in EXERCISES and inspect.isfunction(value) and value.__module__ == module.__name__
    ]
    functions.sort(key=lambda item: item[1].__code__.co_firstlineno)
    return [(name, grade(name, function)) for name, function in functions]
