"""Convolution and pooling layers for images in NCHW layout (samples, channels, height, width).

A convolution is one matrix product: ``im2col`` copies every receptive field into a column, so
that ``y = weight_matrix @ cols`` computes all output pixels of all samples at once. The backward
pass is the same product transposed, and ``col2im`` adds each column's gradient back onto the
pixels it came from, with one loop over the kernel's positions (25 for 5x5), never over samples
or pixels. Pooling reads the same windows, as a view of the image, and keeps each window's
largest value or its mean.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from barenet.configurable import check_positive_int
from barenet.initializers import get_initializer
from barenet.layers import Layer, shape_text


def check_images(layer: str, shape: tuple[Any, ...], channels: int | None = None) -> None:
    """Raise ValueError unless ``shape`` is ``(N, C, H, W)`` (with ``C == channels`` if given)."""
    if len(shape) != 4 or (channels is not None and shape[1] != channels):
        expected = f"(N, {channels}, H, W)" if channels is not None else "(N, C, H, W)"
        raise ValueError(f"{layer} expected input of shape {expected}, got {shape_text(shape)}.")


def output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Pixels along one axis after sliding a ``kernel`` window with ``stride`` over ``size``."""
    return (size + 2 * padding - kernel) // stride + 1


def image_windows(x: np.ndarray, kernel: int, stride: int) -> np.ndarray:
    """Every ``kernel x kernel`` window of ``x``, ``stride`` apart, as a view (nothing copied).

    Shape:
        - x: ``(N, C, H, W)``
        - Returns: ``(N, C, OH, OW, kernel, kernel)``; ``[n, c, i, j]`` is the window whose top
          left pixel is ``x[n, c, stride * i, stride * j]``.
    """
    windows = sliding_window_view(x, (kernel, kernel), axis=(2, 3))  # (N, C, H', W', k, k)
    return windows[:, :, ::stride, ::stride]


def im2col(x: np.ndarray, kernel: int, stride: int) -> np.ndarray:
    """Every ``kernel x kernel`` window of ``x`` as one column.

    Shape:
        - x: ``(N, C, H, W)`` (already padded)
        - Returns: ``(C * kernel * kernel, N * OH * OW)``: rows in (c, kh, kw) order, the order of
          a flattened ``(O, C, k, k)`` kernel; columns in (n, oh, ow) order.
    """
    windows = image_windows(x, kernel, stride)  # (N, C, OH, OW, k, k)
    n, c, oh, ow = windows.shape[:4]
    return windows.transpose(1, 4, 5, 0, 2, 3).reshape(c * kernel * kernel, n * oh * ow)


def col2im(
    cols: np.ndarray, shape: tuple[int, int, int, int], kernel: int, stride: int
) -> np.ndarray:
    """The adjoint of ``im2col``: add each column back onto the window it was copied from.

    A pixel that lies in several windows receives the sum of their gradients.

    Shape:
        - cols: ``(C * kernel * kernel, N * OH * OW)``
        - shape: ``(N, C, H, W)`` of the (padded) image; Returns an array of that shape.
    """
    n, c, h, w = shape
    oh, ow = output_size(h, kernel, stride, 0), output_size(w, kernel, stride, 0)
    cols = cols.reshape(c, kernel, kernel, n, oh, ow)
    image = np.zeros((n, c, h, w), cols.dtype)
    for i in range(kernel):
        for j in range(kernel):
            # Offset (i, j) of every window: pixels (s*oh + i, s*ow + j).
            pixels = image[:, :, i : i + stride * oh : stride, j : j + stride * ow : stride]
            pixels += cols[:, i, j].transpose(1, 0, 2, 3)  # (N, C, OH, OW)
    return image


