"""The engine's convolution: the textbook's im2col product where a convolution has few input
channels, and channels-last (im2row) products where it has many; compiled kernels, when the
numba engine runs, for the parts NumPy does in many passes.

The same maths as ``barenet.conv.Conv2D``, laid out for speed:

- channels-last (``im2row``): with many input channels, copying windows whose channels are
  contiguous reads memory in long runs, and the input gradient is added back offset by offset
  (``rows_to_image``) without building the matrix of row gradients;
- a first layer skips its input gradient (``parameter_gradients``), a product and a ``col2im``;
- compiled kernels (``barenet.engine.numba_kernels``): the im2col weight and bias gradients in
  one pass, the channels-last products a block of samples at a time (whose rows then stay in
  the core's cache), and the backward pass through the non-zero entries alone of an output
  gradient that a max pooling left mostly zero.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from barenet.conv import Conv2D, im2col, output_size
from barenet.engine.layers import _own_array
from barenet.engine.state import compiled

TEXTBOOK_BACKWARD = Conv2D.backward  # for a forward pass that the textbook made

# From this many input channels a convolution works channels-last (im2row), whose copy reads runs
# of C contiguous numbers; with one or a few channels the transposes cost more than that saves
# (measured on the benchmark CNN's convolutions of 1 and 32 channels: benchmarks/engine-timings.md).
CHANNELS_LAST_FROM = 8


def im2row(x: np.ndarray, kernel: int, stride: int) -> np.ndarray:
    """Every ``kernel x kernel`` window of a channels-last image as one row: ``im2col``
    transposed, for NHWC. Its copy reads whole runs of channels, long runs of memory when there
    are many.

    Shape:
        - x: ``(N, H, W, C)`` (already padded)
        - Returns: ``(N * OH * OW, kernel * kernel * C)``: rows in (n, oh, ow) order, columns
          in (kh, kw, c) order.
    """
    windows = row_windows(x, kernel, stride)
    n, oh, ow = windows.shape[:3]
    return windows.reshape(n * oh * ow, kernel * kernel * x.shape[3])


def row_windows(x: np.ndarray, kernel: int, stride: int) -> np.ndarray:
    """``im2row``'s windows as a view, before they are copied: ``(N, OH, OW, kernel, kernel, C)``
    for a channels-last ``x`` ``(N, H, W, C)``."""
    windows = sliding_window_view(x, (kernel, kernel), axis=(1, 2))  # (N, H', W', C, k, k)
    return windows[:, ::stride, ::stride].transpose(0, 1, 2, 4, 5, 3)


def kernel_rows(weight: np.ndarray) -> np.ndarray:
    """A kernel ``(O, C, k, k)`` as ``(O, k*k*C)`` in (kh, kw, c) order, the order of
    ``im2row``'s columns."""
    return weight.transpose(0, 2, 3, 1).reshape(weight.shape[0], -1)


def rows_to_image(
    dy_rows: np.ndarray, weight: np.ndarray, shape: tuple[int, int, int, int], stride: int
) -> np.ndarray:
    """The input gradient of a channels-last convolution: ``row2im(dy_rows @ weight_rows)``, the
    adjoint of ``im2row`` applied to the gradient of its rows, done one kernel offset at a time.

    Offset ``(i, j)`` of every window sends ``dy_rows @ weight[:, :, i, j]`` (an ``(O, C)``
    matrix) to the pixels ``(s*oh + i, s*ow + j)``; adding each product straight into the image
    never builds the ``(N*OH*OW, k*k*C)`` matrix of row gradients.

    Shape:
        - dy_rows: ``(N * OH * OW, O)``, rows in (n, oh, ow) order
        - weight: ``(O, C, k, k)``
        - shape: ``(N, H, W, C)`` of the (padded) image; Returns an array of that shape.
    """
    fast = compiled("rows_to_image")  # a block of samples at a time
    if fast is not None:
        done = fast(dy_rows, weight, shape, stride)
        if done is not None:
            return done
    n, h, w, c = shape
    kernel = weight.shape[2]
    oh, ow = output_size(h, kernel, stride, 0), output_size(w, kernel, stride, 0)
    image = np.zeros(shape, dy_rows.dtype)
    # One buffer for every product: a fresh array per offset would cost its page faults each
    # time.
    part = np.empty((n * oh * ow, c), dy_rows.dtype)
    for i in range(kernel):
        for j in range(kernel):
            np.matmul(dy_rows, weight[:, :, i, j], out=part)
            image[:, i : i + stride * oh : stride, j : j + stride * ow : stride] += part.reshape(
                n, oh, ow, c
            )
    return image


