"""Compiled kernels (Numba) for the loops where NumPy's one-pass-per-operation costs the most:
Adam's update, max pooling, a channels-last convolution's input gradient and an im2col
convolution's parameter gradients; a channels-last convolution's whole backward pass through
the non-zero entries alone of its output gradient, when a max pooling after it left few; and,
beside them, a channels-last convolution's forward product and weight gradient made a block of
samples at a time, so that its rows stay in the core's cache (NumPy's own copy and BLAS, no
compiled loop: they only belong with the kernels). Handed out by ``barenet.engine`` when the
numba engine runs.

Each compiled loop but those of ``weight_gradient`` and ``sparse_rows_backward`` computes what
the engine's NumPy code it replaces computes, operation for operation in the same precision and
order (no fused multiply-adds, no reassociation), reading and writing each array once instead of
once per operation. Adam and pooling agree with NumPy bit for bit (but for the sign of a pooling
gradient's zeros, see ``_max_pool_backward``).
``rows_to_image`` and ``rows_product`` make their matrix products a block of samples at a time,
and a BLAS may round a product's elements differently for another block shape (OpenBLAS's
Haswell kernels do, by a unit in the last place; its SkylakeX kernels do not);
``rows_weight_gradient`` adds up its blocks' products, a sum in another order than one
product's. ``weight_gradient`` is a product of its own: its dot products are summed in vector
lanes, in another order than BLAS's; ``sparse_rows_backward`` sums entry by entry, leaving out
the terms whose gradient is zero. Those three differ from NumPy's gradients by rounding. The
loops are ``nogil``: threads sharing a batch (``barenet.engine.sharding``) run them at the same
time. A kernel declines what it does not handle (a dtype other than float32/float64, an unusual
layout): ``adam`` and ``weight_gradient`` answer False, the others None, and the caller then
runs its NumPy code.

Compiled on first use, once for each kind of arguments a kernel meets (dtypes, dimensions), and
cached on disk next to this file when it is writable (Numba's ``cache=True``), so that later
processes load the machine code instead of compiling it again. The measurements behind the
kernels and their constants are in ``benchmarks/engine-timings.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numba
import numpy as np

from barenet.conv import output_size
from barenet.engine.conv import kernel_rows, row_windows
from barenet.engine.sharding import blas_on_one_thread

FLOATS = (np.float32, np.float64)
jit: Any = numba.njit(nogil=True, cache=True, error_model="numpy")


@jit
def _adam(p, g, m, v, beta1, beta2, one_minus_beta1, one_minus_beta2, c1, c2, lr, eps, offset):
    for i in range(p.size):
        gradient = g[i]
        first = beta1 * m[i] + one_minus_beta1 * gradient
        first = first + offset - offset  # flush_to_zero, as in engine/optimizers.py
        m[i] = first
        second = beta2 * v[i] + one_minus_beta2 * (gradient * gradient)
        second = second + offset - offset
        v[i] = second
        p[i] -= lr * (first / c1) / (np.sqrt(second / c2) + eps)


def adam(
    param: np.ndarray,
    grad: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    constants: tuple[float, ...],
    flush_offset: np.floating | None,
) -> bool:
    """Adam's update (``barenet.optimizers.Adam.update``) in one pass over memory:
    ``m = beta1 m + (1 - beta1) g``, ``v = beta2 v + (1 - beta2) g^2`` (each flushed to zero
    below the normal range), ``p -= lr * (m / c1) / (sqrt(v / c2) + eps)``.

    ``constants`` is ``(beta1, beta2, 1 - beta1, 1 - beta2, c1, c2, lr, eps)`` with the bias
    corrections ``c1 = 1 - beta1^t``, ``c2 = 1 - beta2^t``; each is rounded to the parameter's
    dtype here, as NumPy rounds a Python number it combines with an array. All four arrays must
    share shape, dtype (float32 or float64) and be contiguous; otherwise nothing happens and the
    answer is False."""
    arrays = (param, grad, m, v)
    dtype = param.dtype
    if (
        dtype not in FLOATS
        or flush_offset is None
        or any(
            a.dtype != dtype or a.shape != param.shape or not a.flags.c_contiguous for a in arrays
        )
    ):
        return False
    scalars = [dtype.type(c) for c in constants]
    _adam(*(a.reshape(-1) for a in arrays), *scalars, flush_offset)
    return True


@jit
def _max_pool_forward(x, k, s, row_choice, y, col_choice):
    """Down the rows first (every column's best of ``k`` rows), then along those rows' columns:
    the order of ``engine.pooling._max_along``, whose ties and NaNs this follows (the first of equal
    values wins; a NaN wins and stays)."""
    planes, channels, _, width = x.shape
    out_height, out_width = y.shape[2], y.shape[3]
    best = np.empty(width, x.dtype)  # one row of column maxima, reused: it stays in L1
    for a in range(planes):
        for b in range(channels):
            for i in range(out_height):
                choice, top = row_choice[a, b, i], i * s
                for w in range(width):  # a whole row at a time, so these loops vectorise
                    best[w] = x[a, b, top, w]
                    choice[w] = 0
                for offset in range(1, k):
                    candidate, label = x[a, b, top + offset], np.uint8(offset)
                    for w in range(width):
                        value, old = candidate[w], best[w]
                        greater = value > old
                        best[w] = value if (greater | (value != value)) else old
                        choice[w] = label if greater else choice[w]
                if k == 2 and s == 2:  # the usual windows: constant strides vectorise
                    out, picks = y[a, b, i], col_choice[a, b, i]
                    for j in range(out_width):
                        left, right = best[2 * j], best[2 * j + 1]
                        greater = right > left
                        out[j] = right if (greater | (right != right)) else left
                        picks[j] = np.uint8(1) if greater else np.uint8(0)
                    continue
                for j in range(out_width):
                    left = j * s
                    top_value, pick = best[left], np.uint8(0)
                    for offset in range(1, k):
                        value = best[left + offset]
                        greater = value > top_value
                        top_value = value if (greater | (value != value)) else top_value
                        pick = np.uint8(offset) if greater else pick
                    y[a, b, i, j] = top_value
                    col_choice[a, b, i, j] = pick


@jit
def _max_pool_backward(dy, k, s, row_choice, col_choice, dx):
    """Each window's gradient to its winner, 0 to every other input. Where the gradient is NaN
    or infinite, the window's other inputs get NaN, as NumPy's ``dy * (choice == offset)`` gives
    them; it gives -0.0 where the gradient is negative, and this +0.0: the plane is zeroed in one
    contiguous sweep and each window then writes its winner alone, where writing ``g * 0`` would
    take a multiply and a window-shaped store for every window."""
    planes, channels, out_height, out_width = dy.shape
    for a in range(planes):
        for b in range(channels):
            plane = dx[a, b]
            for h in range(plane.shape[0]):
                for w in range(plane.shape[1]):
                    plane[h, w] = 0
            for i in range(out_height):
                for j in range(out_width):
                    gradient = dy[a, b, i, j]
                    nothing = gradient * 0
                    if nothing != 0:  # NaN: the gradient was NaN or infinite
                        plane[i * s : i * s + k, j * s : j * s + k] = nothing
                    column = j * s + col_choice[a, b, i, j]
                    plane[i * s + row_choice[a, b, i, column], column] = gradient


@jit
def _max_pool_backward_2x2(dy, row_choice, col_choice, dx):
    """``_max_pool_backward`` for 2x2 windows with stride 2 (the usual ones), the same numbers:
    every input pixel is written once, a whole row at a time, so the loop vectorises (the
    general kernel zeroes the plane and then writes each winner a second time, one window at a
    time). ``gradient - gradient`` is the +0.0 (the NaN, for an infinite or NaN gradient) that
    the window's other inputs receive."""
    planes, channels, out_height, out_width = dy.shape
    height, width = dx.shape[2], dx.shape[3]
    for a in range(planes):
        for b in range(channels):
            plane = dx[a, b]
            for i in range(out_height):
                gradients, picks, rows = dy[a, b, i], col_choice[a, b, i], row_choice[a, b, i]
                upper, lower = plane[2 * i], plane[2 * i + 1]
                for w in range(2 * out_width):
                    gradient = gradients[w >> 1]
                    nothing = gradient - gradient
                    # Integer and bitwise tests, not Python's ``and``: branches do not vectorise.
                    column_won = np.int32(picks[w >> 1]) == np.int32(w & 1)
                    lower_won = rows[w] != np.uint8(0)
                    upper[w] = gradient if (column_won & (~lower_won)) else nothing
                    lower[w] = gradient if (column_won & lower_won) else nothing
                for w in range(2 * out_width, width):  # a column left over: in no window
                    upper[w] = 0
                    lower[w] = 0
            for h in range(2 * out_height, height):  # a row left over
                for w in range(width):
                    plane[h, w] = 0


def _pool_handled(dtype: np.dtype, pool_size: int, stride: int) -> bool:
    """Whether the pooling kernels take these windows: float32/float64, not overlapping, and
    larger than 1x1 (which NumPy's code just copies)."""
    return dtype in FLOATS and stride >= pool_size > 1


def _outer_first(order: tuple[int, ...]) -> tuple[int, int, int, int]:
    """The two leading axes in memory order: ``(1, 0, 2, 3)`` for a convolution's output, a
    (C, N, H, W) array seen as (N, C, H, W). Pooling treats the two alike, so the kernels walk
    them in that order and read memory straight through."""
    return (1, 0, 2, 3) if order.index(1) < order.index(0) else (0, 1, 2, 3)


def max_pool_forward(
    x: np.ndarray, pool_size: int, stride: int, out_shape: tuple[int, int], order: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``MaxPool2D.forward`` for windows that do not overlap (``stride >= pool_size``): the
    output ``(N, C, OH, OW)``, the winning row of each window's columns ``(N, C, OH, W)`` and the
    winning column ``(N, C, OH, OW)``; each laid out in memory like ``x``. None if not handled."""
    if not _pool_handled(x.dtype, pool_size, stride):
        return None
    axes = _outer_first(order)
    n, c, _, w = x.shape
    out_height, out_width = out_shape
    lead = (n, c) if axes[0] == 0 else (c, n)
    row_choice = np.empty((*lead, out_height, w), np.uint8)
    y = np.empty((*lead, out_height, out_width), x.dtype)
    col_choice = np.empty((*lead, out_height, out_width), np.uint8)
    _max_pool_forward(x.transpose(axes), pool_size, stride, row_choice, y, col_choice)
    return y.transpose(axes), row_choice.transpose(axes), col_choice.transpose(axes)


def max_pool_backward(
    dy: np.ndarray,
    pool_size: int,
    stride: int,
    choices: tuple[np.ndarray, np.ndarray],
    input_shape: tuple[int, ...],
    order: tuple[int, ...],
) -> np.ndarray | None:
    """``MaxPool2D.backward`` for windows that do not overlap: the gradient ``(N, C, H, W)``,
    laid out in memory in ``order`` (the input's). None if not handled."""
    if not _pool_handled(dy.dtype, pool_size, stride):
        return None
    axes = _outer_first(order)
    dx = np.empty([input_shape[a] for a in order], dy.dtype).transpose(np.argsort(order))
    row_choice, col_choice = (choice.transpose(axes) for choice in choices)
    walked_dy, walked_dx = dy.transpose(axes), dx.transpose(axes)  # views: dx is written through
    if pool_size == 2 and stride == 2:
        _max_pool_backward_2x2(walked_dy, row_choice, col_choice, walked_dx)
    else:
        _max_pool_backward(walked_dy, pool_size, stride, row_choice, col_choice, walked_dx)
    return dx


@jit
def _row2im(rows, image, k, s, out_height, out_width):
    """Add every row's window back onto ``image`` offset by offset, the order in which
    ``engine.conv.rows_to_image`` adds its products, so each pixel sums in the same order."""
    n, _, _, channels = image.shape
    for i in range(k):
        for j in range(k):
            first = (i * k + j) * channels  # the offset's columns in each row
            for a in range(n):
                for y in range(out_height):
                    for x in range(out_width):
                        row = rows[(a * out_height + y) * out_width + x, first:]
                        pixel = image[a, s * y + i, s * x + j]
                        for c in range(channels):  # contiguous: vectorised
                            pixel[c] += row[c]


# The input gradient's rows, and the blocked products' rows, for as many samples as fit in this
# many bytes: so that they are still in the core's cache when they are added up or multiplied,
# while each block's product stays large enough for BLAS. Blocks of 0.5 to 3 MB did about
# equally well, all better than none (see benchmarks/engine-timings.md).
ROW_BLOCK_BYTES = 1 << 20


def _samples_per_block(n: int, sample_bytes: int) -> int:
    """How many of ``n`` samples of ``sample_bytes`` rows each fit in ``ROW_BLOCK_BYTES``: one
    at least."""
    return max(1, min(n, ROW_BLOCK_BYTES // max(1, sample_bytes)))


def rows_to_image(
    dy_rows: np.ndarray, weight: np.ndarray, shape: tuple[int, int, int, int], stride: int
) -> np.ndarray | None:
    """``conv.rows_to_image``, the input gradient of a channels-last convolution, as one product
    and one pass per block of samples: ``rows = dy_rows @ weight_rows`` (the gradient of
    ``im2row``'s rows, ``(block * OH * OW, k*k*C)``), then every row's window added back onto the
    image. NumPy's code makes one thin product per kernel offset and adds each over the whole
    batch (25 passes for 5x5). Each element of a product is a dot product of the same ``O``
    numbers either way, but a BLAS may sum them in another order for another shape (OpenBLAS's
    Haswell kernels do; its SkylakeX kernels do not); the adds go in NumPy's order.

    Shape: ``dy_rows`` ``(N * OH * OW, O)``, ``weight`` ``(O, C, k, k)``; returns ``shape``,
    ``(N, H, W, C)``. None unless both are float32 or float64 of one dtype."""
    if dy_rows.dtype not in FLOATS or weight.dtype != dy_rows.dtype:
        return None
    n, height, width, _ = shape
    kernel = weight.shape[2]
    out_height = output_size(height, kernel, stride, 0)
    out_width = output_size(width, kernel, stride, 0)
    per_sample = out_height * out_width
    weight_rows = kernel_rows(weight)  # (O, k*k*C)
    samples = _samples_per_block(n, per_sample * weight_rows.shape[1] * dy_rows.dtype.itemsize)
    block = np.empty((samples * per_sample, weight_rows.shape[1]), dy_rows.dtype)
    dy_rows = np.ascontiguousarray(dy_rows)
    image = np.zeros(shape, dy_rows.dtype)
    for start in range(0, n, samples):
        stop = min(n, start + samples)
        rows = block[: (stop - start) * per_sample]
        np.matmul(dy_rows[start * per_sample : stop * per_sample], weight_rows, out=rows)
        _row2im(rows, image[start:stop], kernel, stride, out_height, out_width)
    return image


def _row_blocks(image: np.ndarray, kernel: int, stride: int) -> Iterator[tuple[int, np.ndarray]]:
    """``im2row(image, kernel, stride)`` a block of samples at a time, as ``(first row, rows)``:
    the rows of as many samples as fit in ``ROW_BLOCK_BYTES``, copied into one buffer that every
    block reuses (NumPy's copy of the windows, which a compiled loop did not beat)."""
    windows = row_windows(image, kernel, stride)  # (N, OH, OW, k, k, C), a view
    n, rows_per_sample = windows.shape[0], windows.shape[1] * windows.shape[2]
    row_length = kernel * kernel * image.shape[3]
    samples = _samples_per_block(n, rows_per_sample * row_length * image.dtype.itemsize)
    buffer = np.empty((samples, *windows.shape[1:]), image.dtype)
    for start in range(0, n, samples):
        block = buffer[: min(n, start + samples) - start]
        np.copyto(block, windows[start : start + len(block)])
        yield start * rows_per_sample, block.reshape(len(block) * rows_per_sample, row_length)


def rows_product(
    image: np.ndarray, kernel: int, stride: int, right: np.ndarray
) -> np.ndarray | None:
    """``im2row(image, kernel, stride) @ right``, the forward product of a channels-last
    convolution, a block of samples at a time: each block's rows are still in the core's cache
    when they are multiplied, and the whole ``(N*OH*OW, k*k*C)`` matrix (13 MB for 64 images in
    the benchmark CNN's second convolution) is never written out to memory nor kept for the
    backward pass, which builds the rows again (``rows_weight_gradient``). Each element is the
    same dot product as NumPy's, but a BLAS may round it differently for another block shape
    (OpenBLAS's Haswell kernels do; its SkylakeX kernels do not).

    Shape: ``image`` ``(N, H, W, C)``, ``right`` ``(k*k*C, O)``; returns ``(N*OH*OW, O)``. None
    unless both are float32 or float64 of one dtype, and unless BLAS runs on one thread, as in
    a sharded step: a block's product is too small to share among threads, so a multi-threaded
    BLAS makes better use of the cores with the one product of the whole matrix."""
    if image.dtype not in FLOATS or right.dtype != image.dtype or not blas_on_one_thread():
        return None
    out_height, out_width = (output_size(size, kernel, stride, 0) for size in image.shape[1:3])
    product = np.empty((image.shape[0] * out_height * out_width, right.shape[1]), image.dtype)
    for first, rows in _row_blocks(image, kernel, stride):
        np.matmul(rows, right, out=product[first : first + len(rows)])
    return product


def rows_weight_gradient(
    dy_rows: np.ndarray, image: np.ndarray, kernel: int, stride: int
) -> np.ndarray | None:
    """``dy_rows.T @ im2row(image, kernel, stride)``, a channels-last convolution's weight
    gradient, with the rows built again a block of samples at a time (see ``rows_product``) and
    the blocks' products added up: the sum over samples runs in another order than one
    product's, so the gradient differs from NumPy's by rounding.

    Shape: ``dy_rows`` ``(N*OH*OW, O)``, ``image`` ``(N, H, W, C)``; returns ``(O, k*k*C)``. None
    unless both are float32 or float64 of one dtype and BLAS runs on one thread."""
    if dy_rows.dtype not in FLOATS or image.dtype != dy_rows.dtype or not blas_on_one_thread():
        return None
    total = np.zeros((dy_rows.shape[1], kernel * kernel * image.shape[3]), dy_rows.dtype)
    part = np.empty_like(total)
    for first, rows in _row_blocks(image, kernel, stride):
        np.matmul(dy_rows[first : first + len(rows)].T, rows, out=part)
        total += part
    return total


# Sums that may be reordered (a dot product in vector lanes), products fused into the adds; no
# other fast-math liberty (NaNs and infinities behave as in NumPy).
reassociating_jit: Any = numba.njit(
    nogil=True, cache=True, error_model="numpy", fastmath={"reassoc", "contract"}
)


@reassociating_jit
def _dot(a, b):
    """``a @ b`` for two 1-D arrays, summed in vector lanes."""
    total = a.dtype.type(0)
    for k in range(a.shape[0]):
        total += a[k] * b[k]
    return total


@reassociating_jit
def _add_tile(dy, cols, o, t, start, stop, grad):
    """``grad[o:o+4, t:t+4] += dy[o:o+4, start:stop] @ cols[t:t+4, start:stop].T``: 16 dot
    products over the same columns, their 16 sums held in registers while 8 rows stream past
    (8 loads for 16 multiply-adds; one dot product at a time needs 2 loads for each)."""
    d0, d1 = dy[o, start:stop], dy[o + 1, start:stop]
    d2, d3 = dy[o + 2, start:stop], dy[o + 3, start:stop]
    c0, c1 = cols[t, start:stop], cols[t + 1, start:stop]
    c2, c3 = cols[t + 2, start:stop], cols[t + 3, start:stop]
    s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = dy.dtype.type(0)
    s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = dy.dtype.type(0)
    for k in range(stop - start):
        x0, x1, x2, x3, y0, y1, y2, y3 = d0[k], d1[k], d2[k], d3[k], c0[k], c1[k], c2[k], c3[k]
        s00 += x0 * y0
        s01 += x0 * y1
        s02 += x0 * y2
        s03 += x0 * y3
        s10 += x1 * y0
        s11 += x1 * y1
        s12 += x1 * y2
        s13 += x1 * y3
        s20 += x2 * y0
        s21 += x2 * y1
        s22 += x2 * y2
        s23 += x2 * y3
        s30 += x3 * y0
        s31 += x3 * y1
        s32 += x3 * y2
        s33 += x3 * y3
    sums = (s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32, s33)
    for i in range(16):
        grad[o + i // 4, t + i % 4] += sums[i]


@reassociating_jit
def _weight_gradient(dy, cols, weight_grad, bias_grad, chunk):
    """``weight_grad = dy @ cols.T`` and, unless ``bias_grad`` is None, ``bias_grad =
    dy.sum(axis=1)``, ``chunk`` columns at a time (a chunk of both stays in the core's cache):
    4x4 tiles, then the rows and columns the tiles leave one dot product each. (Numba compiles
    one version with a bias and one without.)"""
    outputs, length = dy.shape
    taps = cols.shape[0]
    tiled_rows, tiled_taps = outputs - outputs % 4, taps - taps % 4
    weight_grad[:] = 0
    if bias_grad is not None:
        bias_grad[:] = 0
    for start in range(0, length, chunk):
        stop = min(length, start + chunk)
        for o in range(0, tiled_rows, 4):
            for t in range(0, tiled_taps, 4):
                _add_tile(dy, cols, o, t, start, stop, weight_grad)
        for o in range(outputs):
            row = dy[o, start:stop]
            for t in range(tiled_taps if o < tiled_rows else 0, taps):
                weight_grad[o, t] += _dot(row, cols[t, start:stop])
            if bias_grad is not None:
                total = dy.dtype.type(0)
                for k in range(stop - start):
                    total += row[k]
                bias_grad[o] += total


# Columns per chunk of ``weight_gradient``, in bytes of a row: a chunk of every row of ``dy`` and
# ``cols`` stays in the core's cache while all the tiles read it; 4 kB (1,024 float32 columns)
# was the best of the sizes tried (see benchmarks/engine-timings.md).
WEIGHT_GRADIENT_CHUNK_BYTES = 4096


def weight_gradient(
    dy_rows: np.ndarray, cols: np.ndarray, weight_grad: np.ndarray, bias_grad: np.ndarray | None
) -> bool:
    """A convolution's parameter gradients on its im2col path in one pass over ``dy_rows``:
    ``weight_grad[...] = dy_rows @ cols.T`` and, unless None, ``bias_grad[...] =
    dy_rows.sum(axis=1)``. For these shapes (a few rows of ``cols``, very long ones) BLAS keeps
    little in registers; here each 4x4 tile of dot products does, each loaded value serving four
    multiply-adds, and the bias gradient comes from the same pass over ``dy_rows`` instead of a
    second one. The sums run in another order than BLAS's and NumPy's, so the gradients differ
    from theirs by rounding (relative 1e-6 in float32).

    Shape: ``dy_rows`` ``(O, M)``, ``cols`` ``(T, M)``, ``weight_grad`` ``(O, T)``, ``bias_grad``
    ``(O,)``. False (nothing done) unless every array is C-contiguous of one float dtype."""
    arrays = [dy_rows, cols, weight_grad] + ([] if bias_grad is None else [bias_grad])
    dtype = dy_rows.dtype
    if dtype not in FLOATS or any(a.dtype != dtype or not a.flags.c_contiguous for a in arrays):
        return False
    chunk = WEIGHT_GRADIENT_CHUNK_BYTES // dtype.itemsize
    _weight_gradient(dy_rows, cols, weight_grad, bias_grad, chunk)
    return True


@reassociating_jit
def _add_scaled(
    target, target_start, target_step, source, starts, source_step, scales, count, rows, span
):
    """``target[target_start + r*target_step:][:span] += sum(scales[q] *
    source[starts[q] + r*source_step:][:span] for q < count)`` for each of ``rows`` rows ``r``,
    four terms a pass: one load and one store of the target for four multiply-adds."""
    full = count - count % 4
    for q in range(0, full, 4):
        d0, d1, d2, d3 = scales[q], scales[q + 1], scales[q + 2], scales[q + 3]
        for r in range(rows):
            out = target[target_start + r * target_step : target_start + r * target_step + span]
            s0 = source[starts[q] + r * source_step : starts[q] + r * source_step + span]
            s1 = source[starts[q + 1] + r * source_step : starts[q + 1] + r * source_step + span]
            s2 = source[starts[q + 2] + r * source_step : starts[q + 2] + r * source_step + span]
            s3 = source[starts[q + 3] + r * source_step : starts[q + 3] + r * source_step + span]
            for t in range(span):
                out[t] = out[t] + d0 * s0[t] + d1 * s1[t] + d2 * s2[t] + d3 * s3[t]
    for q in range(full, count):
        for r in range(rows):
            out = target[target_start + r * target_step : target_start + r * target_step + span]
            s0 = source[starts[q] + r * source_step : starts[q] + r * source_step + span]
            for t in range(span):
                out[t] = out[t] + scales[q] * s0[t]


@reassociating_jit
def _sparse_rows_backward(dy, image, weight_rows, kernel, stride, weight_grad, bias_grad, dx):
    """The gradients of ``y = im2row(image) @ weight_rows.T`` from the non-zero entries of
    ``dy`` alone, sample by sample (its image and input gradient stay in the core's cache):
    each entry ``dy[a, o, y, x] = d`` adds ``d`` times its window of the image to
    ``weight_grad[o]``, ``d`` to ``bias_grad[o]`` and ``d * weight_rows[o]`` to its window of
    ``dx`` (unless ``dx`` is empty), a window being ``kernel`` rows of ``kernel * C``
    contiguous numbers in a channels-last image."""
    n, outputs, out_height, out_width = dy.shape
    _, height, width, channels = image.shape
    span, line = kernel * channels, width * channels  # a window's row; an image's row
    pixels, dx_pixels, weights = image.reshape(-1), dx.reshape(-1), weight_rows.reshape(-1)
    scales = np.empty(max(outputs, out_height * out_width), dy.dtype)
    starts = np.empty(scales.size, np.int64)
    for a in range(n):
        for o in range(outputs):  # the weight gradient: the windows where o's gradient is not 0
            count = 0
            for y in range(out_height):
                for x in range(out_width):
                    if dy[a, o, y, x] != 0:
                        scales[count] = dy[a, o, y, x]
                        starts[count] = ((a * height + stride * y) * width + stride * x) * channels
                        bias_grad[o] += scales[count]
                        count += 1
            _add_scaled(weight_grad[o], 0, span, pixels, starts, line, scales, count, kernel, span)
        for y in range(out_height if dx.size else 0):  # the input gradient, window by window
            for x in range(out_width):
                count = 0
                for o in range(outputs):
                    if dy[a, o, y, x] != 0:
                        scales[count] = dy[a, o, y, x]
                        starts[count] = o * weight_rows.shape[1]
                        count += 1
                first = ((a * height + stride * y) * width + stride * x) * channels
                _add_scaled(
                    dx_pixels, first, line, weights, starts, span, scales, count, kernel, span
                )


# ``sparse_rows_backward`` takes a convolution's output gradient when at most this share of its
# entries is non-zero (a 2x2 max pooling after the convolution leaves one in four at most, a ReLU
# after that fewer). Its work grows with the non-zero entries while the dense products' does
# not; up to a fifth it was the faster with OpenBLAS's SkylakeX and Haswell kernels alike (see
# benchmarks/engine-timings.md).
SPARSE_BACKWARD_MAX_SHARE = 0.2


def sparse_rows_backward(
    dy: np.ndarray, image: np.ndarray, weight: np.ndarray, stride: int, input_grad: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
    """A channels-last convolution's backward pass through the non-zero entries of its output
    gradient alone: ``(dy_rows.T @ im2row(image), dy_rows.sum(axis=0), row2im(dy_rows @
    weight_rows))`` (the last None unless ``input_grad``), without building any rows. Where a
    max pooling follows the convolution, three entries in four or more are zero, and BLAS
    multiplies every one of them. The same sums but for those terms, in another order: the
    gradients differ from NumPy's by rounding; and a term skipped is one that adds nothing,
    unless the image or the weights hold an infinity or a NaN, which NumPy's products would
    spread as NaN (the forward pass has spread them into the loss already).

    Shape: ``dy`` ``(N, O, OH, OW)``, ``image`` ``(N, H, W, C)`` (padded), ``weight`` ``(O, C,
    k, k)``; returns ``(O, k*k*C)``, ``(O,)`` and ``(N, H, W, C)``. None (nothing done) unless
    all three are float32 or float64 of one dtype, and unless at most
    ``SPARSE_BACKWARD_MAX_SHARE`` of ``dy`` is non-zero."""
    dtype = dy.dtype
    if dtype not in FLOATS or image.dtype != dtype or weight.dtype != dtype:
        return None
    if np.count_nonzero(dy) > SPARSE_BACKWARD_MAX_SHARE * dy.size:
        return None
    weight_rows = np.ascontiguousarray(kernel_rows(weight))  # (O, k*k*C)
    weight_grad, bias_grad = np.zeros_like(weight_rows), np.zeros(weight.shape[0], dtype)
    dx = np.zeros(image.shape if input_grad else (0, 0, 0, 0), dtype)
    _sparse_rows_backward(
        np.ascontiguousarray(dy),
        np.ascontiguousarray(image),
        weight_rows,
        weight.shape[2],
        stride,
        weight_grad,
        bias_grad,
        dx,
    )
    return weight_grad, bias_grad, dx if input_grad else None


# What ``barenet.engine.state.compiled(name)`` hands out while the numba engine runs.
KERNELS: dict[str, Callable[..., Any]] = {
    "adam": adam,
    "max_pool_forward": max_pool_forward,
    "max_pool_backward": max_pool_backward,
    "rows_product": rows_product,
    "rows_to_image": rows_to_image,
    "rows_weight_gradient": rows_weight_gradient,
    "sparse_rows_backward": sparse_rows_backward,
    "weight_gradient": weight_gradient,
}
