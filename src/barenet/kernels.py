"""Which code runs the hot elementwise loops: NumPy's (the default, and the reference) or compiled.

NumPy runs one pass over memory per operation, on one core: Adam's update is 14 passes, a max
pooling's forward and backward about 20, a convolution's input gradient 25 thin products and 25
strided adds. And BLAS is slow on a first convolution's weight gradient (32 rows against 25, each
36,864 long for 64 images: 51 GFLOP/s on one core, against 197 on a large square product). A
compiled loop does each in one pass and, not holding Python's lock, runs on every thread that
shares a batch. The optional ``fast`` extra (``pip install "barenet[fast]"``, which brings
Numba) provides such loops for the parts where they were measured faster, and with them a
channels-last convolution's forward product made a block of samples at a time, whose rows (13
MB for 64 images of the benchmark CNN's second convolution) then never leave the core's cache,
and its backward pass made from the non-zero entries of its output gradient alone where a max
pooling after it left four in five or more zero (BLAS would multiply every zero);
``use("numba")`` switches them on for the whole process::

    import barenet as bn
    bn.kernels.use("numba")      # compiled where it helps; NumPy everywhere else
    bn.kernels.use("numpy")      # back to the reference

The layers and optimizers ask ``compiled(name)`` for a kernel and run their own NumPy code when
it answers None. Both compute the same operations, so with the same seed they give the same
weights but for rounding: Adam's update and pooling bit for bit; a convolution's input gradient
and forward product (made in blocks) bit for bit with OpenBLAS's SkylakeX kernels and within a
unit in the last place with kernels that round a product differently for another shape; the
weight gradients (the first convolution's dot products, the others' blocks or entries, summed
in another order) within about as much
(``tests/test_numba_kernels.py`` checks each kernel against NumPy, and whole training runs; a
pooling gradient's zeros may also differ in sign).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from typing import Any

# Every set of kernels by name: the module that provides it (None: NumPy's own code).
KERNELS: dict[str, str | None] = {"numpy": None, "numba": "barenet.numba_kernels"}
INSTALL_HINTS = {"numba": 'pip install "barenet[fast]"'}

_active: dict[str, Callable[..., Any]] = {}
_active_name = "numpy"


def use(name: str) -> None:
    """Run the kernels of ``name`` (one of ``KERNELS``) from now on, in every thread.

    Raises ValueError for an unknown name and ImportError, saying how to install it, when the
    library that compiles them is missing."""
    global _active_name
    if name not in KERNELS:
        raise ValueError(f"Unknown kernels {name!r}; choose one of: {', '.join(KERNELS)}.")
    module_name = KERNELS[name]
    kernels: dict[str, Callable[..., Any]] = {}
    if module_name is not None:
        try:
            kernels = importlib.import_module(module_name).KERNELS
        except ImportError as error:
            raise ImportError(
                f"The {name} kernels need {error.name or name}, which is not installed: "
                f"{INSTALL_HINTS[name]}."
            ) from error
    _active.clear()
    _active.update(kernels)
    _active_name = name


def active() -> str:
    """The name of the kernels in use: ``"numpy"`` unless ``use`` said otherwise."""
    return _active_name


def compiled(operation: str) -> Callable[..., Any] | None:
    """The compiled kernel for ``operation`` (``"adam"``, ``"max_pool_forward"``, ...), or None
    when NumPy's code is to run."""
    return _active.get(operation)


@contextlib.contextmanager
def using(name: str) -> Iterator[None]:
    """``use(name)`` inside a ``with`` block, and the previous kernels after it."""
    previous = _active_name
    use(name)
    try:
        yield
    finally:
        use(previous)