def col2im_blocks(
    cols: np.ndarray, shape: tuple[int, int, int, int], kernel: int, stride: int
) -> np.ndarray:
    """``barenet.conv.col2im``, adding into a ``(C, N, H, W)`` array (each offset's add then
    writes contiguous blocks) returned as an ``(N, C, H, W)`` view."""
    n, c, h, w = shape
    oh, ow = output_size(h, kernel, stride, 0), output_size(w, kernel, stride, 0)
    cols = cols.reshape(c, kernel, kernel, n, oh, ow)
    image = np.zeros((c, n, h, w), cols.dtype)
    for i in range(kernel):
        for j in range(kernel):
            image[:, :, i : i + stride * oh : stride, j : j + stride * ow : stride] += cols[:, i, j]
    return image.transpose(1, 0, 2, 3)


def forward(self: Any, x: np.ndarray, training: bool = False) -> np.ndarray:
    """``Conv2D.forward``: im2col and one product, or channels-last with many input channels."""
    self._check(x.shape)
    k, s, p = self.kernel_size, self.stride, self.padding
    if p:
        x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    n, _, h, w = x.shape
    oh, ow = output_size(h, k, s, 0), output_size(w, k, s, 0)
    self._padded_shape = (n, self.in_channels, h, w)
    if self.in_channels >= CHANNELS_LAST_FROM:
        y = _forward_rows(self, x, oh, ow)
        self._engine_cols = self._cols  # what tells this forward pass from the textbook's
        return y
    self._image = None
    self._cols = self._engine_cols = im2col(x, k, s)  # (C*k*k, N*OH*OW), as the textbook's
    y = self.params["weight"].reshape(self.out_channels, -1) @ self._cols  # (O, N*OH*OW)
    if self.use_bias:
        y += self.params["bias"][:, None]
    return y.reshape(self.out_channels, n, oh, ow).transpose(1, 0, 2, 3)  # (N, O, OH, OW)


def _forward_rows(self: Any, x: np.ndarray, oh: int, ow: int) -> np.ndarray:
    """The same product channels-last: ``y = rows @ weight_rows^T``, rows from ``im2row``."""
    n = x.shape[0]
    image = np.ascontiguousarray(x.transpose(0, 2, 3, 1))  # (N, H, W, C)
    self._image = image
    right = kernel_rows(self.params["weight"]).T  # (k*k*C, O)
    k, s = self.kernel_size, self.stride
    fast = compiled("rows_product")  # a block of rows at a time, none kept
    y = None if fast is None else fast(image, k, s, right)
    self._rows = im2row(image, k, s) if y is None else None  # (N*OH*OW, k*k*C), or built again
    self._cols = None  # the textbook's columns: not made
    y = self._rows @ right if y is None else y  # (N*OH*OW, O)
    if self.use_bias:
        y += self.params["bias"]
    return np.ascontiguousarray(y.reshape(n, oh, ow, self.out_channels).transpose(0, 3, 1, 2))


def backward(self: Any, dy: np.ndarray) -> np.ndarray:
    """``Conv2D.backward``, by the path the forward pass took (the textbook's own backward
    after a forward pass that the textbook made, with the engine switched in between)."""
    if self._cols is not getattr(self, "_engine_cols", None):
        return TEXTBOOK_BACKWARD(self, dy)
    dx = _backward(self, dy, input_grad=True)
    assert dx is not None
    return dx


def parameter_gradients(self: Any, dy: np.ndarray) -> None:
    """``Conv2D.backward``'s parameter gradients alone."""
    if self._cols is not getattr(self, "_engine_cols", None):
        TEXTBOOK_BACKWARD(self, dy)
        return
    _backward(self, dy, input_grad=False)


