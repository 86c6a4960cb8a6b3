"""Convolution and pooling layers for images in NCHW layout (samples, channels, height, width).

A convolution is one matrix product: ``im2col`` copies every receptive field into a column, so
that ``y = kernel @ cols`` computes all output pixels of all samples at once. The backward pass
is the same product transposed, and ``col2im`` adds each column's gradient back onto the pixels
it came from, with one loop over the kernel's positions (25 for 5x5), never over samples or
pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from barenet.configurable import check_positive_int
from barenet.initializers import get_initializer
from barenet.kernels import compiled
from barenet.layers import Layer


def check_images(layer: str, x: np.ndarray, channels: int | None = None) -> None:
    """Raise ValueError unless ``x`` is ``(N, C, H, W)`` (with ``C == channels`` if given)."""
    if x.ndim != 4 or (channels is not None and x.shape[1] != channels):
        expected = f"(N, {channels}, H, W)" if channels is not None else "(N, C, H, W)"
        raise ValueError(f"{layer} expected input of shape {expected}, got {x.shape}.")


def output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Pixels along one axis after sliding a ``kernel`` window with ``stride`` over ``size``."""
    return (size + 2 * padding - kernel) // stride + 1


def im2col(x: np.ndarray, kernel: int, stride: int) -> np.ndarray:
    """Every ``kernel x kernel`` window of ``x`` as one column.

    Shape:
        - x: ``(N, C, H, W)`` (already padded)
        - Returns: ``(C * kernel * kernel, N * OH * OW)``: rows in (c, kh, kw) order, the order of
          a flattened ``(O, C, k, k)`` kernel; columns in (n, oh, ow) order. Copying with the
          output's width innermost reads the image in contiguous runs.
    """
    windows = sliding_window_view(x, (kernel, kernel), axis=(2, 3))  # (N, C, H', W', k, k)
    windows = windows[:, :, ::stride, ::stride]  # (N, C, OH, OW, k, k), a view
    n, c, oh, ow = windows.shape[:4]
    return windows.transpose(1, 4, 5, 0, 2, 3).reshape(c * kernel * kernel, n * oh * ow)


def col2im(
    cols: np.ndarray, shape: tuple[int, int, int, int], kernel: int, stride: int
) -> np.ndarray:
    """The adjoint of ``im2col``: add each column back onto the window it was copied from.

    Shape:
        - cols: ``(C * kernel * kernel, N * OH * OW)``
        - shape: ``(N, C, H, W)`` of the (padded) image; Returns an array of that shape.
    """
    n, c, h, w = shape
    oh, ow = output_size(h, kernel, stride, 0), output_size(w, kernel, stride, 0)
    cols = cols.reshape(c, kernel, kernel, n, oh, ow)
    image = np.zeros((c, n, h, w), cols.dtype)  # (C, N, H, W) while adding: contiguous blocks
    for i in range(kernel):
        for j in range(kernel):
            image[:, :, i : i + stride * oh : stride, j : j + stride * ow : stride] += cols[:, i, j]
    return image.transpose(1, 0, 2, 3)  # (N, C, H, W)


def im2row(x: np.ndarray, kernel: int, stride: int) -> np.ndarray:
    """Every ``kernel x kernel`` window of a channels-last image as one row: ``im2col``
    transposed, for NHWC. Its copy reads whole runs of channels, which is faster when there are
    many (measured: 1.2 ms against im2col's 4.1 ms for 128 images of 32x12x12).

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
    never builds the ``(N*OH*OW, k*k*C)`` matrix of row gradients (measured on the benchmark CNN's
    second convolution: 10.1 -> 7.0 ms).

    Shape:
        - dy_rows: ``(N * OH * OW, O)``, rows in (n, oh, ow) order
        - weight: ``(O, C, k, k)``
        - shape: ``(N, H, W, C)`` of the (padded) image; Returns an array of that shape.
    """
    fast = compiled("rows_to_image")  # a block of samples at a time (barenet.kernels)
    if fast is not None:
        done = fast(dy_rows, weight, shape, stride)
        if done is not None:
            return done
    n, h, w, c = shape
    kernel = weight.shape[2]
    oh, ow = output_size(h, kernel, stride, 0), output_size(w, kernel, stride, 0)
    image = np.zeros(shape, dy_rows.dtype)
    # One buffer for every product: a fresh (1 MB) array per offset costs its page faults each
    # time (the 25 products: 10 -> 3.7 ms).
    part = np.empty((n * oh * ow, c), dy_rows.dtype)
    for i in range(kernel):
        for j in range(kernel):
            np.matmul(dy_rows, weight[:, :, i, j], out=part)
            image[:, i : i + stride * oh : stride, j : j + stride * ow : stride] += part.reshape(
                n, oh, ow, c
            )
    return image


