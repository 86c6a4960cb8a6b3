"""POST /api/explain: every layer's output and the saliency, as the page draws them."""

import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from barenet import Dense, Flatten, ReLU, Rescaling, Sequential, Softmax, explain
from barenet.datasets import load_mnist
from barenet.digits.shipped import open_model
from barenet.web.app import create_app
from barenet.web.inside import first_dense_over_pixels, rounded


@pytest.fixture(scope="module")
def seven():
    _, (x_test, y_test) = load_mnist()
    assert y_test[0] == 7
    image = Image.fromarray(255 - x_test[0]).resize((280, 280), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def explained(name, data):
    model = open_model(name)[0]
    client = TestClient(create_app(model, name, hosts=["testserver"]))
    response = client.post("/api/explain", files={"file": ("seven.png", data, "image/png")})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    predicted = client.post("/api/predict", files={"file": ("seven.png", data, "image/png")})
    return model, response.json(), predicted.json()


@pytest.mark.parametrize("name", ["cnn", "mlp"])
def test_every_layer_in_order_with_its_shape_and_values(name, seven):
    model, answer, predicted = explained(name, seven)
    assert answer["digit"] == predicted["digit"] == answer["target"] == 7
    assert answer["input28"] == predicted["input28"]
    np.testing.assert_allclose(answer["probabilities"], predicted["probabilities"], atol=1e-6)
    assert [layer["name"] for layer in answer["layers"]] == [
        layer.label() for layer in model.layers
    ]
    expected = explain(model, np.array([predicted["input28"]], np.uint8))
    for view, output in zip(answer["layers"], expected.layers, strict=True):
        assert view["kind"] == output.kind and tuple(view["shape"]) == output.shape
        values = np.array(view["values"])
        assert values.shape == output.shape
        # Rounded to 4 significant digits of the layer's largest value.
        scale = np.abs(output.values[0]).max()
        np.testing.assert_allclose(values, output.values[0], atol=scale * 1e-3 + 1e-12)
    saliency = np.array(answer["saliency"])
    assert saliency.shape == (28, 28) and np.abs(saliency).max() > 0
    np.testing.assert_allclose(
        saliency, expected.saliency[0], atol=np.abs(expected.saliency).max() * 1e-3
    )
    assert answer["score"] == pytest.approx(float(expected.scores[0]), abs=1e-3)


def test_layers_carry_what_their_formulas_need(seven):
    model, answer, _ = explained("cnn", seven)
    norm = next(view for view in answer["layers"] if view["kind"] == "BatchNorm2d")
    layer = next(layer for layer in model.layers if type(layer).__name__ == "BatchNorm2d")
    assert set(norm["parameters"]) == {"weight", "bias", "running_mean", "running_var"}
    # Each to 6 significant digits, however small.
    np.testing.assert_allclose(
        norm["parameters"]["running_var"], layer.buffers["running_var"], 1e-5
    )
    assert norm["config"]["eps"] == layer.eps
    pool = next(view for view in answer["layers"] if view["kind"] == "MaxPool2D")
    assert pool["config"] == {"pool_size": 2, "stride": 2}
    last_dense = [view for view in answer["layers"] if view["kind"] == "Dense"][-1]
    assert len(last_dense["parameters"]["bias"]) == 10
    assert all("top_units" not in view for view in answer["layers"])  # a CNN starts with a conv


def test_a_dense_first_layer_shows_the_weights_of_its_strongest_units(seven):
    model, answer, _ = explained("mlp", seven)
    first = answer["layers"][2]
    assert first["kind"] == "Dense" and len(first["top_units"]) == 8
    values = np.array(first["values"])
    units = [entry["unit"] for entry in first["top_units"]]
    assert units == list(np.argsort(values)[::-1][:8])  # the 8 largest, largest first
    weight = model.layers[2].params["weight"]
    for entry in first["top_units"]:
        image = np.array(entry["weights"])
        assert image.shape == (28, 28)
        scale = np.abs(weight[:, entry["unit"]]).max()
        np.testing.assert_allclose(image.ravel(), weight[:, entry["unit"]], atol=scale * 1e-3)


def test_only_a_first_dense_layer_over_784_pixels_gets_weight_images(rng):
    pixels = rng.integers(0, 256, (1, 28, 28))
    over_pixels = Sequential([Flatten(), Rescaling(1 / 255), Dense(784, 5, rng=rng), Softmax()])
    assert first_dense_over_pixels(explain(over_pixels, pixels)) == 2
    halves = Sequential([Flatten(), Dense(784, 5, rng=rng), ReLU(), Dense(5, 3, rng=rng)])
    assert first_dense_over_pixels(explain(halves, pixels)) == 1
    small = Sequential([Flatten(), Dense(196, 3, rng=rng)])
    assert first_dense_over_pixels(explain(small, pixels[:, ::2, ::2])) is None


def test_rounding_keeps_four_significant_digits_of_the_largest_value():
    np.testing.assert_array_equal(
        rounded(np.array([123.456789, 0.0012345, -7.77777])), [123.5, 0.0, -7.8]
    )
    np.testing.assert_array_equal(rounded(np.array([1.23456e-5, 3e-9])), [1.235e-5, 0.0])
    np.testing.assert_array_equal(rounded(np.zeros(3, np.float32)), [0.0, 0.0, 0.0])
    assert rounded(np.float32([0.1])).dtype == np.float64
