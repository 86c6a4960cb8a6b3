"""ONNX export, run in onnxruntime: the same outputs as barenet for every layer kind and for the
shipped models on all 10,000 test images; what cannot be exported says so."""

import numpy as np
import pytest

import barenet as bn
from barenet.datasets import load_mnist

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def with_statistics(model, rng):
    """Batch norm with running statistics and affine weights that are not the defaults."""
    for layer in model.layers:
        if isinstance(layer, (bn.BatchNorm1d, bn.BatchNorm2d)):
            size = layer.num_features
            layer.buffers["running_mean"][...] = rng.normal(0, 0.5, size)
            layer.buffers["running_var"][...] = rng.uniform(0.5, 2.0, size)
            layer.params["weight"][...] = rng.uniform(0.5, 1.5, size)
            layer.params["bias"][...] = rng.normal(0, 0.3, size)
    model.input_shape = (28, 28)
    return model


def small_models(rng):
    return {
        "relu-dropout-softmax": [
            bn.Flatten(),
            bn.Rescaling(1 / 255),
            bn.Dense(784, 32, rng=rng),
            bn.ReLU(),
            bn.Dropout(0.3),
            bn.Dense(32, 10, rng=rng),
            bn.Softmax(),
        ],
        "tanh-leaky-sigmoid": [
            bn.Flatten(),
            bn.Rescaling(2 / 255, -1.0),
            bn.Dense(784, 16, rng=rng),
            bn.Tanh(),
            bn.Dense(16, 16, bias=False, rng=rng),
            bn.LeakyReLU(0.1),
            bn.Dense(16, 10, rng=rng),
            bn.Sigmoid(),
        ],
        "batchnorm1d-logits": [
            bn.Flatten(),
            bn.Rescaling(1 / 255),
            bn.Dense(784, 24, bias=False, rng=rng),
            bn.BatchNorm1d(24),
            bn.ReLU(),
            bn.Dense(24, 10, rng=rng),
        ],
        "cnn-every-image-layer": [
            bn.Reshape((1, 28, 28)),
            bn.Rescaling(1 / 255),
            bn.Conv2D(1, 4, 3, stride=2, padding=1, rng=rng),
            bn.BatchNorm2d(4),
            bn.ReLU(),
            bn.MaxPool2D(2),
            bn.Conv2D(4, 6, 3, rng=rng),
            bn.AvgPool2D(2, stride=1),
            bn.Flatten(),
            bn.Dense(6 * 4 * 4, 10, rng=rng),
            bn.Softmax(),
        ],
    }


def session(model, tmp_path):
    path = bn.export_onnx(model, tmp_path / "model.onnx")
    onnx.checker.check_model(onnx.load(path), full_check=True)
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def test_images():
    _, (x_test, _) = load_mnist()
    return x_test


@pytest.mark.parametrize("name", list(small_models(np.random.default_rng(0))))
def test_every_layer_kind_gives_barenets_outputs(name, tmp_path, test_images):
    rng = np.random.default_rng(1)
    model = with_statistics(bn.Sequential(small_models(rng)[name]), rng)
    runtime = session(model, tmp_path)
    for batch in (test_images[:1], test_images[:64]):  # the batch axis is dynamic
        (outputs,) = runtime.run(None, {"input": batch.astype(np.float32)})
        expected = model.predict(batch)
        assert outputs.shape == expected.shape and outputs.dtype == np.float32
        np.testing.assert_allclose(outputs, expected, atol=1e-5, rtol=1e-5)
        np.testing.assert_array_equal(outputs.argmax(axis=1), expected.argmax(axis=1))


def test_the_shipped_models_on_all_10000_test_images(shipped_model, tmp_path, test_images):
    runtime = session(shipped_model, tmp_path)
    (probabilities,) = runtime.run(None, {"input": test_images.astype(np.float32)})
    expected = shipped_model.predict_proba(test_images)
    np.testing.assert_array_equal(probabilities.argmax(axis=1), expected.argmax(axis=1))
    assert np.abs(probabilities - expected).max() < 1e-5


def test_an_ensemble_exports_as_its_members_and_their_mean(tmp_path, test_images):
    rng = np.random.default_rng(4)
    members = []
    for name in ("relu-dropout-softmax", "cnn-every-image-layer"):
        member = with_statistics(bn.Sequential(small_models(rng)[name]), rng)
        members.append(member)
    pair = bn.ensemble(members)
    (probabilities,) = session(pair, tmp_path).run(None, {"input": test_images[:64].astype("f4")})
    expected = np.mean([m.predict_proba(test_images[:64]) for m in members], axis=0)
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
    np.testing.assert_allclose(pair.predict_proba(test_images[:64]), expected, atol=1e-6)


def test_names_shapes_and_types_are_documented_ones(tmp_path):
    rng = np.random.default_rng(2)
    softmax = with_statistics(bn.Sequential(small_models(rng)["relu-dropout-softmax"]), rng)
    runtime = session(softmax, tmp_path)
    (given,), (answered,) = runtime.get_inputs(), runtime.get_outputs()
    assert (given.name, given.shape, given.type) == ("input", ["batch", 28, 28], "tensor(float)")
    assert (answered.name, answered.shape) == ("probabilities", ["batch", 10])
    logits = with_statistics(bn.Sequential(small_models(rng)["batchnorm1d-logits"]), rng)
    assert session(logits, tmp_path).get_outputs()[0].name == "output"
    double = bn.Sequential([bn.Flatten(), bn.Dense(784, 3, rng=rng)], dtype="float64")
    double.input_shape = (28, 28)
    assert session(double, tmp_path).get_inputs()[0].type == "tensor(double)"


def test_what_cannot_be_exported_says_so(tmp_path):
    rng = np.random.default_rng(3)
    custom = bn.Sequential(
        [
            bn.Flatten(),
            bn.Dense(784, 4, rng=rng),
            bn.Activation(np.tanh, lambda x: 1 - np.tanh(x) ** 2),
        ]
    )
    custom.input_shape = (28, 28)
    with pytest.raises(ValueError, match=r"Layer 2, a custom Activation\(fn, derivative\)"):
        bn.export_onnx(custom, tmp_path / "custom.onnx")
    assert not (tmp_path / "custom.onnx").exists()
    unshaped = bn.Sequential([bn.Dense(4, 2, rng=rng)])
    with pytest.raises(ValueError, match="needs an input_shape"):
        bn.export_onnx(unshaped, tmp_path / "unshaped.onnx")
    bn.export_onnx(unshaped, tmp_path / "shaped.onnx", input_shape=(4,))
    assert (tmp_path / "shaped.onnx").stat().st_size > 0
