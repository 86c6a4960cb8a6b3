"""Proof that the two wings agree: every method the engine replaces computes what its textbook
method computes (float64 to 1e-10, float32 within rounding), and whole training runs under
"reference", "numpy" and "numba" give the same losses and weights but for rounding."""

import numpy as np
import pytest

import barenet as bn
from barenet.engine import REPLACEMENTS, TEXTBOOK
from barenet.engine import conv as engine_conv

ENGINES = ["numpy", pytest.param("numba", marks=pytest.mark.skipif(
    bn.engine.default() != "numba", reason="Numba is not installed"))]  # fmt: skip
TOLERANCE = {np.float64: 1e-10, np.float32: 2e-5}


def run_layer(engine_name, make, x, dy, training=True):
    """The layer's output, input gradient and parameter gradients under ``engine_name``."""
    with bn.engine.using(engine_name, threads=1):
        layer = make().astype(x.dtype)
        y = layer.forward(x, training=training)
        dx = layer.backward(dy(y) if callable(dy) else dy)
        return [np.array(y), np.array(dx), *(np.array(g) for g in layer.grads.values())]


LAYERS = {
    "dense": (lambda: bn.Dense(7, 5, rng=np.random.default_rng(1)), (16, 7)),
    "dense_one_sample": (lambda: bn.Dense(7, 5, rng=np.random.default_rng(1)), (1, 7)),
    "conv_im2col": (lambda: bn.Conv2D(2, 4, 3, rng=np.random.default_rng(1)), (3, 2, 9, 9)),
    "conv_padding_stride": (
        lambda: bn.Conv2D(3, 4, 3, stride=2, padding=1, rng=np.random.default_rng(1)),
        (3, 3, 9, 8),
    ),
    "conv_channels_last": (
        lambda: bn.Conv2D(8, 6, 3, padding=1, rng=np.random.default_rng(1)),
        (4, 8, 7, 7),
    ),
    "conv_channels_last_no_bias": (
        lambda: bn.Conv2D(9, 5, 2, stride=2, bias=False, rng=np.random.default_rng(1)),
        (2, 9, 8, 8),
    ),
    "max_pool": (lambda: bn.MaxPool2D(2), (3, 4, 9, 8)),
    "max_pool_overlapping": (lambda: bn.MaxPool2D(3, stride=2), (3, 4, 9, 8)),
    "max_pool_gaps": (lambda: bn.MaxPool2D(2, stride=3), (3, 4, 9, 8)),
    "batch_norm_1d": (lambda: bn.BatchNorm1d(6), (10, 6)),
    "batch_norm_2d": (lambda: bn.BatchNorm2d(3), (4, 3, 5, 6)),
}


def upstream(seed):
    return lambda y: np.random.default_rng(seed).standard_normal(y.shape).astype(y.dtype)


@pytest.mark.parametrize("engine_name", ENGINES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_each_replaced_layer_computes_its_textbook_formula(name, training, dtype, engine_name):
    make, shape = LAYERS[name]
    # Distinct values: a max-pooling window never ties, so both wings pick one winner.
    x = np.random.default_rng(0).permutation(np.prod(shape)).reshape(shape) / np.prod(shape)
    x = (x - 0.5).astype(dtype)
    textbook = run_layer("reference", make, x, upstream(2), training)
    engine = run_layer(engine_name, make, x, upstream(2), training)
    for ours, theirs in zip(engine, textbook, strict=True):
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])