# From this many input channels a convolution works channels-last (im2row): measured on the
# benchmark CNN's second convolution (32 -> 64, 5x5, 128 images of 12x12), forward 9.3 -> 4.5
# ms and backward 16.0 -> 12.9 ms; with 1 channel (the first) it was slower (1.8 -> 2.6 ms).
CHANNELS_LAST_FROM = 8


class Conv2D(Layer):
    """2-D convolution (cross-correlation, as in every framework) with a learned bias.

    ``y[n, o] = bias[o] + sum_c sum_ij weight[o, c, i, j] * x[n, c, s*h + i, s*w + j]``

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

    shardable = True  # each sample's output depends on that sample alone

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
        self._cols: np.ndarray | None = None  # the forward's im2col columns or im2row rows
        self._image: np.ndarray | None = None  # its channels-last input (see _rows_product)
        self._padded_shape: tuple[int, int, int, int] = (0, 0, 0, 0)
        # Channels-last (im2row) or not (im2col): the same maths, laid out for speed.
        self.channels_last = self.in_channels >= CHANNELS_LAST_FROM

    @property
    def weight(self) -> np.ndarray:
        return self.params["weight"]

    @property
    def bias(self) -> np.ndarray | None:
        return self.params.get("bias")

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        check_images(f"Conv2D(in_channels={self.in_channels})", x, self.in_channels)
        k, s, p = self.kernel_size, self.stride, self.padding
        if x.shape[2] + 2 * p < k or x.shape[3] + 2 * p < k:
            raise ValueError(
                f"Conv2D(kernel_size={k}) needs images of at least {k}x{k} pixels after "
                f"padding, got {x.shape[2]}x{x.shape[3]} with padding={p}."
            )
        if p:
            x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        n, _, h, w = x.shape
        oh, ow = output_size(h, k, s, 0), output_size(w, k, s, 0)  # x is padded already
        if self.channels_last:
            return self._forward_rows(x, oh, ow)
        cols = im2col(x, k, s)  # (C*k*k, N*OH*OW)
        self._cols, self._padded_shape = cols, (n, self.in_channels, h, w)
        y = self.params["weight"].reshape(self.out_channels, -1) @ cols  # (O, N*OH*OW)
        if self.use_bias:
            y += self.params["bias"][:, None]
        return y.reshape(self.out_channels, n, oh, ow).transpose(1, 0, 2, 3)  # (N, O, OH, OW)

    def _forward_rows(self, x: np.ndarray, oh: int, ow: int) -> np.ndarray:
        """The same product channels-last: ``y = rows @ weight_rows^T``, rows from ``im2row``."""
        n, c, h, w = x.shape
        image = np.ascontiguousarray(x.transpose(0, 2, 3, 1))  # (N, H, W, C)
        self._image, self._padded_shape = image, (n, c, h, w)
        y = self._rows_product(image, kernel_rows(self.params["weight"]).T)  # (N*OH*OW, O)
        if self.use_bias:
            y += self.params["bias"]
        return np.ascontiguousarray(y.reshape(n, oh, ow, self.out_channels).transpose(0, 3, 1, 2))

    def _rows_product(self, image: np.ndarray, right: np.ndarray) -> np.ndarray:
        """``im2row(image) @ right``, keeping the rows for the backward pass; compiled kernels
        (``barenet.kernels``) build them a block at a time and keep none."""
        k, s = self.kernel_size, self.stride
        fast = compiled("rows_product")
        product = None if fast is None else fast(image, k, s, right)
        self._cols = im2row(image, k, s) if product is None else None
        return product if product is not None else self._cols @ right

    def _rows_weight_gradient(self, dy_rows: np.ndarray) -> np.ndarray:
        """``dy_rows^T @ rows``, with the rows the forward pass kept or built again from its
        image. Shape: ``dy_rows`` ``(N*OH*OW, O)``; returns ``(O, k*k*C)``."""
        if self._cols is not None:
            return dy_rows.T @ self._cols
        assert self._image is not None, "backward() called before forward()"
        k, s = self.kernel_size, self.stride
        fast = compiled("rows_weight_gradient")
        grad = None if fast is None else fast(dy_rows, self._image, k, s)
        return grad if grad is not None else dy_rows.T @ im2row(self._image, k, s)

    def _backward_rows(self, dy: np.ndarray) -> np.ndarray:
        assert self._image is not None, "backward() called before forward()"
        o, k, c = self.out_channels, self.kernel_size, self.in_channels
        # Through the output gradient's non-zero entries alone, when compiled kernels
        # (barenet.kernels) find few of them (after a max pooling): the same sums less their
        # zero terms.
        fast = compiled("sparse_rows_backward")
        weight, stride, input_grad = self.params["weight"], self.stride, self.needs_input_grad
        done = None if fast is None else fast(dy, self._image, weight, stride, input_grad)
        weight_grad, bias_grad, dx = done if done is not None else self._dense_backward_rows(dy)
        np.copyto(self.grads["weight"], weight_grad.reshape(o, k, k, c).transpose(0, 3, 1, 2))
        if self.use_bias:
            self.grads["bias"][...] = bias_grad
        if dx is None:
            return np.empty((0, c, 0, 0), dy.dtype)
        p, (_, _, h, w) = self.padding, self._padded_shape
        dx = dx[:, p : h - p, p : w - p] if p else dx
        return np.ascontiguousarray(dx.transpose(0, 3, 1, 2))

    def _dense_backward_rows(
        self, dy: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """The weight gradient ``(O, k*k*C)``, the bias gradient ``(O,)`` and, if needed, the
        padded input gradient ``(N, H, W, C)`` of a channels-last convolution, as products."""
        dy_rows = np.ascontiguousarray(dy.transpose(0, 2, 3, 1)).reshape(-1, self.out_channels)
        weight_grad = self._rows_weight_gradient(dy_rows)
        bias_grad = dy_rows.sum(axis=0) if self.use_bias else None
        if not self.needs_input_grad:
            return weight_grad, bias_grad, None
        n, c, h, w = self._padded_shape
        dx = rows_to_image(dy_rows, self.params["weight"], (n, h, w, c), self.stride)  # NHWC
        return weight_grad, bias_grad, dx

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if self.channels_last:
            return self._backward_rows(dy)
        assert self._cols is not None, "backward() called before forward()"
        o = self.out_channels
        dy_rows = dy.transpose(1, 0, 2, 3).reshape(o, -1)  # (O, N*OH*OW)
        weight_grad, bias_grad = self.grads["weight"].reshape(o, -1), self.grads.get("bias")
        fast = compiled("weight_gradient")  # both in one pass (barenet.kernels)
        if fast is None or not fast(dy_rows, self._cols, weight_grad, bias_grad):
            # dL/dW = dy cols^T: the same product as Dense, already in (O, C*k*k) order.
            np.matmul(dy_rows, self._cols.T, out=weight_grad)
            if bias_grad is not None:
                np.sum(dy_rows, axis=1, out=bias_grad)
        if not self.needs_input_grad:
            return np.empty((0, self.in_channels, 0, 0), dy.dtype)
        dcols = self.params["weight"].reshape(o, -1).T @ dy_rows  # (C*k*k, N*OH*OW)
        dx = col2im(dcols, self._padded_shape, self.kernel_size, self.stride)
        p = self.padding
        return dx[:, :, p : dx.shape[2] - p, p : dx.shape[3] - p] if p else dx

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


def _along(axis: int, start: int, count: int, stride: int) -> tuple[slice, ...]:
    """Index of ``count`` entries ``stride`` apart from ``start`` on ``axis`` of an NCHW array."""
    return (slice(None),) * axis + (slice(start, start + stride * (count - 1) + 1, stride),)


class _Pool2D(Layer):
    """Square pooling windows, done one axis at a time: first down the rows (H), then along the
    columns (W). Both max and mean are separable, so each step is ``pool_size`` slice operations
    on the whole batch; reading whole rows keeps memory access contiguous.
    """

    shardable = True  # each sample's output depends on that sample alone

    def __init__(self, pool_size: int, stride: int | None = None) -> None:
        super().__init__()
        stride = pool_size if stride is None else stride
        check_positive_int(type(self).__name__, pool_size=pool_size, stride=stride)
        self.pool_size, self.stride = int(pool_size), int(stride)
        self._input_shape: tuple[int, ...] = ()
        self._input_order: tuple[int, ...] = (0, 1, 2, 3)

    def _output_size(self, x: np.ndarray) -> tuple[int, int]:
        check_images(type(self).__name__, x)
        k = self.pool_size
        if x.shape[2] < k or x.shape[3] < k:
            raise ValueError(
                f"{type(self).__name__}(pool_size={k}) needs images of at least {k}x{k} pixels, "
                f"got {x.shape[2]}x{x.shape[3]}."
            )
        self._input_shape = x.shape
        # Axes from the largest stride to the smallest: (1, 0, 2, 3) for a convolution's output,
        # which is a (C, N, H, W) array seen as (N, C, H, W).
        self._input_order = tuple(
            int(a) for a in np.argsort([-s for s in x.strides], kind="stable")
        )
        return output_size(x.shape[2], k, self.stride, 0), output_size(
            x.shape[3], k, self.stride, 0
        )

    def _spread_along(
        self,
        dy: np.ndarray,
        axis: int,
        length: int,
        share: Callable[[int, np.ndarray], object],
        order: tuple[int, ...] = (0, 1, 2, 3),
    ) -> np.ndarray:
        """The adjoint of pooling along ``axis``: ``dy`` (pooled there) goes back to an axis
        ``length`` long; ``share(offset, out)`` writes into ``out`` what the inputs at that offset
        of each window receive. ``order`` lists the axes from the outermost in memory: the
        layout of the layer's input, so that the layer before reads the gradient without a copy.

        Windows that do not overlap (stride >= pool size) receive by plain assignment, each
        input from one window at most; overlapping ones add up their shares."""
        shape = list(dy.shape)
        shape[axis] = length
        count = dy.shape[axis]
        k, s = self.pool_size, self.stride
        dx = np.empty([shape[a] for a in order], dy.dtype).transpose(np.argsort(order))
        if s < k:
            dx[...] = 0
            part = np.empty_like(dy)
            for offset in range(k):
                share(offset, part)
                dx[_along(axis, offset, count, s)] += part
            return dx
        if s > k or s * (count - 1) + k < length:  # inputs outside every window get nothing
            dx[...] = 0
        for offset in range(k):
            share(offset, dx[_along(axis, offset, count, s)])
        return dx

    def label(self) -> str:
        k = self.pool_size
        stride = f", stride {self.stride}" if self.stride != k else ""
        return f"{type(self).__name__}({k}x{k}{stride})"

    def get_config(self) -> dict[str, Any]:
        return {"pool_size": self.pool_size, "stride": self.stride}


class MaxPool2D(_Pool2D):
    """The largest value in each ``pool_size x pool_size`` window; its gradient goes to that one
    input alone. On a tie the leftmost column wins, then the top row (rows are reduced first).

    Shape:
        - Input: ``(N, C, H, W)``
        - Output: ``(N, C, OH, OW)``, ``OH = (H - pool_size) // stride + 1`` (the rest is dropped)
    """

    def __init__(self, pool_size: int, stride: int | None = None) -> None:
        super().__init__(pool_size, stride)
        self._row_choice: np.ndarray | None = None  # which row of each window won, per column
        self._col_choice: np.ndarray | None = None

    def _max_along(self, x: np.ndarray, axis: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        k, s = self.pool_size, self.stride
        best = x[_along(axis, 0, count, s)]
        if k == 1:  # every value is its own window's maximum
            return best.copy(), np.zeros(best.shape, np.uint8)
        for offset in range(1, k):
            candidate = x[_along(axis, offset, count, s)]
            # Offsets grow, so "this one is strictly larger" -> max(choice, offset); strictly,
            # so the first of equal values wins. (np.copyto(..., where=) is 10x slower here.)
            better = np.greater(candidate, best).view(np.uint8)
            if offset == 1:
                choice, best = better, np.maximum(best, candidate)  # new arrays, x untouched
            else:
                np.maximum(choice, better * np.uint8(offset), out=choice)
                np.maximum(best, candidate, out=best)
        return best, choice

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        oh, ow = self._output_size(x)
        fast = compiled("max_pool_forward")  # the same numbers in one pass (barenet.kernels)
        if fast is not None:
            done = fast(x, self.pool_size, self.stride, (oh, ow), self._input_order)
            if done is not None:
                y, self._row_choice, self._col_choice = done
                return y
        rows, self._row_choice = self._max_along(x, 2, oh)  # (N, C, OH, W)
        y, self._col_choice = self._max_along(rows, 3, ow)  # (N, C, OH, OW)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        assert self._row_choice is not None and self._col_choice is not None, "backward first"
        fast = compiled("max_pool_backward")
        if fast is not None:
            choices, layout = (self._row_choice, self._col_choice), self._input_order
            done = fast(dy, self.pool_size, self.stride, choices, self._input_shape, layout)
            if done is not None:
                return done
        h, w = self._input_shape[2:]
        cols, rows = self._col_choice, self._row_choice
        d_rows = self._spread_along(  # (N, C, OH, W)
            dy, 3, w, lambda offset, out: np.multiply(dy, cols == offset, out=out)
        )
        return self._spread_along(  # (N, C, H, W)
            d_rows,
            2,
            h,
            lambda offset, out: np.multiply(d_rows, rows == offset, out=out),
            self._input_order,
        )


class AvgPool2D(_Pool2D):
    """The mean of each ``pool_size x pool_size`` window; the gradient is shared equally.

    Shape:
        - Input: ``(N, C, H, W)``
        - Output: ``(N, C, OH, OW)``, ``OH = (H - pool_size) // stride + 1`` (the rest is dropped)
    """

    def _mean_along(self, x: np.ndarray, axis: int, count: int) -> np.ndarray:
        total = x[_along(axis, 0, count, self.stride)].copy()
        for offset in range(1, self.pool_size):
            total += x[_along(axis, offset, count, self.stride)]
        return total / total.dtype.type(self.pool_size)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        oh, ow = self._output_size(x)
        return self._mean_along(self._mean_along(x, 2, oh), 3, ow)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        h, w = self._input_shape[2:]
        share = dy / dy.dtype.type(self.pool_size * self.pool_size)  # both axes' shares at once
        d_rows = self._spread_along(  # (N, C, OH, W)
            share, 3, w, lambda _, out: np.copyto(out, share)
        )
        return self._spread_along(  # (N, C, H, W)
            d_rows, 2, h, lambda _, out: np.copyto(out, d_rows), self._input_order
        )
