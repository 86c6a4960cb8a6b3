"""Layers: the ``Layer`` base class and the parameterised or shape-changing layers.

A layer owns its parameters and their gradients (``params`` and ``grads``, dicts of arrays with
the same keys), and any state that is saved but not trained (``buffers``, e.g. batch-norm
running statistics). ``forward`` caches what ``backward`` needs; ``backward(dy)`` returns ``dx`` and
sets every ``grads[k]``. ``output_shape`` tells the shape of a sample's output without computing
it.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from barenet.configurable import Configurable, check_positive_int
from barenet.initializers import get_initializer


class SetBySuperInit:
    """Stands in on the class for an attribute that ``Layer.__init__`` sets on each layer, so a
    subclass that never called it gets a sentence rather than an AttributeError."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, layer: object, owner: type | None = None) -> Any:
        if layer is None:
            return self
        raise TypeError(
            f"{type(layer).__name__} has no {self.name}: its __init__ must call "
            "super().__init__() before anything else."
        )


class Layer(Configurable):
    """Base class: ``y = forward(x)`` and ``dx = backward(dy)``, plus parameters and a config.

    To write your own layer: call ``super().__init__()`` first, put each trainable array in
    ``self.params[name]``, and in ``backward`` set ``self.grads[name]`` to dLoss/d(that array)
    (same shape), then return dLoss/dx. A layer that changes the shape of a sample also answers
    ``output_shape``.

    Subclasses register themselves by class name, so a saved model can name the classes it needs.
    """

    registry: ClassVar[dict[str, type[Layer]]] = {}
    # Set on each layer by __init__; until then, reading one says what is missing.
    params: dict[str, np.ndarray] = SetBySuperInit()  # type: ignore[assignment]
    grads: dict[str, np.ndarray] = SetBySuperInit()  # type: ignore[assignment]
    buffers: dict[str, np.ndarray] = SetBySuperInit()  # type: ignore[assignment]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Layer.registry[cls.__name__] = cls

    def __init__(self) -> None:
        self.params = {}
        self.grads = {}
        self.buffers = {}  # saved with the model, not optimized

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Compute the layer's output, caching what ``backward`` will need.

        Args:
            x: a batch of inputs.
            training: True while fitting (Dropout drops, batch norm uses batch statistics).

        Shape:
            - x: ``(N, *in_shape)``, the batch first.
            - Returns: ``(N, *out_shape)``.
        """
        raise NotImplementedError

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Backpropagate: from ``dy = dLoss/dy`` set ``grads[k] = dLoss/dparams[k]`` for every
        parameter and return ``dLoss/dx``, by the chain rule through this layer alone.

        Shape:
            - dy: ``(N, *out_shape)``, the shape ``forward`` returned.
            - Returns: ``(N, *in_shape)``, the shape of the last ``forward``'s input.
            - ``grads[k]``: the shape of ``params[k]``.
        """
        raise NotImplementedError

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape of one sample's output for one sample's input shape (the batch axis left
        out), or ValueError for a shape this layer cannot take. This default suits layers that
        keep the shape (activations, dropout); a layer that changes it overrides this."""
        return tuple(input_shape)

    def label(self) -> str:
        """A short name for tables and pictures, e.g. ``"Dense(784->128)"``: the class name,
        with the sizes that tell two layers of one class apart."""
        return type(self).__name__

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """Rebuild a layer from ``get_config()`` (its weights are restored separately)."""
        return cls(**config)

    def describe(self) -> dict[str, Any]:
        """``{"class": ..., "config": ...}``: what a model file stores to rebuild this layer."""
        return {"class": type(self).__name__, "config": self.get_config()}

    @staticmethod
    def from_description(entry: dict[str, Any]) -> Layer:
        """The layer that ``describe()`` described, with initial weights; ValueError for a class
        that is not defined in this program."""
        name = entry["class"]
        if name not in Layer.registry:
            raise ValueError(
                f"it uses a layer class {name!r} that this program does not define; define or "
                f"import that class (a subclass of barenet.Layer) before loading the model"
            )
        return Layer.registry[name].from_config(entry["config"])

    def astype(self, dtype: npt.DTypeLike) -> Layer:
        """Cast parameters, their gradients and buffers to ``dtype``, in place; returns self."""
        for name, value in self.params.items():
            self.params[name] = np.ascontiguousarray(value, dtype=dtype)
            self.grads[name] = np.zeros_like(self.params[name])
        for name, value in self.buffers.items():
            self.buffers[name] = np.ascontiguousarray(value, dtype=dtype)
        return self


def shape_text(shape: tuple[Any, ...]) -> str:
    """A shape as Python prints a tuple, ``(32, 28, 28)``, where an entry may be a letter:
    ``(N, 784)``."""
    inner = ", ".join(str(size) for size in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


class Dense(Layer):
    """Fully connected layer: ``y = x @ weight + bias``.

    Backward, from ``dy = dLoss/dy``: ``dweight = x^T @ dy`` (the per-sample outer products
    summed over the batch), ``dbias = sum over the batch of dy``, ``dx = dy @ weight^T``.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        init: initializer name for the weight (see ``barenet.initializers``).
        bias: whether to learn an additive bias.
        bias_init: initializer name for the bias (``"zeros"`` unless a tutorial says otherwise).
        rng: random generator for the initial weights; a fresh unseeded one when omitted.

    Shape:
        - Input: ``(N, in_features)``
        - Output: ``(N, out_features)``
        - weight: ``(in_features, out_features)``; bias: ``(out_features,)``
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        init: str = "he",
        bias: bool = True,
        bias_init: str = "zeros",
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        check_positive_int("Dense", in_features=in_features, out_features=out_features)
        rng = rng if rng is not None else np.random.default_rng()
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.init = init
        self.bias_init = bias_init
        self.use_bias = bias
        shape = (self.in_features, self.out_features)
        self.params["weight"] = get_initializer(init)(shape, rng)
        if bias:
            self.params["bias"] = get_initializer(bias_init)((self.out_features,), rng)
        self.astype(np.float32)
        self._x: np.ndarray | None = None

    @property
    def weight(self) -> np.ndarray:
        return self.params["weight"]

    @property
    def bias(self) -> np.ndarray | None:
        return self.params.get("bias")

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        self._check(("N", *input_shape))
        return (self.out_features,)

    def _check(self, shape: tuple[Any, ...]) -> None:
        if len(shape) != 2 or shape[1] != self.in_features:
            raise ValueError(
                f"Dense(in_features={self.in_features}) expected input of shape "
                f"(N, {self.in_features}), got {shape_text(shape)}."
            )

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._check(x.shape)
        self._x = x
        y = x @ self.params["weight"]  # (N, out_features)
        if self.use_bias:
            y = y + self.params["bias"]
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        assert self._x is not None, "backward() called before forward()"
        self.grads["weight"] = self._x.T @ dy  # (in, N) @ (N, out): summed over the batch
        if self.use_bias:
            self.grads["bias"] = dy.sum(axis=0)
        return dy @ self.params["weight"].T  # (N, out) @ (out, in)

    def label(self) -> str:
        return f"Dense({self.in_features}->{self.out_features})"

    def get_config(self) -> dict[str, Any]:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "init": self.init,
            "bias": self.use_bias,
            "bias_init": self.bias_init,
        }


