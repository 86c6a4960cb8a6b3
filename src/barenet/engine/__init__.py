"""The engine: what makes barenet's textbook fast, in a wing of its own.

The textbook (``barenet.layers``, ``conv``, ``normalization``, ``optimizers``, ``training``)
computes each formula plainly, where a learner can read it. The engine holds every technique
that makes those formulas fast on a CPU: in-place buffers, the first layer's skipped input
gradient, channels-last and blocked convolution products, pooling one axis at a time, the sparse
backward pass after a max pooling, subnormal flushes, cache-sized optimizer slices, batches
shared among threads, and compiled kernels. When an engine is in use, its methods stand in the
textbook classes' places; they compute the same numbers but for rounding, and the tests hold
each one to its textbook method (``tests/engine/``). The textbook never imports the engine.

Three engines, by name::

    import barenet as bn
    bn.engine.use("reference")        # the textbook alone
    bn.engine.use("numpy")            # the engine's NumPy techniques
    bn.engine.use("numba")            # and compiled kernels (pip install "barenet[fast]")
    with bn.engine.using("reference", threads=1):
        ...                           # the previous engine again after the block

The default is the fastest one installed: ``"numba"`` with the ``fast`` extra, else ``"numpy"``.
``threads`` (``"numpy"`` and ``"numba"``) is how many threads share each training batch: None
lets the engine choose (one per core for a network with a convolution, else 1).
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Callable, Iterator
from typing import Any

from barenet.configurable import check_positive_int
from barenet.engine import (
    conv,
    layers,
    losses,
    normalization,
    optimizers,
    pooling,
    state,
    training,
)
from barenet.engine.sharding import allow_sharding

__all__ = ["ENGINES", "active", "allow_sharding", "default", "threads", "use", "using"]

ENGINES = ("reference", "numpy", "numba")
INSTALL_HINT = 'pip install "barenet[fast]"'

# Every replacement: (textbook class, method name) -> the engine's function.
REPLACEMENTS: dict[tuple[type, str], Callable[..., Any]] = {
    **layers.REPLACEMENTS,
    **losses.REPLACEMENTS,
    **conv.REPLACEMENTS,
    **pooling.REPLACEMENTS,
    **normalization.REPLACEMENTS,
    **optimizers.REPLACEMENTS,
    **training.REPLACEMENTS,
}
# The textbook's own methods, kept to put back (and for the tests to compare with).
TEXTBOOK: dict[tuple[type, str], Any] = {
    (owner, name): owner.__dict__[name] for owner, name in REPLACEMENTS
}

_state: dict[str, Any] = {"name": "reference", "threads": None}


def default() -> str:
    """The fastest engine installed: ``"numba"`` when Numba is, else ``"numpy"``."""
    return "numba" if importlib.util.find_spec("numba") is not None else "numpy"


def use(name: str, *, threads: int | None = None) -> None:
    """Run engine ``name`` (one of ``ENGINES``) from now on, in every thread.

    Args:
        name: ``"reference"``, ``"numpy"`` or ``"numba"``.
        threads: how many threads share each training batch; None lets the engine choose.

    Raises:
        ValueError: an unknown name, or threads below 1.
        ImportError: ``"numba"`` without Numba installed (the message says how to install it).
    """
    if name not in ENGINES:
        raise ValueError(f"Unknown engine {name!r}; choose one of: {', '.join(ENGINES)}.")
    if threads is not None:
        check_positive_int("engine.use", threads=threads)
    if name == "numba" and importlib.util.find_spec("numba") is None:
        raise ImportError(f"The numba engine needs Numba, which is not installed: {INSTALL_HINT}.")
    for (owner, method), function in REPLACEMENTS.items():
        setattr(owner, method, TEXTBOOK[owner, method] if name == "reference" else function)
    state.choose_kernels(name)
    state.settings["threads"] = threads
    _state.update(name=name, threads=threads)


def active() -> str:
    """The name of the engine in use."""
    return str(_state["name"])


def threads() -> int | None:
    """How many threads share each training batch, as ``use`` set it (None: the engine's choice;
    the reference engine uses one)."""
    return _state["threads"]


@contextlib.contextmanager
def using(name: str, *, threads: int | None = None) -> Iterator[None]:
    """``use(name, threads=threads)`` inside a ``with`` block; the previous engine after it."""
    previous = dict(_state)
    use(name, threads=threads)
    try:
        yield
    finally:
        use(previous["name"], threads=previous["threads"])
