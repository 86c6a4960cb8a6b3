"""The compiled kernels against the NumPy code they replace: the same numbers (bit for bit, but
for the sign of a pooling gradient's zeros and the rounding of a convolution's products made in
blocks and of its gradients, whose sums run in another order), the same layouts, and NumPy's
path wherever a kernel declines."""

import numpy as np
import pytest

pytest.importorskip("numba")

import barenet as bn
from barenet import engine
from barenet.engine import numba_kernels
from barenet.engine.conv import rows_to_image
from barenet.engine.optimizers import CACHE_SIZED
from barenet.engine.sharding import blas_controller


def bits(array):
    return array.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[array.itemsize])


def adam_run(kernel_name, optimizer, dtype, shapes, steps=5, grad_view=lambda g: g):
    rng = np.random.default_rng(0)
    params = [rng.standard_normal(shape).astype(dtype) for shape in shapes]
    with engine.using(kernel_name):
        for step in range(steps):
            grads = [grad_view(rng.standard_normal(p.shape).astype(dtype) * 1e-2) for p in params]
            if step % 2:
                grads[0][...] = 0  # moments decaying towards the subnormal range
            if len(grads) > 1:
                grads[1][::2] = 1e-20  # squares below float32's normal range: flushed to zero
            optimizer.step(params, grads)
    moments = [state[key] for state in optimizer._state for key in ("m", "v")]
    return params + moments  # the moments too: a subnormal one hardly moves a parameter


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "make",
    [
        lambda: bn.Adam(1e-3),
        lambda: bn.Adam(1e-2, beta1=0.8, weight_decay=1e-2),
        lambda: bn.AdamW(1e-3, weight_decay=0.1),
    ],
)
def test_fused_adam_gives_numpys_numbers_bit_for_bit(dtype, make):
    shapes = [(3, 5), (7,), (CACHE_SIZED + 5,)]  # the last is updated in cache-sized slices
    reference = adam_run("numpy", make(), dtype, shapes)
    fused = adam_run("numba", make(), dtype, shapes)
    for a, b in zip(reference, fused, strict=True):
        np.testing.assert_array_equal(bits(a), bits(b))


def test_fused_adam_declines_what_it_does_not_handle():
    param = np.ones((4, 4), np.float32)
    state = [np.zeros_like(param), np.zeros_like(param)]
    constants, offset = (0.9, 0.999, 1e-8, 1e-3), np.float32(2.0**-93)
    strided = np.ones((4, 8), np.float32)[:, ::2]
    assert not numba_kernels.adam(param, strided, *state, constants, offset)
    assert not numba_kernels.adam(param.astype(np.float16), param, *state, constants, None)
    assert not numba_kernels.adam(param, param.astype(np.float64), *state, constants, offset)
    np.testing.assert_array_equal(param, 1.0)  # untouched
    # ... and Adam then runs its NumPy code on such a gradient, with the same result.
    reference = adam_run("numpy", bn.Adam(), np.float32, [(4, 4)], grad_view=lambda g: g.T)
    declined = adam_run("numba", bn.Adam(), np.float32, [(4, 4)], grad_view=lambda g: g.T)
    np.testing.assert_array_equal(bits(reference[0]), bits(declined[0]))


def pool_both_ways(x, pool_size, stride, dy_seed=1):
    results = []
    for name in ("numpy", "numba"):
        with engine.using(name):
            layer = bn.MaxPool2D(pool_size, stride)
            y = layer.forward(x)
            dy = np.random.default_rng(dy_seed).standard_normal(y.shape).astype(x.dtype)
            dy[0, 0, 0, 0] = np.nan if y.size > 1 else dy[0, 0, 0, 0]
            results.append((y, layer.backward(dy)))
    return results