def _backward(self: Any, dy: np.ndarray, input_grad: bool) -> np.ndarray | None:
    if getattr(self, "_image", None) is not None:  # the forward pass went channels-last
        return _backward_rows(self, dy, input_grad)
    assert self._cols is not None, "backward() called before forward()"
    o = self.out_channels
    dy_rows = dy.transpose(1, 0, 2, 3).reshape(o, -1)  # (O, N*OH*OW)
    weight_grad = _own_array(self, "weight").reshape(o, -1)  # a view: written through
    bias_grad = _own_array(self, "bias") if self.use_bias else None
    fast = compiled("weight_gradient")  # both in one pass
    if fast is None or not fast(dy_rows, self._cols, weight_grad, bias_grad):
        np.matmul(dy_rows, self._cols.T, out=weight_grad)
        if bias_grad is not None:
            np.sum(dy_rows, axis=1, out=bias_grad)
    if not input_grad:
        return None
    dcols = self.params["weight"].reshape(o, -1).T @ dy_rows  # (C*k*k, N*OH*OW)
    dx = col2im_blocks(dcols, self._padded_shape, self.kernel_size, self.stride)
    p = self.padding
    return dx[:, :, p : dx.shape[2] - p, p : dx.shape[3] - p] if p else dx


def _backward_rows(self: Any, dy: np.ndarray, input_grad: bool) -> np.ndarray | None:
    assert self._image is not None, "backward() called before forward()"
    o, k, c = self.out_channels, self.kernel_size, self.in_channels
    # Through the output gradient's non-zero entries alone, when the compiled kernel finds few
    # of them (after a max pooling): the same sums less their zero terms.
    fast = compiled("sparse_rows_backward")
    weight, stride = self.params["weight"], self.stride
    done = None if fast is None else fast(dy, self._image, weight, stride, input_grad)
    weight_grad, bias_grad, dx = (
        done if done is not None else _dense_backward_rows(self, dy, input_grad)
    )
    np.copyto(_own_array(self, "weight"), weight_grad.reshape(o, k, k, c).transpose(0, 3, 1, 2))
    if self.use_bias and bias_grad is not None:
        np.copyto(_own_array(self, "bias"), bias_grad)
    if dx is None:
        return None
    p, (_, _, h, w) = self.padding, self._padded_shape
    dx = dx[:, p : h - p, p : w - p] if p else dx
    return np.ascontiguousarray(dx.transpose(0, 3, 1, 2))


def _dense_backward_rows(
    self: Conv2D, dy: np.ndarray, input_grad: bool
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The weight gradient ``(O, k*k*C)``, the bias gradient ``(O,)`` and, if asked, the padded
    input gradient ``(N, H, W, C)`` of a channels-last convolution, as products."""
    dy_rows = np.ascontiguousarray(dy.transpose(0, 2, 3, 1)).reshape(-1, self.out_channels)
    weight_grad = _rows_weight_gradient(self, dy_rows)
    bias_grad = dy_rows.sum(axis=0) if self.use_bias else None
    if not input_grad:
        return weight_grad, bias_grad, None
    n, c, h, w = self._padded_shape
    dx = rows_to_image(dy_rows, self.params["weight"], (n, h, w, c), self.stride)  # NHWC
    return weight_grad, bias_grad, dx


def _rows_weight_gradient(self: Any, dy_rows: np.ndarray) -> np.ndarray:
    """``dy_rows^T @ rows``, with the rows the forward pass kept or built again from its
    image. Shape: ``dy_rows`` ``(N*OH*OW, O)``; returns ``(O, k*k*C)``."""
    if self._rows is not None:
        return dy_rows.T @ self._rows
    assert self._image is not None
    k, s = self.kernel_size, self.stride
    fast = compiled("rows_weight_gradient")
    grad = None if fast is None else fast(dy_rows, self._image, k, s)
    return grad if grad is not None else dy_rows.T @ im2row(self._image, k, s)


REPLACEMENTS: dict[tuple[type, str], Callable[..., Any]] = {
    (Conv2D, "forward"): forward,
    (Conv2D, "backward"): backward,
}
PARAMETERS_ONLY: dict[type, Callable[[Any, np.ndarray], None]] = {Conv2D: parameter_gradients}
