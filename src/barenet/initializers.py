"""Weight initializers: functions ``(shape, rng) -> array``, looked up by name.

Each initializer draws from an explicit ``np.random.Generator`` so that the same seed gives the
same network. Shapes follow barenet's layouts: a dense weight is ``(in_features, out_features)``
and a convolution kernel is ``(out_channels, in_channels, kh, kw)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from barenet.configurable import lookup

Initializer = Callable[[tuple[int, ...], np.random.Generator], np.ndarray]


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a dense ``(in, out)`` or conv ``(out, in, kh, kw)`` shape."""
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive_field = int(np.prod(shape[2:]))
    return shape[1] * receptive_field, shape[0] * receptive_field


def uniform(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """U(-0.5, 0.5), what the classic from-scratch tutorials use (``np.random.rand(...) - 0.5``)."""
    return rng.uniform(-0.5, 0.5, size=shape)


def normal(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Standard normal N(0, 1), as ``np.random.randn`` in the tutorials."""
    return rng.standard_normal(size=shape)


def xavier(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Glorot/Xavier uniform: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)); suits tanh/sigmoid."""
    fan_in, fan_out = fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


def he(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """He/Kaiming normal: N(0, 2 / fan_in); keeps the activation variance steady through ReLUs."""
    fan_in, _ = fans(shape)
    return rng.standard_normal(size=shape) * np.sqrt(2.0 / fan_in)


def lecun(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """LeCun normal: N(0, 1 / fan_in)."""
    fan_in, _ = fans(shape)
    return rng.standard_normal(size=shape) * np.sqrt(1.0 / fan_in)


def zeros(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """All zeros (the usual choice for biases). ``rng`` is accepted for a uniform signature."""
    return np.zeros(shape)


INITIALIZERS: dict[str, Initializer] = {
    "uniform": uniform,
    "normal": normal,
    "xavier": xavier,
    "glorot": xavier,
    "he": he,
    "kaiming": he,
    "lecun": lecun,
    "zeros": zeros,
}


def get_initializer(name: str) -> Initializer:
    """Look an initializer up by name; an unknown name lists the valid ones."""
    return lookup(INITIALIZERS, name, "initializer")