def small_integers(shape, channels_outer, dtype=np.float32, seed=0):
    """Values from a handful of integers, so windows have ties; optionally laid out (C, N, H, W)
    in memory like a convolution's output."""
    n, c, h, w = shape
    values = np.random.default_rng(seed).integers(-3, 3, (c, n, h, w)).astype(dtype)
    return values.transpose(1, 0, 2, 3) if channels_outer else values.transpose(1, 0, 2, 3).copy()


@pytest.mark.parametrize("channels_outer", [True, False])
@pytest.mark.parametrize(
    ("shape", "pool_size", "stride"),
    [
        ((6, 4, 8, 8), 2, 2),  # tiles exactly
        ((5, 3, 7, 9), 2, 2),  # a row and a column left over
        ((5, 3, 9, 9), 3, 3),
        ((4, 2, 9, 10), 2, 3),  # gaps between windows
        ((3, 2, 5, 5), 1, 1),  # declined: NumPy's copy
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_gives_numpys_numbers_and_layout(shape, pool_size, stride, channels_outer, dtype):
    x = small_integers(shape, channels_outer, dtype)
    x[0, 0, 1, 1] = x[-1, -1, 2, 2] = np.nan  # a NaN wins its window (right, left), as with NumPy
    (y0, dx0), (y1, dx1) = pool_both_ways(x, pool_size, stride)
    np.testing.assert_array_equal(bits(y0), bits(y1))
    np.testing.assert_array_equal(dx0, dx1)  # NaNs in the same places; zeros may differ in sign
    nonzero = dx0 != 0
    np.testing.assert_array_equal(bits(dx0)[nonzero], bits(dx1)[nonzero])
    assert y0.strides == y1.strides and dx0.strides == dx1.strides


def test_max_pool_spreads_an_infinite_gradient_like_numpy():
    x = small_integers((2, 2, 4, 4), True)
    results = []
    for name in ("numpy", "numba"):
        with engine.using(name):
            layer = bn.MaxPool2D(2)
            dy = np.zeros(layer.forward(x).shape, np.float32)
            dy[1, 1, 0, 1] = np.inf
            results.append(layer.backward(dy))
    np.testing.assert_array_equal(results[0], results[1])
    assert np.isnan(results[1][1, 1, :2, 2:]).sum() == 3  # the winner gets inf, the rest NaN


@pytest.mark.parametrize("shape", [(6, 4, 8, 8), (5, 3, 7, 9)])  # the second: a row, a column over
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_2x2_pooling_gradient_gives_the_general_kernels_bits(shape, dtype):
    x = small_integers(shape, True, dtype)  # ties: the first of equal values wins
    x[0, 0, 1, 1] = np.nan
    oh, ow = shape[2] // 2, shape[3] // 2
    _, row_choice, col_choice = numba_kernels.max_pool_forward(x, 2, 2, (oh, ow), (0, 1, 2, 3))
    dy = np.random.default_rng(2).standard_normal((*shape[:2], oh, ow)).astype(dtype)
    dy[0, 1, 0, 0], dy[1, 0, 1, 1], dy[2, 2, 0, 1] = np.nan, np.inf, -np.inf
    general, fast = np.full(shape, 7, dtype), np.full(shape, 7, dtype)  # all written over
    numba_kernels._max_pool_backward(dy, 2, 2, row_choice, col_choice, general)
    numba_kernels._max_pool_backward_2x2(dy, row_choice, col_choice, fast)
    np.testing.assert_array_equal(bits(general), bits(fast))  # zeros' signs and NaNs included
    assert np.isnan(fast).sum() == 3 * 3 + 1  # 3 losers per non-finite gradient, the NaN's winner


def test_overlapping_windows_run_numpys_code():
    x = small_integers((3, 2, 6, 6), True)
    assert numba_kernels.max_pool_forward(x, 3, 2, (2, 2), (1, 0, 2, 3)) is None
    (y0, dx0), (y1, dx1) = pool_both_ways(x, 3, 2)
    np.testing.assert_array_equal(bits(y0), bits(y1))
    np.testing.assert_array_equal(bits(dx0), bits(dx1))


def test_kernels_may_change_between_forward_and_backward():
    x = small_integers((4, 3, 8, 8), True)
    layer = bn.MaxPool2D(2)
    with engine.using("numba"):
        y = layer.forward(x)
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
    reference = bn.MaxPool2D(2)
    reference.forward(x)
    np.testing.assert_array_equal(layer.backward(dy), reference.backward(dy))


def input_gradient_both_ways(n, channels, kernel, stride, size, dtype):
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((6, channels, kernel, kernel)).astype(dtype)
    out = (size - kernel) // stride + 1
    dy_rows = rng.standard_normal((n * out * out, 6)).astype(dtype)
    shape = (n, size, size, channels)
    with engine.using("numba"):
        compiled = rows_to_image(dy_rows, weight, shape, stride)
    return rows_to_image(dy_rows, weight, shape, stride), compiled


@pytest.mark.parametrize(
    ("n", "channels", "kernel", "stride", "size"),
    [
        (5, 8, 3, 1, 9),
        (7, 3, 5, 1, 12),
        (4, 8, 3, 2, 11),
        (3, 2, 2, 3, 10),  # gaps between windows
        (1, 1, 1, 1, 4),
        (0, 8, 3, 1, 9),  # an empty batch
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rows_to_image_gives_numpys_gradient_in_blocks(n, channels, kernel, stride, size, dtype):
    """Blocks of 2 samples (a last one smaller for odd N): the products are made per block,
    so only their rounding may differ from NumPy's."""
    per_sample = ((size - kernel) // stride + 1) ** 2 * kernel * kernel * channels
    block = 2 * per_sample * np.dtype(dtype).itemsize
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(numba_kernels, "ROW_BLOCK_BYTES", block)
        reference, compiled = input_gradient_both_ways(n, channels, kernel, stride, size, dtype)
    assert compiled.dtype == reference.dtype and compiled.shape == reference.shape
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(compiled, reference, rtol=tolerance, atol=tolerance)
    if stride > kernel:  # pixels between windows receive nothing
        assert not compiled[:, kernel:stride].any()


def test_rows_to_image_declines_float16():
    weight = np.ones((2, 3, 3, 3), np.float16)
    dy_rows = np.ones((4, 2), np.float16)
    assert numba_kernels.rows_to_image(dy_rows, weight, (1, 4, 4, 3), 1) is None
    reference, compiled = input_gradient_both_ways(2, 3, 3, 1, 6, np.float16)
    np.testing.assert_array_equal(bits(reference), bits(compiled))  # NumPy's code ran


# Channels-last convolutions' shapes: stride 1 and 2, padding, an empty batch.
channels_last_cases = pytest.mark.parametrize(
    ("n", "stride", "padding", "size"),
    [(5, 1, 0, 9), (4, 2, 1, 11), (3, 1, 1, 6), (0, 1, 0, 9)],
)


def channels_last_conv(kernel_name, x, dy, stride, padding, backward=None):
    """A channels-last convolution's output, input gradient and parameter gradients, with
    the kernels named ``backward`` (the forward's unless given) for the backward pass; BLAS on
    one thread, as in a sharded step (the blocked products decline otherwise)."""
    pytest.importorskip("threadpoolctl")
    with blas_controller().limit(limits=1, user_api="blas"), engine.using(kernel_name):
        layer = bn.Conv2D(x.shape[1], dy.shape[1], 3, stride=stride, padding=padding)
        layer.params = {
            name: np.random.default_rng(4).standard_normal(param.shape).astype(x.dtype)
            for name, param in layer.params.items()
        }
        layer.grads = {name: np.zeros_like(param) for name, param in layer.params.items()}
        y = layer.forward(x)
        kept_rows = layer._rows is not None
    with blas_controller().limit(limits=1, user_api="blas"), engine.using(backward or kernel_name):
        dx = layer.backward(dy)
    return [y, dx, layer.grads["weight"], layer.grads["bias"]], kept_rows


@channels_last_cases
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rows_product_and_gradient_give_numpys_numbers_in_blocks(
    n, stride, padding, size, dtype, monkeypatch
):
    """Blocks of 2 samples (a last one smaller for odd N): the forward keeps its input, not the
    rows, and the backward builds them again; only the rounding may differ from NumPy's."""
    channels = 8  # channels-last from 8 input channels
    out = (size + 2 * padding - 3) // stride + 1
    per_sample = out * out * 9 * channels * np.dtype(dtype).itemsize
    monkeypatch.setattr(numba_kernels, "ROW_BLOCK_BYTES", 2 * per_sample)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((n, channels, size, size)).astype(dtype)
    dy = rng.standard_normal((n, 6, out, out)).astype(dtype)
    reference, kept_rows = channels_last_conv("numpy", x, dy, stride, padding)
    compiled, compiled_kept_rows = channels_last_conv("numba", x, dy, stride, padding)
    assert kept_rows and not compiled_kept_rows
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for a, b in zip(reference, compiled, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(b, a, rtol=tolerance, atol=tolerance)
    if n:
        assert np.abs(compiled[2]).min() > 0  # every tap's gradient summed over every block


def test_rows_gradient_when_the_kernels_change_between_forward_and_backward():
    """A forward with the compiled kernels keeps no rows; NumPy's backward builds them."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 8, 7, 7)).astype(np.float32)
    dy = rng.standard_normal((3, 6, 5, 5)).astype(np.float32)
    reference, _ = channels_last_conv("numpy", x, dy, 1, 0)
    switched, kept_rows = channels_last_conv("numba", x, dy, 1, 0, backward="numpy")
    assert not kept_rows
    for a, b in zip(reference, switched, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)


def test_rows_product_and_gradient_decline_float16_and_threaded_blas(monkeypatch):
    image, right = np.ones((1, 4, 4, 3), np.float16), np.ones((27, 2), np.float16)
    assert numba_kernels.rows_product(image, 3, 1, right) is None
    assert numba_kernels.rows_product(image.astype(np.float32), 3, 1, right) is None
    assert numba_kernels.rows_weight_gradient(np.ones((4, 2), np.float16), image, 3, 1) is None
    image, right = image.astype(np.float32), right.astype(np.float32)
    monkeypatch.setattr(numba_kernels, "blas_on_one_thread", lambda: False)
    assert numba_kernels.rows_product(image, 3, 1, right) is None
    assert numba_kernels.rows_weight_gradient(np.ones((4, 2), np.float32), image, 3, 1) is None
    monkeypatch.setattr(numba_kernels, "blas_on_one_thread", lambda: True)
    np.testing.assert_array_equal(numba_kernels.rows_product(image, 3, 1, right), 27)
    x = np.random.default_rng(7).standard_normal((2, 8, 5, 5)).astype(np.float16)
    dy = np.ones((2, 6, 3, 3), np.float16)
    reference, _ = channels_last_conv("numpy", x, dy, 1, 0)
    declined, kept_rows = channels_last_conv("numba", x, dy, 1, 0)
    assert kept_rows  # NumPy's code ran, with NumPy's bits
    for a, b in zip(reference, declined, strict=True):
        np.testing.assert_array_equal(bits(a), bits(b))


def sparse_gradient(rng, shape, share, dtype):
    """An output gradient with about ``share`` of its entries non-zero, as after max pooling."""
    dy = rng.standard_normal(shape).astype(dtype)
    dy[rng.random(shape) >= share] = 0
    return dy


def conv_backward(kernel_name, x, dy, stride=1, padding=0, bias=True, input_grad=True):
    """A 3x3 convolution's input, weight and bias gradients (no bias gradient without a bias);
    channels-last from 8 input channels."""
    with engine.using(kernel_name):
        layer = bn.Conv2D(
            x.shape[1], dy.shape[1], 3, stride=stride, padding=padding, bias=bias,
            rng=np.random.default_rng(4),
        )  # fmt: skip
        layer.astype(x.dtype)
        layer.forward(x)
        if input_grad:
            dx = layer.backward(dy)
        else:  # a first layer: its parameters' gradients alone
            engine.conv.parameter_gradients(layer, dy)
            dx = np.empty((0, x.shape[1], 0, 0), x.dtype)
    return [dx, *layer.grads.values()]


@pytest.fixture
def sparse_answers(monkeypatch):
    """What ``sparse_rows_backward`` answered in each call (None where it declined)."""
    answers = []

    def spy(*args):
        answers.append(numba_kernels.sparse_rows_backward(*args))
        return answers[-1]

    monkeypatch.setitem(numba_kernels.KERNELS, "sparse_rows_backward", spy)
    return answers


@channels_last_cases
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_backward_gives_numpys_gradients_but_for_rounding(
    n, stride, padding, size, dtype, sparse_answers
):
    """About 15% of the entries non-zero: per window and per channel, counts of non-zero
    entries with four-term passes and entries left over."""
    rng = np.random.default_rng(8)
    out = (size + 2 * padding - 3) // stride + 1
    x = rng.standard_normal((n, 8, size, size)).astype(dtype)
    dy = sparse_gradient(rng, (n, 6, out, out), 0.15, dtype)
    reference = conv_backward("numpy", x, dy, stride, padding)
    compiled = conv_backward("numba", x, dy, stride, padding)
    assert len(sparse_answers) == 1 and sparse_answers[0] is not None
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for a, b in zip(reference, compiled, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(b, a, rtol=tolerance, atol=tolerance)
    if n:
        assert np.abs(compiled[1]).min() > 0  # every tap of every filter received a gradient


@pytest.mark.parametrize(("bias", "input_grad"), [(False, True), (True, False)])
def test_sparse_backward_without_a_bias_or_an_input_gradient(bias, input_grad, sparse_answers):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((3, 8, 7, 7)).astype(np.float32)
    dy = sparse_gradient(rng, (3, 5, 5, 5), 0.15, np.float32)
    reference = conv_backward("numpy", x, dy, bias=bias, input_grad=input_grad)
    compiled = conv_backward("numba", x, dy, bias=bias, input_grad=input_grad)
    assert sparse_answers[0] is not None and len(compiled) == 2 + bias
    assert compiled[0].size == 0 if not input_grad else compiled[0].shape == x.shape
    for a, b in zip(reference, compiled, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)


def test_one_non_zero_entry_sends_back_exactly_its_window_and_its_filter(sparse_answers):
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 8, 6, 6)).astype(np.float32)
    dy = np.zeros((2, 4, 4, 4), np.float32)
    dy[1, 2, 3, 1] = -1.5
    dx, weight_grad, bias_grad = conv_backward("numba", x, dy)
    assert sparse_answers[0] is not None
    reference = conv_backward("numpy", x, dy)
    np.testing.assert_array_equal(weight_grad[2], -1.5 * x[1, :, 3:6, 1:4])
    np.testing.assert_array_equal(np.delete(weight_grad, 2, axis=0), 0)
    np.testing.assert_array_equal(bias_grad, [0, 0, -1.5, 0])
    for a, b in zip(reference, (dx, weight_grad, bias_grad), strict=True):
        np.testing.assert_array_equal(b, a)  # adding zeros changes nothing: NumPy's numbers


def test_sparse_backward_spreads_nans_like_numpy(sparse_answers):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 8, 7, 7)).astype(np.float32)
    dy = sparse_gradient(rng, (2, 6, 5, 5), 0.15, np.float32)
    dy[1, 4, 2, 3] = np.nan
    reference, compiled = (conv_backward(name, x, dy) for name in ("numpy", "numba"))
    assert sparse_answers[0] is not None
    for a, b in zip(reference, compiled, strict=True):
        np.testing.assert_array_equal(np.isnan(b), np.isnan(a))
    assert np.isnan(compiled[1][4]).all() and np.isnan(compiled[0][1, :, 2:5, 3:6]).all()


def test_sparse_backward_declines_dense_gradients_and_other_dtypes(sparse_answers, monkeypatch):
    image, weight = np.ones((1, 5, 5, 8), np.float32), np.ones((4, 8, 3, 3), np.float32)
    dy = np.zeros((1, 4, 3, 3), np.float32)
    dy.reshape(-1)[:7] = 1  # 7 entries of 36, under a fifth
    assert numba_kernels.sparse_rows_backward(dy, image, weight, 1, True) is not None
    dy.reshape(-1)[7] = 1  # one more
    assert numba_kernels.sparse_rows_backward(dy, image, weight, 1, True) is None
    dy.reshape(-1)[7] = 0
    assert numba_kernels.sparse_rows_backward(dy.astype(np.float16), image, weight, 1, True) is None
    assert numba_kernels.sparse_rows_backward(dy, image.astype(np.float64), weight, 1, True) is None
    # ... and a layer then runs its NumPy code: a dense gradient gives NumPy's bits.
    rng = np.random.default_rng(12)
    x = rng.standard_normal((2, 8, 5, 5)).astype(np.float32)
    dense = rng.standard_normal((2, 6, 3, 3)).astype(np.float32)
    monkeypatch.setattr(numba_kernels, "blas_on_one_thread", lambda: False)  # blocks decline
    reference, declined = (conv_backward(name, x, dense) for name in ("numpy", "numba"))
    assert sparse_answers == [None]
    for a, b in zip(reference, declined, strict=True):
        np.testing.assert_array_equal(bits(a), bits(b))


def first_conv_gradients(kernel_name, x, dy, bias=True):
    """The parameter gradients by name."""
    _, *grads = conv_backward(kernel_name, x, dy, bias=bias)
    return dict(zip(("weight", "bias"), grads, strict=False))


@pytest.mark.parametrize(
    ("n", "channels", "filters", "size"),
    [
        (3, 1, 8, 10),  # 9 taps: two 4x4 tiles across and one tap left over
        (2, 3, 6, 9),  # 6 filters: one tile down and two rows left over
        (1, 2, 4, 5),  # 9 columns, fewer than a chunk
        (5, 1, 3, 12),  # fewer filters than a tile
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weight_gradient_gives_numpys_gradients_but_for_rounding(
    n, channels, filters, size, dtype, monkeypatch
):
    """Chunks of 16 columns (a last one shorter): the sums run in another order than NumPy's."""
    monkeypatch.setattr(numba_kernels, "WEIGHT_GRADIENT_CHUNK_BYTES", 16 * np.dtype(dtype).itemsize)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, channels, size, size)).astype(dtype)
    dy = rng.standard_normal((n, filters, size - 2, size - 2)).astype(dtype)
    reference, compiled = (first_conv_gradients(name, x, dy) for name in ("numpy", "numba"))
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for name in ("weight", "bias"):
        assert compiled[name].dtype == reference[name].dtype
        np.testing.assert_allclose(compiled[name], reference[name], rtol=tolerance, atol=tolerance)
        assert not np.array_equal(compiled[name], 0)


def test_weight_gradient_spreads_nans_and_infinities_like_numpy():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 1, 7, 7)).astype(np.float32)
    dy = rng.standard_normal((2, 6, 5, 5)).astype(np.float32)
    dy[0, 1, 2, 2], dy[1, 5, 0, 0] = np.nan, np.inf  # a tiled filter and one left over
    x[1, 0, 6, 6] = -np.inf  # in one column of cols: inf * dy's values of both signs
    with np.errstate(invalid="ignore"):  # inf - inf, as NumPy's product computes too
        reference, compiled = (first_conv_gradients(name, x, dy) for name in ("numpy", "numba"))
    for name in ("weight", "bias"):
        np.testing.assert_array_equal(np.isnan(compiled[name]), np.isnan(reference[name]))
        np.testing.assert_array_equal(np.isinf(compiled[name]), np.isinf(reference[name]))
    assert np.isnan(compiled["weight"][1]).all() and np.isnan(compiled["bias"][1])


def test_weight_gradient_declines_what_it_does_not_handle():
    dy_rows, cols = np.ones((4, 10), np.float32), np.ones((9, 10), np.float32)
    grad = np.full((4, 9), 7, np.float32)
    assert not numba_kernels.weight_gradient(dy_rows.astype(np.float16), cols, grad, None)
    assert not numba_kernels.weight_gradient(dy_rows, cols.astype(np.float64), grad, None)
    strided = np.ones((9, 20), np.float32)[:, ::2]
    assert not numba_kernels.weight_gradient(dy_rows, strided, grad, None)
    np.testing.assert_array_equal(grad, 7)  # untouched
    assert numba_kernels.weight_gradient(dy_rows, cols, grad, None)
    np.testing.assert_array_equal(grad, 10)
    # ... and a layer then runs its NumPy code: float16 gives NumPy's bits.
    x = np.random.default_rng(3).standard_normal((2, 1, 6, 6)).astype(np.float16)
    dy = np.ones((2, 4, 4, 4), np.float16)
    reference, declined = (first_conv_gradients(name, x, dy, False) for name in ("numpy", "numba"))
    np.testing.assert_array_equal(bits(reference["weight"]), bits(declined["weight"]))


def small_cnn():
    rng = np.random.default_rng(0)
    return bn.Sequential(
        [
            bn.Reshape((1, 14, 14)),
            bn.Conv2D(1, 8, 3, rng=rng),
            bn.MaxPool2D(2),
            bn.ReLU(),
            bn.Conv2D(8, 8, 3, rng=rng),
            bn.MaxPool2D(2),
            bn.ReLU(),
            bn.Flatten(),
            bn.Dense(32, 3, rng=rng),
        ]
    ).compile("cross_entropy", bn.Adam(1e-2))


def train_small_cnn(kernel_name, threads):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((192, 196)).astype(np.float32)
    y = rng.integers(0, 3, 192)
    with engine.using(kernel_name, threads=threads):
        model = small_cnn()
        model.fit(x, y, epochs=2, batch_size=64, verbose=0, seed=0)
    return [p for layer in model.layers for p in layer.params.values()]


@pytest.mark.parametrize("threads", [1, 2])
def test_training_a_cnn_gives_the_same_weights_bit_for_bit(threads, monkeypatch):
    """Every kernel but those whose sums may run in another order: ``rows_to_image`` and
    ``rows_product`` (their blocks' products), ``rows_weight_gradient``, ``weight_gradient``
    and ``sparse_rows_backward``."""
    pytest.importorskip("threadpoolctl")
    reordering = ("rows_to_image", "rows_product", "rows_weight_gradient", "weight_gradient")
    for name in (*reordering, "sparse_rows_backward"):
        monkeypatch.delitem(numba_kernels.KERNELS, name)
    reference, compiled = train_small_cnn("numpy", threads), train_small_cnn("numba", threads)
    for a, b in zip(reference, compiled, strict=True):
        np.testing.assert_array_equal(bits(a), bits(b))


@pytest.mark.parametrize("threads", [1, 2])
def test_training_a_cnn_with_every_kernel_gives_the_same_weights_but_for_rounding(threads):
    """The weights differ by rounding alone (at most 6e-8 here for weights of about 0.1 to 1,
    measured with OpenBLAS's SkylakeX and Haswell kernels)."""
    pytest.importorskip("threadpoolctl")
    reference, compiled = train_small_cnn("numpy", threads), train_small_cnn("numba", threads)
    for a, b in zip(reference, compiled, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