class Dropout(Layer):
    """Inverted dropout: in training, zero each input with probability ``rate`` and scale the rest
    by ``1 / (1 - rate)``, so inference is the identity. ``dx = dy * mask``, the same mask.

    Args:
        rate: probability of dropping an input, in [0, 1).
        rng: random generator for the masks; when omitted, a fresh one that ``fit(seed=...)``
            seeds (a loaded model's Dropout has none: its run is still the same for a seed).

    Shape:
        - Input: any; Output: same as input.
    """

    def __init__(self, rate: float, *, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        is_number = isinstance(rate, (int, float, np.floating)) and not isinstance(rate, bool)
        if not is_number or not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout expected a rate in [0, 1). Received: rate={rate!r}")
        self.rate = float(rate)
        self.rng = rng if rng is not None else np.random.default_rng()
        self.seeded = rng is not None  # False: fit(seed=...) seeds it
        self._mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not training or self.rate == 0.0:
            self._mask = None
            return x
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.rate
        self._mask = keep.astype(x.dtype) / x.dtype.type(1.0 - self.rate)
        return x * self._mask

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy if self._mask is None else dy * self._mask

    def label(self) -> str:
        return f"Dropout({self.rate:g})"

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate}


class Flatten(Layer):
    """Flatten every sample to a vector.

    Shape:
        - Input: ``(N, *)``, e.g. ``(N, 28, 28)`` or ``(N, C, H, W)``
        - Output: ``(N, prod(*))``
    """

    def __init__(self) -> None:
        super().__init__()
        self._input_shape: tuple[int, ...] = ()

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (math.prod(input_shape),)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._input_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy.reshape(self._input_shape)


