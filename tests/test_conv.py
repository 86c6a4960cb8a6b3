"""Conv2D, pooling and Reshape: against naive loops, central differences and files."""

import numpy as np
import pytest

import barenet as bn
from barenet.conv import col2im, im2col
from barenet.engine import conv as engine_conv
from barenet.engine.conv import im2row, rows_to_image

TOLERANCE = 1e-6


def naive_conv(x, weight, bias, stride, padding):
    """The textbook definition, one output value at a time (the oracle for Conv2D)."""
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, _, h, w = x.shape
    o, _, k, _ = weight.shape
    oh, ow = (h - k) // stride + 1, (w - k) // stride + 1
    y = np.zeros((n, o, oh, ow))
    for a in range(n):
        for b in range(o):
            for i in range(oh):
                for j in range(ow):
                    patch = x[a, :, i * stride : i * stride + k, j * stride : j * stride + k]
                    y[a, b, i, j] = np.sum(patch * weight[b]) + bias[b]
    return y


def naive_pool(x, k, stride, reduce):
    n, c, h, w = x.shape
    oh, ow = (h - k) // stride + 1, (w - k) // stride + 1
    y = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            y[:, :, i, j] = reduce(
                x[:, :, i * stride : i * stride + k, j * stride : j * stride + k], axis=(2, 3)
            )
    return y


@pytest.fixture(params=["reference", "numpy", "channels-last"])
def wing(request, monkeypatch):
    """Each test below runs on the textbook alone, on the engine's NumPy code, and on the engine
    with every convolution channels-last (im2row), as one with many input channels is."""
    if request.param == "channels-last":
        monkeypatch.setattr(engine_conv, "CHANNELS_LAST_FROM", 1)
    with bn.engine.using("reference" if request.param == "reference" else "numpy"):
        yield request.param


LAYERS = {
    "conv": lambda rng: bn.Conv2D(2, 3, 3, rng=rng),
    "conv_stride_padding": lambda rng: bn.Conv2D(2, 3, 3, stride=2, padding=1, rng=rng),
    "conv_no_bias": lambda rng: bn.Conv2D(2, 2, 2, bias=False, rng=rng),
    "max_pool": lambda rng: bn.MaxPool2D(2),
    "max_pool_overlapping": lambda rng: bn.MaxPool2D(3, stride=2),
    "max_pool_gaps": lambda rng: bn.MaxPool2D(2, stride=3),
    "max_pool_one_wide": lambda rng: bn.MaxPool2D(1, stride=2),
    "avg_pool": lambda rng: bn.AvgPool2D(2),
    "avg_pool_overlapping": lambda rng: bn.AvgPool2D(3, stride=1),
    "avg_pool_gaps": lambda rng: bn.AvgPool2D(2, stride=3),
    "batch_norm_2d": lambda rng: bn.BatchNorm2d(2),
    "reshape": lambda rng: bn.Reshape((10, 5, 1)),
    "flatten": lambda rng: bn.Flatten(),
}


def tiny_cnn(rng, dtype="float32"):
    # No bias before batch norm: in training it is subtracted again with the mean (its gradient
    # is exactly 0, so a relative error against finite-difference noise would be meaningless).
    return bn.Sequential(
        [
            bn.Reshape((1, 8, 8)),
            bn.Conv2D(1, 3, 3, padding=1, bias=False, rng=rng),
            bn.BatchNorm2d(3),
            bn.ReLU(),
            bn.MaxPool2D(2),
            bn.Conv2D(3, 4, 3, rng=rng),
            bn.Tanh(),
            bn.AvgPool2D(2),
            bn.Flatten(),
            bn.Dense(4, 5, bias=False, rng=rng),
            bn.BatchNorm1d(5),
            bn.Tanh(),
            bn.Dense(5, 3, rng=rng),
            bn.Softmax(),
        ],
        dtype=dtype,
    ).compile("cross_entropy", "adam")


@pytest.mark.parametrize("stride, padding", [(1, 0), (1, 2), (2, 1), (3, 0)])
def test_conv2d_matches_the_definition(stride, padding, wing, rng):
    layer = bn.Conv2D(3, 4, 3, stride=stride, padding=padding, rng=rng).astype(np.float64)
    layer.params["bias"][:] = rng.standard_normal(4)
    x = rng.standard_normal((2, 3, 7, 8))
    expected = naive_conv(x, layer.weight, layer.params["bias"], stride, padding)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("k, stride", [(2, 2), (3, 2), (2, 1), (3, 3), (1, 2)])
def test_pooling_matches_the_definition(k, stride, wing, rng):
    x = rng.standard_normal((2, 3, 7, 8))
    np.testing.assert_allclose(bn.MaxPool2D(k, stride).forward(x), naive_pool(x, k, stride, np.max))
    np.testing.assert_allclose(
        bn.AvgPool2D(k, stride).forward(x), naive_pool(x, k, stride, np.mean)
    )


