"""What layers, losses, optimizers and augmentations share: a config that rebuilds them, a repr
made from it, checks of their constructor arguments, and lookup by name in a registry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


class Configurable:
    """An object described by its constructor arguments: ``type(obj)(**obj.get_config())``
    rebuilds it (weights and optimizer state aside), and its repr shows them."""

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this object."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({args})"


def check_positive_int(owner: str, **values: Any) -> None:
    """Raise ValueError unless every value is an integer >= 1, naming the first that is not.

    Example: ``check_positive_int("Dense", in_features=0)`` raises
    ``Dense expected a positive integer in_features. Received: 0``.
    """
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{owner} expected a positive integer {name}. Received: {value!r}")


def lookup(registry: Mapping[str, T], name: str, family: str) -> T:
    """``registry[name]``, or a ValueError that lists the valid names of this ``family``."""
    try:
        return registry[name]
    except KeyError:
        valid = ", ".join(sorted(registry))
        raise ValueError(f"Unknown {family} {name!r}. Expected one of: {valid}.") from None
