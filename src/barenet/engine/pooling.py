"""The engine's max pooling: one axis at a time, in the input's memory layout, with compiled
kernels when the numba engine runs.

The maximum of a window is the maximum, along its columns, of each column's maximum down the
rows: ``k`` slice operations on the whole batch per axis instead of copying every window, each
reading whole rows of memory. The output and the input gradient keep the layout of the input (a
convolution's output is a ``(C, N, H, W)`` array seen as ``(N, C, H, W)``), so the layers on
either side read them without a copy. Ties go where ``barenet.conv.MaxPool2D`` sends them: the
leftmost column, then the top row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from barenet.conv import MaxPool2D, output_size
from barenet.engine.state import compiled

TEXTBOOK_BACKWARD = MaxPool2D.backward  # for a forward pass that the textbook made


def _along(axis: int, start: int, count: int, stride: int) -> tuple[slice, ...]:
    """Index of ``count`` entries ``stride`` apart from ``start`` on ``axis`` of an NCHW array."""
    return (slice(None),) * axis + (slice(start, start + stride * (count - 1) + 1, stride),)


def _max_along(layer: Any, x: np.ndarray, axis: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Each window's maximum along ``axis`` and which of its ``k`` offsets won (uint8)."""
    k, s = layer.pool_size, layer.stride
    best = x[_along(axis, 0, count, s)]
    if k == 1:  # every value is its own window's maximum
        return best.copy(), np.zeros(best.shape, np.uint8)
    for offset in range(1, k):
        candidate = x[_along(axis, offset, count, s)]
        # Offsets grow, so "this one is strictly larger" -> max(choice, offset); strictly, so
        # the first of equal values wins.
        better = np.greater(candidate, best).view(np.uint8)
        if offset == 1:
            choice, best = better, np.maximum(best, candidate)  # new arrays, x untouched
        else:
            np.maximum(choice, better * np.uint8(offset), out=choice)
            np.maximum(best, candidate, out=best)
    return best, choice


def forward(self: Any, x: np.ndarray, training: bool = False) -> np.ndarray:
    """``MaxPool2D.forward``, down the rows (H), then along the columns (W)."""
    self._check(x.shape)
    k, s = self.pool_size, self.stride
    oh, ow = output_size(x.shape[2], k, s, 0), output_size(x.shape[3], k, s, 0)
    self._input_shape = x.shape
    self._winner = None  # the textbook's cache: not this forward pass's
    # Axes from the largest stride to the smallest: (1, 0, 2, 3) for a convolution's output.
    self._input_order = tuple(int(a) for a in np.argsort([-st for st in x.strides], kind="stable"))
    fast = compiled("max_pool_forward")  # the same numbers in one pass
    done = None if fast is None else fast(x, k, s, (oh, ow), self._input_order)
    if done is not None:
        y, self._row_choice, self._col_choice = done
        return y
    rows, self._row_choice = _max_along(self, x, 2, oh)  # (N, C, OH, W)
    y, self._col_choice = _max_along(self, rows, 3, ow)  # (N, C, OH, OW)
    return y


def backward(self: Any, dy: np.ndarray) -> np.ndarray:
    """``MaxPool2D.backward``: each window's gradient to the input that won it (the textbook's
    own backward after a forward pass that the textbook made)."""
    if self._winner is not None:
        return TEXTBOOK_BACKWARD(self, dy)
    fast = compiled("max_pool_backward")
    if fast is not None:
        choices, layout = (self._row_choice, self._col_choice), self._input_order
        done = fast(dy, self.pool_size, self.stride, choices, self._input_shape, layout)
        if done is not None:
            return done
    h, w = self._input_shape[2:]
    cols, rows = self._col_choice, self._row_choice
    d_rows = _spread_along(  # (N, C, OH, W)
        self, dy, 3, w, lambda offset, out: np.multiply(dy, cols == offset, out=out)
    )
    return _spread_along(  # (N, C, H, W)
        self,
        d_rows,
        2,
        h,
        lambda offset, out: np.multiply(d_rows, rows == offset, out=out),
        self._input_order,
    )


def _spread_along(
    layer: Any,
    dy: np.ndarray,
    axis: int,
    length: int,
    share: Callable[[int, np.ndarray], object],
    order: tuple[int, ...] = (0, 1, 2, 3),
) -> np.ndarray:
    """The adjoint of pooling along ``axis``: ``dy`` (pooled there) goes back to an axis
    ``length`` long; ``share(offset, out)`` writes into ``out`` what the inputs at that offset of
    each window receive. ``order`` lists the axes from the outermost in memory: the layout of
    the layer's input, so that the layer before reads the gradient without a copy.

    Windows that do not overlap (stride >= pool size) receive by plain assignment, each input
    from one window at most; overlapping ones add up their shares."""
    shape = list(dy.shape)
    shape[axis] = length
    count = dy.shape[axis]
    k, s = layer.pool_size, layer.stride
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


REPLACEMENTS: dict[tuple[type, str], Callable[..., Any]] = {
    (MaxPool2D, "forward"): forward,
    (MaxPool2D, "backward"): backward,
}
