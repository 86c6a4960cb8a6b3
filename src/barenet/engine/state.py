"""What the engine in use has chosen, read by its methods: the compiled kernels, loaded on first
use (importing Numba takes half a second, which a command that never trains should not pay), and
how many threads share a training batch."""

from __future__ import annotations

import importlib
import threading
import warnings
from collections.abc import Callable
from typing import Any

# The module with the compiled kernels of each engine that has them.
KERNEL_MODULES = {"numba": "barenet.engine.numba_kernels"}

_kernels: dict[str, Callable[..., Any]] = {}
_pending: list[str] = []  # a kernel module chosen but not imported yet
_loading = threading.Lock()
settings: dict[str, Any] = {"threads": None}


def choose_kernels(engine: str | None) -> None:
    """Hand out the compiled kernels of ``engine`` from now on (None: none)."""
    with _loading:
        _kernels.clear()
        _pending[:] = [KERNEL_MODULES[engine]] if engine in KERNEL_MODULES else []


def compiled(operation: str) -> Callable[..., Any] | None:
    """The compiled kernel for ``operation`` (``"adam"``, ``"max_pool_forward"``, ...), or None
    when the engine's NumPy code is to run."""
    if _pending:
        with _loading:
            if _pending:
                _load(_pending.pop())
    return _kernels.get(operation)


def _load(module: str) -> None:
    """Hand out the kernels of ``module``; if it cannot be imported (a broken install), say so
    once and let the engine's NumPy code run."""
    try:
        _kernels.update(importlib.import_module(module).KERNELS)
    except ImportError as error:
        warnings.warn(
            f"The compiled kernels could not be loaded ({error}); the engine runs its NumPy "
            'code instead. Reinstall them with: pip install --force-reinstall "barenet[fast]"',
            RuntimeWarning,
            stacklevel=3,
        )