def test_im2col_and_col2im_are_adjoint(rng):
    """<im2col(x), c> == <x, col2im(c)> for every x and c: the backward pass is the transpose."""
    x = rng.standard_normal((2, 3, 6, 7))
    cols = im2col(x, 3, 2)
    c = rng.standard_normal(cols.shape)
    assert np.isclose(np.sum(cols * c), np.sum(x * col2im(c, x.shape, 3, 2)))
    # Channels-last: <im2row(x) @ W_rows^T, d> == <x, rows_to_image(d, W)> for every x and d.
    nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    rows = im2row(nhwc, 3, 2)
    weight = rng.standard_normal((4, 3, 3, 3))  # (O, C, k, k)
    weight_rows = weight.transpose(0, 2, 3, 1).reshape(4, -1)  # (O, kh*kw*C), im2row's order
    d = rng.standard_normal((rows.shape[0], 4))
    image = rows_to_image(d, weight, nhwc.shape, 2)
    assert image.shape == nhwc.shape
    assert np.isclose(np.sum((rows @ weight_rows.T) * d), np.sum(nhwc * image))
    # The same windows, transposed and in (kh, kw, c) order.
    as_cols = rows.reshape(-1, 3, 3, 3).transpose(3, 1, 2, 0).reshape(27, -1)
    np.testing.assert_array_equal(as_cols, cols)


def test_max_pool_sends_the_gradient_to_one_maximum():
    x = np.array([[[[1.0, 5.0], [5.0, 2.0]]]])  # a tie between (0, 1) and (1, 0): left wins
    pool = bn.MaxPool2D(2)
    assert pool.forward(x).item() == 5.0
    np.testing.assert_array_equal(pool.backward(np.ones((1, 1, 1, 1))), [[[[0, 0], [1, 0]]]])


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_image_layer_gradients(name, wing, rng):
    layer = LAYERS[name](rng)
    # Distinct values, so that no max-pool window holds a tie within a finite-difference step.
    x = rng.permutation(2 * 2 * 5 * 5).reshape(2, 2, 5, 5) / 10.0
    if layer.params:
        for value in layer.params.values():
            value[...] = rng.standard_normal(value.shape)
    errors = bn.gradient_errors(layer, x, rng=rng)
    assert set(errors) == {"input", *layer.params}
    assert max(errors.values()) < TOLERANCE, errors


def test_whole_cnn_gradients(rng):
    model = tiny_cnn(rng, "float64")
    X = rng.standard_normal((6, 64))
    errors = bn.gradient_errors(model, X, np.array([0, 1, 2, 0, 1, 2]))
    assert len(errors) == 1 + 10  # the input, 2 convs, 2 BNs, 2 denses (2 without bias)
    assert max(errors.values()) < TOLERANCE, errors


def test_cnn_learns_and_round_trips_through_a_file(rng, tmp_path):
    X = rng.standard_normal((120, 64)).astype(np.float32)
    y = (X[:, :32].sum(axis=1) > X[:, 32:].sum(axis=1)).astype(int)
    model = tiny_cnn(rng)
    before = model.evaluate(X, y)["loss"]
    model.fit(X, y, epochs=15, batch_size=16, verbose=0, seed=0)
    assert model.evaluate(X, y)["loss"] < 0.5 * before
    loaded = bn.load_model(model.save(tmp_path / "cnn.npz"))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    buffers = dict(loaded.buffers())
    assert set(buffers) == {f"layers.{i}.running_{s}" for i in (2, 10) for s in ("mean", "var")}
    np.testing.assert_array_equal(
        buffers["layers.2.running_var"], model.layers[2].buffers["running_var"]
    )
    assert [repr(layer) for layer in loaded.layers] == [repr(layer) for layer in model.layers]


@pytest.mark.parametrize(
    "layer, shape, message",
    [
        (
            lambda: bn.Conv2D(3, 4, 3),
            (2, 1, 8, 8),
            r"Conv2D\(in_channels=3\) expected input of shape \(N, 3, H, W\), got \(2, 1, 8, 8\)",
        ),
        (lambda: bn.Conv2D(1, 4, 5), (2, 1, 3, 3), "needs images of at least 5x5"),
        (lambda: bn.MaxPool2D(2), (2, 8, 8), r"MaxPool2D expected input of shape \(N, C, H, W\)"),
        (lambda: bn.AvgPool2D(4), (2, 1, 3, 3), "at least 4x4"),
        (lambda: bn.BatchNorm2d(3), (2, 4, 5, 5), r"expected input of shape \(N, 3, H, W\)"),
        (lambda: bn.BatchNorm1d(3), (2, 4), r"expected input of shape \(N, 3\)"),
        (lambda: bn.Reshape((1, 28, 28)), (2, 780), "784 values per sample"),
    ],
)
def test_wrong_input_shapes_are_named(layer, shape, message):
    with pytest.raises(ValueError, match=message):
        layer().forward(np.zeros(shape, np.float32))


def test_bad_constructor_arguments_are_refused():
    with pytest.raises(ValueError, match="positive integer kernel_size"):
        bn.Conv2D(1, 2, 0)
    with pytest.raises(ValueError, match="padding >= 0"):
        bn.Conv2D(1, 2, 3, padding=-1)
    with pytest.raises(ValueError, match="positive integer stride"):
        bn.MaxPool2D(2, stride=0)
    with pytest.raises(ValueError, match=r"momentum in \(0, 1\]"):
        bn.BatchNorm1d(4, momentum=0)
    with pytest.raises(ValueError, match="batch size of at least 2"):
        bn.BatchNorm1d(4).forward(np.zeros((1, 4), np.float32), training=True)