@pytest.mark.parametrize("engine_name", ENGINES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cross_entropy_of_class_ids_is_the_textbooks_bit_for_bit(dtype, engine_name):
    """The engine indexes the log-probabilities where the textbook multiplies by one-hot rows."""
    rng = np.random.default_rng(0)
    logits, labels = rng.standard_normal((9, 4)).astype(dtype), rng.integers(0, 4, 9)
    results = []
    for name in ("reference", engine_name):
        with bn.engine.using(name):
            loss = bn.CrossEntropy()
            results.append((loss.forward(logits, labels), loss.backward()))
    assert results[0][0] == results[1][0]
    np.testing.assert_array_equal(results[0][1], results[1][1])


@pytest.mark.parametrize("engine_name", ENGINES)
def test_max_pool_ties_go_to_the_same_input_in_both_wings(engine_name):
    """Windows of equal values (a ReLU's zeros): the leftmost column, then the top row."""
    x = np.zeros((2, 3, 6, 6), np.float32)
    x[:, :, ::3, 1::2] = 1.0  # ties across rows and columns inside windows
    dy = upstream(3)
    textbook = run_layer("reference", lambda: bn.MaxPool2D(2), x, dy)
    engine = run_layer(engine_name, lambda: bn.MaxPool2D(2), x, dy)
    for ours, theirs in zip(engine, textbook, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_channels_last_is_chosen_for_many_input_channels_only():
    """The engine's layout follows the channel count; both layouts were compared above."""
    many = engine_conv.CHANNELS_LAST_FROM
    with bn.engine.using("numpy"):
        wide, narrow = bn.Conv2D(many, 2, 3), bn.Conv2D(many - 1, 2, 3)
        wide.forward(np.zeros((1, many, 5, 5), np.float32))
        narrow.forward(np.zeros((1, many - 1, 5, 5), np.float32))
    assert wide._image is not None and narrow._image is None


@pytest.mark.parametrize("engine_name", ENGINES)
@pytest.mark.parametrize("name", ["conv_im2col", "conv_channels_last", "max_pool", "batch_norm_2d"])
def test_a_forward_pass_of_the_other_wing_is_never_mixed_up(name, engine_name):
    """Switching engines between forward and backward: the engine's backward of a textbook
    forward pass is the textbook's; the textbook's backward of an engine forward pass gives the
    textbook's numbers where the caches are the same (im2col) and refuses where they are not,
    never reading a cache of the engine's as its own."""
    make, shape = LAYERS[name]
    rng = np.random.default_rng(0)
    first, second = rng.standard_normal(shape), rng.standard_normal(shape)
    layer = make().astype(np.float64)
    with bn.engine.using(engine_name):
        layer.forward(first, training=True)
    with bn.engine.using("reference"):
        y = layer.forward(second, training=True)
    dy = rng.standard_normal(y.shape)
    with bn.engine.using(engine_name):
        dx = layer.backward(dy)
    with bn.engine.using("reference"):
        layer.forward(second, training=True)
        np.testing.assert_allclose(dx, layer.backward(dy), rtol=1e-12)
        fresh = make().astype(np.float64)
    with bn.engine.using(engine_name):
        y = fresh.forward(first, training=True)
    dy = rng.standard_normal(y.shape)
    with bn.engine.using("reference"):
        if name == "conv_im2col":  # the engine's columns are the textbook's
            dx = fresh.backward(dy)
            fresh.forward(first, training=True)
            np.testing.assert_allclose(dx, fresh.backward(dy), rtol=1e-12)
        else:
            with pytest.raises(AssertionError, match="before forward"):
                fresh.backward(dy)


def test_a_sharded_step_follows_a_model_changed_in_place():
    """A layer swapped or reconfigured between batches reaches every shard's replica."""
    from barenet.engine.training import forward_backward

    rng = np.random.default_rng(0)
    model = bn.Sequential(
        [bn.Conv2D(1, 4, 3, rng=rng), bn.ReLU(), bn.Flatten(),
         bn.Dropout(0.5, rng=np.random.default_rng(1)), bn.Dense(144, 3, rng=rng)],
        dtype="float64",
    ).compile("cross_entropy", "sgd")  # fmt: skip
    X, y = rng.standard_normal((64, 1, 8, 8)), rng.integers(0, 3, 64)
    gradients = []
    for threads in (2, 1):
        with bn.engine.using("numpy", threads=threads):
            forward_backward(model, X, y)
            model.layers[3].rate = 0.0  # no mask: the two runs draw nothing random
            model.layers[1] = bn.Tanh()
            forward_backward(model, X, y)
        gradients.append([grad.copy() for _, _, grad in model.parameters()])
    for ours, theirs in zip(*gradients, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_every_replacement_has_a_textbook_method_and_reference_puts_them_back():
    for (owner, name), function in REPLACEMENTS.items():
        with bn.engine.using("numpy"):
            assert getattr(owner, name) is function
        with bn.engine.using("reference"):
            assert owner.__dict__[name] is TEXTBOOK[owner, name]


def cnn(dropout_seed=3):
    rng = np.random.default_rng(0)
    return bn.Sequential(
        [
            bn.Rescaling(1 / 255),
            bn.Reshape((1, 10, 10)),
            bn.Conv2D(1, 8, 3, bias=False, rng=rng),  # no bias before batch norm
            bn.BatchNorm2d(8),
            bn.ReLU(),
            bn.MaxPool2D(2),
            bn.Conv2D(8, 8, 2, rng=rng),
            bn.ReLU(),
            bn.Flatten(),
            bn.Dropout(0.3, rng=np.random.default_rng(dropout_seed)),
            bn.Dense(72, 16, bias=False, rng=rng),
            bn.BatchNorm1d(16),
            bn.Tanh(),
            bn.Dense(16, 3, rng=rng),
            bn.Softmax(),
        ],
        dtype="float64",
    ).compile("cross_entropy", bn.Adam(1e-2))


def mlp():
    rng = np.random.default_rng(0)
    return bn.Sequential(
        [bn.Rescaling(1 / 255), bn.Dense(100, 32, rng=rng), bn.ReLU(), bn.Dense(32, 3, rng=rng)],
        dtype="float64",
    ).compile("cross_entropy", bn.SGD(0.05, momentum=0.9))


def train(engine_name, make, batch_size):
    rng = np.random.default_rng(1)
    X, y = rng.integers(0, 256, (96, 100)).astype(np.uint8), rng.integers(0, 3, 96)
    with bn.engine.using(engine_name, threads=1):  # one thread: the same Dropout masks
        model = make()
        history = model.fit(X, y, epochs=3, batch_size=batch_size, seed=0, verbose=0)
    return history.history["loss"], model.get_weights()


@pytest.mark.parametrize("engine_name", ENGINES)
@pytest.mark.parametrize(("make", "batch_size"), [(cnn, 16), (mlp, 1), (mlp, 32)])
def test_whole_training_runs_agree_but_for_rounding(make, batch_size, engine_name):
    losses, weights = train("reference", make, batch_size)
    engine_losses, engine_weights = train(engine_name, make, batch_size)
    np.testing.assert_allclose(engine_losses, losses, rtol=1e-9)
    for ours, theirs in zip(engine_weights, weights, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-9)
    assert not np.allclose(weights[1], make().get_weights()[1])  # it trained


@pytest.mark.parametrize("engine_name", ENGINES)
def test_the_shipped_models_predict_the_same_in_both_wings(shipped_model, engine_name):
    from barenet.datasets.load import load_data

    images = load_data().x_test[:200]
    with bn.engine.using("reference"):
        textbook = shipped_model.predict_proba(images)
    with bn.engine.using(engine_name):
        engine = shipped_model.predict_proba(images)
    np.testing.assert_allclose(engine, textbook, atol=1e-5)
    np.testing.assert_array_equal(engine.argmax(axis=1), textbook.argmax(axis=1))
