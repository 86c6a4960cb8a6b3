"""Sequential: dtypes, batching, prediction helpers, parameters, summary and backward."""

import numpy as np
import pytest

import barenet as bn
from tests.helpers import blobs, small_model


def test_float64_models_compute_in_float64(rng):
    X, y = blobs(rng)
    model = bn.Sequential([bn.Dense(5, 3, rng=rng)], dtype="float64").compile(
        "cross_entropy", "sgd"
    )
    model.fit(X, y, epochs=1, verbose=0)
    assert model.layers[0].weight.dtype == np.float64
    assert model.predict(X.astype(np.float32)).dtype == np.float64
    assert small_model(rng).predict(X).dtype == np.float32


def test_uint8_inputs_are_converted_per_batch(rng):
    X = rng.integers(0, 256, (40, 3, 3)).astype(np.uint8)
    y = (X.reshape(40, -1).mean(axis=1) > 127).astype(int)
    model = bn.Sequential([bn.Flatten(), bn.Rescaling(1 / 255), bn.Dense(9, 2, rng=rng)])
    model.compile("cross_entropy", "adam").fit(X, y, epochs=2, verbose=0)
    assert model.predict(X).shape == (40, 2)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_raw_pixels_reach_a_first_rescaling_as_integers_with_the_same_result(dtype, rng):
    """predict() and fit() hand integer pixels to a model's first Rescaling unconverted (one pass
    instead of two): exactly what converting first gives, in the model's dtype."""
    X = rng.integers(0, 256, (30, 28, 28)).astype(np.uint8)
    model = bn.Sequential(
        [bn.Reshape((1, 28, 28)), bn.Rescaling(1 / 127.5, -1.0), bn.Flatten(), bn.Dense(784, 3)],
        dtype=dtype,
    )
    seen = []
    rescaling = model.layers[1]
    original = rescaling.forward
    rescaling.forward = lambda x, training=False: seen.append(x.dtype) or original(x, training)
    raw = model.predict(X, batch_size=16)
    assert seen == [np.uint8, np.uint8]
    converted = model.predict(X.astype(dtype))
    assert raw.dtype == np.dtype(dtype) and seen[-1] == np.dtype(dtype)
    np.testing.assert_array_equal(raw, converted)
    # Training takes them the same way: the same weights as from pixels converted first.
    y = rng.integers(0, 3, len(X))
    trained = []
    for pixels in (X, X.astype(dtype)):
        copy = bn.Sequential.from_config(model.get_config())
        copy.set_weights(model.get_weights())
        copy.compile("cross_entropy", "sgd").fit(
            pixels, y, epochs=1, batch_size=8, verbose=0, seed=0
        )
        trained.append(copy.get_weights())
    for raw_weights, converted_weights in zip(*trained, strict=True):
        np.testing.assert_array_equal(raw_weights, converted_weights)


def test_unknown_names_list_the_valid_ones(rng):
    with pytest.raises(ValueError, match="Unknown loss 'hinge'. Expected one of: binary_cross"):
        small_model(rng).compile("hinge", "sgd")
    with pytest.raises(ValueError, match="Unknown activation 'gelu'. Expected one of: leaky_relu"):
        bn.get_activation("gelu")
    with pytest.raises(
        ValueError, match="Unknown initializer 'orthogonal'. Expected one of: glorot, he"
    ):
        bn.Dense(2, 2, init="orthogonal")
    with pytest.raises(ValueError, match="dtype in"):
        bn.Sequential(dtype="float16")


