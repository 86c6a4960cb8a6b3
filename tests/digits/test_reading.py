"""Reading digits: one path from an image to probabilities and top guesses, shared by the CLI,
the web API and the report."""

import io

import numpy as np
import pytest
from PIL import Image

from barenet.datasets import load_mnist
from barenet.digits.imaging import BlankImageError, load_digit
from barenet.digits.reading import explain_digit, read_digit, read_digits


@pytest.fixture(scope="module")
def first_test_digits():
    (_, _), (x_test, y_test) = load_mnist()
    return x_test[:20], y_test[:20]


def png_of(pixels, scale=6):
    """An MNIST digit as a person's drawing: dark ink on white, larger."""
    buffer = io.BytesIO()
    Image.fromarray(255 - pixels).resize((28 * scale, 28 * scale)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_readings_of_a_batch(shipped_model, first_test_digits):
    images, labels = first_test_digits
    readings = read_digits(shipped_model, images)
    assert readings.probabilities.shape == (20, 10)
    np.testing.assert_allclose(readings.probabilities.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(readings.digits, readings.probabilities.argmax(axis=1))
    np.testing.assert_array_equal(readings.confidence, readings.probabilities.max(axis=1))
    assert (readings.digits == labels).mean() >= 0.95
    top = readings.top(3)
    assert top.shape == (20, 3) and (top[:, 0] == readings.digits).all()
    ranked = np.take_along_axis(readings.probabilities, top, axis=1)
    assert (np.diff(ranked, axis=1) <= 0).all()  # most probable first


def test_one_image_goes_through_the_same_preprocessing(shipped_model, first_test_digits, tmp_path):
    data = png_of(first_test_digits[0][0])
    path = tmp_path / "seven.png"
    path.write_bytes(data)
    from_file = read_digit(shipped_model, path)
    from_bytes = read_digit(shipped_model, io.BytesIO(data), name="upload")
    np.testing.assert_array_equal(from_file.inputs[0], load_digit(path))
    np.testing.assert_array_equal(from_file.inputs, from_bytes.inputs)
    np.testing.assert_array_equal(from_file.probabilities, from_bytes.probabilities)
    assert from_file.digits[0] == first_test_digits[1][0]


def test_errors_name_the_image(shipped_model):
    blank = io.BytesIO()
    Image.new("L", (50, 50), 255).save(blank, format="PNG")
    blank.seek(0)
    with pytest.raises(BlankImageError, match="^my drawing: no ink found"):
        read_digit(shipped_model, blank, name="my drawing")


def test_explaining_a_digit_agrees_with_reading_it(shipped_model, first_test_digits):
    data = png_of(first_test_digits[0][1])
    reading = read_digit(shipped_model, io.BytesIO(data))
    explanation = explain_digit(shipped_model, io.BytesIO(data))
    np.testing.assert_array_equal(explanation.inputs.astype(np.uint8), reading.inputs)
    np.testing.assert_allclose(explanation.probabilities, reading.probabilities, atol=1e-6)
    assert explanation.targets[0] == reading.digits[0] == first_test_digits[1][1]
    assert len(explanation.layers) == len(shipped_model.layers)
    assert explanation.saliency.shape == (1, 28, 28) and np.abs(explanation.saliency).max() > 0
    with pytest.raises(BlankImageError, match="^the pad: no ink found"):
        explain_digit(shipped_model, io.BytesIO(png_blank()), name="the pad")


def png_blank():
    buffer = io.BytesIO()
    Image.new("L", (50, 50), 255).save(buffer, format="PNG")
    return buffer.getvalue()