class Reshape(Layer):
    """Give every sample a new shape with the same number of values.

    Args:
        target_shape: the shape of one sample, e.g. ``(1, 28, 28)`` to feed 28x28 images (or
            784-pixel rows) to a ``Conv2D``.

    Shape:
        - Input: ``(N, *)`` with ``prod(*) == prod(target_shape)``
        - Output: ``(N, *target_shape)``
    """

    def __init__(self, target_shape: tuple[int, ...] | list[int]) -> None:
        super().__init__()
        self.target_shape = tuple(int(size) for size in target_shape)
        if not self.target_shape or min(self.target_shape) < 1:
            raise ValueError(
                f"Reshape expected a shape of positive sizes. Received: {target_shape!r}"
            )
        self._input_shape: tuple[int, ...] = ()

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        self._check(("N", *input_shape))
        return self.target_shape

    def _check(self, shape: tuple[Any, ...]) -> None:
        size = math.prod(self.target_shape)
        if len(shape) < 2 or math.prod(shape[1:]) != size:
            raise ValueError(
                f"Reshape(target_shape={self.target_shape}) expected input of shape (N, ...) with "
                f"{size} values per sample, got {shape_text(shape)}."
            )

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._check(x.shape)
        self._input_shape = x.shape
        return x.reshape(len(x), *self.target_shape)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy.reshape(self._input_shape)

    def label(self) -> str:
        return f"Reshape({'x'.join(map(str, self.target_shape))})"

    def get_config(self) -> dict[str, Any]:
        return {"target_shape": list(self.target_shape)}


class Rescaling(Layer):
    """Affine rescaling of inputs: ``y = x * scale + offset`` (e.g. pixels 0..255 -> 0..1).

    Keeping this in the model means a saved model takes raw pixels, exactly as a person's image
    reaches it.

    Shape:
        - Input: any; Output: same as input.
    """

    def __init__(self, scale: float, offset: float = 0.0) -> None:
        super().__init__()
        self.scale = float(scale)
        self.offset = float(offset)
        self.dtype: np.dtype[Any] = np.dtype(np.float32)
        if not (math.isfinite(self.scale) and math.isfinite(self.offset)):
            raise ValueError(
                f"Rescaling expected finite numbers. Received: scale={scale!r}, offset={offset!r}"
            )

    def astype(self, dtype: npt.DTypeLike) -> Layer:
        self.dtype = np.dtype(dtype)  # what raw integer pixels become
        return super().astype(dtype)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        # Raw integer pixels become the model's dtype as they are scaled.
        dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else self.dtype
        y = np.multiply(x, dtype.type(self.scale), dtype=dtype)
        if self.offset:
            y += dtype.type(self.offset)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy * dy.dtype.type(self.scale)

    def label(self) -> str:
        divisor = 1 / self.scale if self.scale else 0.0
        exact = abs(divisor) > 1 and abs(divisor - round(divisor, 2)) < 1e-9
        text = f"x/{round(divisor, 2):g}" if exact else f"x*{self.scale:.4g}"
        if self.offset:
            text += f" {'-' if self.offset < 0 else '+'} {abs(self.offset):g}"
        return f"Rescaling({text})"

    def get_config(self) -> dict[str, Any]:
        return {"scale": self.scale, "offset": self.offset}