def test_predict_helpers(rng):
    X, y = blobs(rng)
    model = small_model(rng)
    model.fit(X, y, epochs=5, verbose=0)
    proba = model.predict_proba(X)
    assert proba.shape == (300, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(model.predict_classes(X), proba.argmax(axis=1))
    np.testing.assert_array_equal(model.predict(X, batch_size=7), model.predict(X))


def test_parameters_and_summary(rng, capsys):
    model = small_model(rng)
    names = [name for name, _, _ in model.parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]
    text = model.summary()
    assert "Total parameters: 147" in text  # 5*16 + 16 + 16*3 + 3
    assert "(None, 16)" in text
    assert text in capsys.readouterr().out


def test_a_loaded_model_remembers_its_optimizer(tmp_path, rng):
    from barenet.schedules import CosineDecay

    X, y = rng.normal(size=(60, 5)), rng.integers(0, 3, 60)
    model = bn.Sequential([bn.Dense(5, 8, rng=rng), bn.ReLU(), bn.Dense(8, 3, rng=rng)])
    model.compile("cross_entropy", bn.Adam(CosineDecay(0.01, 50), weight_decay=1e-4))
    model.fit(X, y, epochs=2, batch_size=16, verbose=0, seed=0)
    model.save(tmp_path / "full.npz")
    loaded = bn.load_model(tmp_path / "full.npz")
    assert repr(loaded.optimizer) == repr(model.optimizer)
    assert loaded.optimizer.iterations == model.optimizer.iterations == 8
    # Its state came back too: one more epoch gives the same weights as the original's.
    model.fit(X, y, epochs=1, batch_size=16, verbose=0, seed=1)
    loaded.fit(X, y, epochs=1, batch_size=16, verbose=0, seed=1)
    for ours, theirs in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    # Without its state the optimizer starts afresh, and the file is smaller.
    model.save(tmp_path / "light.npz", include_optimizer=False)
    light = bn.load_model(tmp_path / "light.npz")
    assert repr(light.optimizer) == repr(model.optimizer) and light.optimizer.iterations == 0
    assert (tmp_path / "light.npz").stat().st_size < (tmp_path / "full.npz").stat().st_size


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"optimizer": {"class": "Lion", "config": {}}}, "Unknown optimizer class 'Lion'"),
        ({"optimizer": {"class": "Adam", "config": {"learning_rate": "fast"}}}, "optimizer"),
        ({"training": [1, 2]}, "not a JSON object"),
        ({"training": {"epoch": -1, "generators": {}}}, "no valid epoch"),
        (
            {"training": {"epoch": 1, "generators": {}, "rng": {"bit_generator": "MT19937"}}},
            "PCG64",
        ),
    ],
)
def test_a_damaged_optimizer_or_training_state_is_a_clear_error(tmp_path, rng, change, message):
    from barenet.saving import read_model_file, write_model_file

    model = bn.Sequential([bn.Flatten(), bn.Dense(4, 2, rng=rng)]).compile("mse", "adam")
    model.save(tmp_path / "good.npz")
    arrays, description = read_model_file(tmp_path / "good.npz")
    for key in ("format", "format_version", "barenet_version"):
        description.pop(key, None)
    write_model_file(tmp_path / "bad.npz", arrays, {**description, **change})
    with pytest.raises(bn.ModelFileError, match=message):
        bn.load_model(tmp_path / "bad.npz")


def test_prediction_batches_keep_the_widest_layer_output_near_the_cache_size(rng):
    """Dense networks predict in batches of 1024; one whose first convolution outputs 74 kB a
    sample in batches of 32 (4 MB / 74 kB, down to a power of two); an ensemble of such CNNs
    too. The batch size changes the speed, not the predictions (beyond float32 rounding: the
    matrix products add up in another order)."""
    from barenet.ensemble import ensemble

    X = rng.integers(0, 256, (300, 28, 28)).astype(np.uint8)
    dense = bn.Sequential([bn.Flatten(), bn.Rescaling(1 / 255), bn.Dense(784, 800, rng=rng)])
    cnn = bn.Sequential(
        [
            *[bn.Reshape((1, 28, 28)), bn.Rescaling(1 / 255), bn.Conv2D(1, 32, 5, rng=rng)],
            *[bn.MaxPool2D(2), bn.ReLU(), bn.Flatten(), bn.Dense(32 * 12 * 12, 10, rng=rng)],
            bn.Softmax(),
        ]
    )
    assert dense.inference_batch_size(X) == 1024
    assert cnn.inference_batch_size(X) == 32
    assert ensemble([cnn, cnn]).inference_batch_size(X) == 32
    assert cnn.inference_batch_size(X[:5]) == 32  # a few samples: one batch, no probing
    np.testing.assert_allclose(cnn.predict(X), cnn.predict(X, batch_size=1000), atol=1e-5)
