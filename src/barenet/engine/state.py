"""What the engine in use has chosen, read by its methods: the compiled kernels, loaded on first
use (importing Numba takes half a second, which a command that never trains should not pay), and
how many threads share a training batch."""

from __future__ import annotations

import importlib
import threading
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
                _kernels.update(importlib.import_module(_pending[0]).KERNELS)
                _pending.clear()
    return _kernels.get(operation)