class Conv2D(Layer):
    """2-D convolution (cross-correlation, as in every framework) with a learned bias.

    ``y[n, o, h, w] = bias[o] + sum_c sum_ij weight[o, c, i, j] * x[n, c, s*h + i, s*w + j]``
    (indices from 0; ``x`` padded). With ``cols = im2col(x)`` and ``W = weight`` as an
    ``(O, C*k*k)`` matrix this is ``y = W @ cols + bias``; backward, from ``dy`` as an
    ``(O, N*OH*OW)`` matrix: ``dW = dy @ cols^T``, ``dbias = dy summed over its columns``,
    ``dx = col2im(W^T @ dy)``.

    Args:
        in_channels: channels of the input (1 for grey images).
        out_channels: number of filters.
        kernel_size: side of the square kernel.
        stride: step between windows.
        padding: zeros added on every side (``kernel_size // 2`` keeps the size at stride 1).
        init: initializer name for the kernel (fans count the receptive field).
        bias: whether to learn an additive bias per filter.
        rng: random generator for the initial weights; a fresh unseeded one when omitted.

    Shape:
        - Input: ``(N, in_channels, H, W)``
        - Output: ``(N, out_channels, OH, OW)``,
          where ``OH = (H + 2 padding - kernel_size) // stride + 1``
        - weight: ``(out_channels, in_channels, kernel_size, kernel_size)``
        - bias: ``(out_channels,)``
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        stride: int = 1,
        padding: int = 0,
        init: str = "he",
        bias: bool = True,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        check_positive_int(
            "Conv2D",
            in_channels=in_channels,
            out_channels=out_channels,
            kernel_size=kernel_size,
            stride=stride,
        )
        if not isinstance(padding, (int, np.integer)) or padding < 0:
            raise ValueError(f"Conv2D expected an integer padding >= 0. Received: {padding!r}")
        rng = rng if rng is not None else np.random.default_rng()
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride, self.padding = int(kernel_size), int(stride), int(padding)
        self.init, self.use_bias = init, bias
        shape = (self.out_channels, self.in_channels, self.kernel_size, self.kernel_size)
        self.params["weight"] = get_initializer(init)(shape, rng)
        if bias:
            self.params["bias"] = np.zeros(self.out_channels)
        self.astype(np.float32)
        self._cols: np.ndarray | None = None  # the forward's im2col columns
        self._padded_shape: tuple[int, int, int, int] = (0, 0, 0, 0)

    @property
    def weight(self) -> np.ndarray:
        return self.params["weight"]

    @property
    def bias(self) -> np.ndarray | None:
        return self.params.get("bias")

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        self._check(("N", *input_shape))
        k, s, p = self.kernel_size, self.stride, self.padding
        height, width = input_shape[1:]
        return (self.out_channels, output_size(height, k, s, p), output_size(width, k, s, p))

    def _check(self, shape: tuple[Any, ...]) -> None:
        check_images(f"Conv2D(in_channels={self.in_channels})", shape, self.in_channels)
        k, p = self.kernel_size, self.padding
        if shape[2] + 2 * p < k or shape[3] + 2 * p < k:
            raise ValueError(
                f"Conv2D(kernel_size={k}) needs images of at least {k}x{k} pixels after "
                f"padding, got {shape[2]}x{shape[3]} with padding={p}."
            )

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._check(x.shape)
        k, s, p = self.kernel_size, self.stride, self.padding
        x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))  # zeros around each image
        n, _, h, w = x.shape
        oh, ow = output_size(h, k, s, 0), output_size(w, k, s, 0)
        self._cols, self._padded_shape = im2col(x, k, s), x.shape  # (C*k*k, N*OH*OW)
        y = self.params["weight"].reshape(self.out_channels, -1) @ self._cols  # (O, N*OH*OW)
        if self.use_bias:
            y = y + self.params["bias"][:, None]
        return y.reshape(self.out_channels, n, oh, ow).transpose(1, 0, 2, 3)  # (N, O, OH, OW)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        assert self._cols is not None, "backward() called before forward()"
        o, weight = self.out_channels, self.params["weight"]
        dy_rows = dy.transpose(1, 0, 2, 3).reshape(o, -1)  # (O, N*OH*OW), columns as in cols
        self.grads["weight"] = (dy_rows @ self._cols.T).reshape(weight.shape)  # as Dense's
        if self.use_bias:
            self.grads["bias"] = dy_rows.sum(axis=1)
        dcols = weight.reshape(o, -1).T @ dy_rows  # (C*k*k, N*OH*OW)
        dx = col2im(dcols, self._padded_shape, self.kernel_size, self.stride)
        p, (_, _, h, w) = self.padding, self._padded_shape
        return dx[:, :, p : h - p, p : w - p]  # the padding's gradient is dropped

    def label(self) -> str:
        k = self.kernel_size
        extras = (f", stride {self.stride}" if self.stride != 1 else "") + (
            f", padding {self.padding}" if self.padding else ""
        )
        return f"Conv2D({self.in_channels}->{self.out_channels}, {k}x{k}{extras})"

    def get_config(self) -> dict[str, Any]:
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "padding": self.padding,
            "init": self.init,
            "bias": self.use_bias,
        }


class _Pool2D(Layer):
    """Square windows ``pool_size`` wide, ``stride`` apart (``pool_size`` by default), each
    reduced to one number; windows that do not fit at the right or bottom edge are dropped."""

    def __init__(self, pool_size: int, stride: int | None = None) -> None:
        super().__init__()
        stride = pool_size if stride is None else stride
        check_positive_int(type(self).__name__, pool_size=pool_size, stride=stride)
        self.pool_size, self.stride = int(pool_size), int(stride)
        self._input_shape: tuple[int, ...] = ()

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        self._check(("N", *input_shape))
        channels, height, width = input_shape
        k, s = self.pool_size, self.stride
        return (channels, output_size(height, k, s, 0), output_size(width, k, s, 0))

    def _check(self, shape: tuple[Any, ...]) -> None:
        check_images(type(self).__name__, shape)
        k = self.pool_size
        if shape[2] < k or shape[3] < k:
            raise ValueError(
                f"{type(self).__name__}(pool_size={k}) needs images of at least {k}x{k} pixels, "
                f"got {shape[2]}x{shape[3]}."
            )

    def _add_to_windows(self, dx: np.ndarray, offset: tuple[int, int], values: np.ndarray) -> None:
        """Add ``values`` ``(N, C, OH, OW)`` to the pixel at ``offset`` (row, column) of every
        window of ``dx`` ``(N, C, H, W)``: the adjoint of reading that pixel of each window."""
        i, j = offset
        oh, ow = values.shape[2:]
        s = self.stride
        dx[:, :, i : i + s * oh : s, j : j + s * ow : s] += values

    def label(self) -> str:
        k = self.pool_size
        stride = f", stride {self.stride}" if self.stride != k else ""
        return f"{type(self).__name__}({k}x{k}{stride})"

    def get_config(self) -> dict[str, Any]:
        return {"pool_size": self.pool_size, "stride": self.stride}


class MaxPool2D(_Pool2D):
    """The largest value in each ``pool_size x pool_size`` window; its gradient goes to that one
    input alone (``dx = dy`` at the window's maximum, 0 elsewhere).

    On a tie the leftmost column wins, then the top row (any one of the tied inputs gives a
    valid gradient; this rule is barenet's, and its engine keeps it).

    Shape:
        - Input: ``(N, C, H, W)``
        - Output: ``(N, C, OH, OW)``, ``OH = (H - pool_size) // stride + 1`` (the rest is dropped)
    """

    def __init__(self, pool_size: int, stride: int | None = None) -> None:
        super().__init__(pool_size, stride)
        self._winner: np.ndarray | None = None  # (N, C, OH, OW): column * k + row of the max

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._check(x.shape)
        k = self.pool_size
        windows = image_windows(x, k, self.stride)  # (N, C, OH, OW, k, k), a view
        # Each window as one vector in column order: entry j * k + i is row i, column j.
        flat = windows.swapaxes(4, 5).reshape(*windows.shape[:4], k * k)
        self._winner = flat.argmax(axis=4)  # the first of equal values: see the class doc
        self._input_shape = x.shape
        return flat.max(axis=4)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        assert self._winner is not None, "backward() called before forward()"
        k = self.pool_size
        dx = np.zeros(self._input_shape, dy.dtype)
        for i in range(k):
            for j in range(k):
                self._add_to_windows(dx, (i, j), dy * (self._winner == j * k + i))
        return dx


class AvgPool2D(_Pool2D):
    """The mean of each ``pool_size x pool_size`` window; every input of a window receives
    ``dy / pool_size^2``.

    Shape:
        - Input: ``(N, C, H, W)``
        - Output: ``(N, C, OH, OW)``, ``OH = (H - pool_size) // stride + 1`` (the rest is dropped)
    """

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self._check(x.shape)
        self._input_shape = x.shape
        windows = image_windows(x, self.pool_size, self.stride)  # (N, C, OH, OW, k, k)
        return windows.mean(axis=(4, 5))

    def backward(self, dy: np.ndarray) -> np.ndarray:
        k = self.pool_size
        share = dy / dy.dtype.type(k * k)  # (N, C, OH, OW)
        dx = np.zeros(self._input_shape, dy.dtype)
        for i in range(k):
            for j in range(k):
                self._add_to_windows(dx, (i, j), share)
        return dx
