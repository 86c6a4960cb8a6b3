"""The web API, in-process with FastAPI's test client: predictions, metadata and every error."""

import base64
import io
import json
import zlib

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from barenet.datasets import load_mnist
from barenet.digits.imaging import load_digit
from barenet.digits.shipped import open_model
from barenet.web.app import create_app
from barenet.web.limits import MAX_BODY_BYTES


@pytest.fixture(scope="module")
def model():
    return open_model("cnn")[0]


@pytest.fixture(scope="module")
def client(model):
    return TestClient(create_app(model, "mnist-cnn.npz", hosts=["testserver"]))


def png_bytes(pixels, scale=8, dark_ink=True):
    """A 28x28 MNIST digit rendered large, dark ink on white paper as a drawing would be."""
    image = Image.fromarray(pixels).resize((28 * scale, 28 * scale), Image.Resampling.BILINEAR)
    if dark_ink:
        image = Image.fromarray(255 - np.asarray(image))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def data_url(data, kind="png"):
    return f"data:image/{kind};base64," + base64.b64encode(data).decode("ascii")


def blank_png(size=(200, 200)):
    buffer = io.BytesIO()
    Image.new("L", size, 255).save(buffer, format="PNG")
    return buffer.getvalue()


def huge_png(width, height):
    """A valid PNG header announcing ``width x height`` pixels, with almost no data behind it:
    the pixel limit must refuse it before any decoding."""

    def chunk(kind, data):
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return len(data).to_bytes(4, "big") + kind + data + crc.to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def test_digits():
    _, (x_test, y_test) = load_mnist()
    return x_test[:20], y_test[:20]


def test_mnist_digits_rendered_as_pngs_are_read_correctly(client, test_digits):
    images, labels = test_digits
    answers = []
    for pixels in images:
        response = client.post("/api/predict", json={"image": data_url(png_bytes(pixels))})
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"digit", "probabilities", "input28", "is_digit"}
        assert body["is_digit"] is True
        assert len(body["probabilities"]) == 10 and sum(body["probabilities"]) == pytest.approx(
            1, abs=1e-4
        )
        assert body["digit"] == int(np.argmax(body["probabilities"]))
        answers.append(body["digit"])
    assert np.mean(np.array(answers) == labels) >= 0.95, (answers, labels.tolist())


def test_input28_is_exactly_what_barenet_predict_sees(client, test_digits, tmp_path):
    data = png_bytes(test_digits[0][3])
    (tmp_path / "digit.png").write_bytes(data)
    expected = load_digit(tmp_path / "digit.png")
    for response in (
        client.post("/api/predict", json={"image": data_url(data)}),
        client.post("/api/predict", json={"image": base64.b64encode(data).decode()}),
        client.post("/api/predict", files={"file": ("digit.png", data, "image/png")}),
    ):
        assert response.status_code == 200, response.text
        seen = np.array(response.json()["input28"])
        assert seen.shape == (28, 28) and seen.dtype.kind == "i"
        np.testing.assert_array_equal(seen, expected)


def test_jpeg_upload(client, test_digits):
    image = Image.open(io.BytesIO(png_bytes(test_digits[0][0]))).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    response = client.post(
        "/api/predict", files={"file": ("d.jpg", buffer.getvalue(), "image/jpeg")}
    )
    assert response.status_code == 200 and response.json()["digit"] == int(test_digits[1][0])


def test_model_metadata_and_health(client, model):
    info = client.get("/api/model").json()
    assert info["name"] == "mnist-cnn.npz" and info["preset"] == "cnn" and info["classes"] == 10
    assert info["test_accuracy"] == model.metadata["metrics"]["test_accuracy"]
    assert info["architecture"][2].startswith("Conv2D(in_channels=1, out_channels=32")
    assert info["parameters"] == sum(p.size for _, p, _ in model.parameters())
    assert "MNIST" in info["training_data"]
    assert client.get("/healthz").json() == {"status": "ok"}


def test_openapi_schema_and_page_are_served(client):
    schema = client.get("/openapi.json").json()
    for path in ("/api/predict", "/api/explain"):
        post = schema["paths"][path]["post"]
        assert set(post["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
        assert {"200", "400", "413", "415", "422"} <= set(post["responses"])
    answer = schema["components"]["schemas"]["ExplainAnswer"]["properties"]
    assert {"digit", "probabilities", "input28", "layers", "saliency"} <= set(answer)
    page = client.get("/")
    assert page.status_code == 200 and '<canvas id="pad"' in page.text
    for script in ("app.js", "inside.js"):
        assert client.get(f"/static/{script}").status_code == 200
    # Browsers ask for /favicon.ico whatever the page says: no 404 in their console.
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
    assert 'rel="icon" href="/static/favicon.svg"' in page.text


@pytest.mark.parametrize(
    "request_kwargs, status, message",
    [
        (
            {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
            400,
            "not valid JSON",
        ),
        ({"json": {"picture": "x"}}, 400, 'must be an object {"image"'),
        ({"json": ["image"]}, 400, 'must be an object {"image"'),
        ({"json": {"image": "data:image/png;base64,@@@@"}}, 400, "not valid base64"),
        ({"json": {"image": "data:image/png,rawdata"}}, 400, "must be base64"),
        ({"json": {"image": ""}}, 400, "The image is empty"),
        (
            {"json": {"image": base64.b64encode(b"hello, not an image").decode()}},
            415,
            "is not a PNG, JPEG",
        ),
        ({"files": {"file": ("notes.txt", b"just text", "text/plain")}}, 415, "is not a PNG, JPEG"),
        (  # PostScript named .png: never handed to Ghostscript
            {"files": {"file": ("d.png", b"%!PS-Adobe-3.0 EPSF-3.0\nshowpage\n", "image/png")}},
            415,
            "is not a PNG, JPEG",
        ),
        ({"files": {"other": ("d.png", b"x", "image/png")}}, 400, "field 'file'"),
        ({"content": b"raw bytes", "headers": {"Content-Type": "image/png"}}, 415, "Send JSON"),
        ({"json": {"image": data_url(blank_png())}}, 422, "no ink found"),
        (
            {"json": {"image": data_url(huge_png(5000, 5000))}},
            413,
            "25 megapixels, over the limit of 16",
        ),
        ({"json": {"image": data_url(huge_png(20000, 20000))}}, 413, "too large to decode"),
        (
            {"json": {"image": data_url(png_bytes(np.zeros((28, 28), np.uint8))[:60])}},
            400,
            "damaged or truncated",
        ),
    ],
    ids=[
        "malformed-json",
        "no-image-key",
        "not-an-object",
        "bad-base64",
        "data-url-not-base64",
        "empty",
        "not-an-image",
        "upload-not-an-image",
        "upload-postscript",
        "upload-wrong-field",
        "wrong-content-type",
        "blank-drawing",
        "too-many-pixels",
        "decompression-bomb",
        "truncated-png",
    ],
)
@pytest.mark.parametrize("endpoint", ["/api/predict", "/api/explain"])
def test_bad_requests_get_a_json_error_and_the_right_status(
    client, endpoint, request_kwargs, status, message
):
    response = client.post(endpoint, **request_kwargs)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]


@pytest.mark.parametrize("endpoint", ["/api/predict", "/api/explain"])
def test_bodies_over_2_mb_are_refused_whether_announced_or_streamed(client, endpoint):
    too_big = b"x" * (MAX_BODY_BYTES + 1)
    response = client.post(endpoint, content=too_big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and "over the limit of 2 MB" in response.json()["error"]

    def chunks():  # no Content-Length: the limit is found while reading
        for _ in range(3):
            yield b"y" * (MAX_BODY_BYTES // 2)

    response = client.post(endpoint, content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and "over the limit" in response.json()["error"]
    # The server is still fine afterwards.
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("endpoint", ["/api/predict", "/api/explain"])
def test_no_request_makes_it_answer_500(client, endpoint):
    """Odd inputs, one after another: every answer is a 4xx with a JSON error, or a 200."""
    odd = [
        {"json": {"image": None}},
        {"json": {"image": 12}},
        {"json": "image"},
        {
            "content": json.dumps({"image": "data:"}).encode(),
            "headers": {"Content-Type": "application/json"},
        },
        {"content": b"\xff\xfe", "headers": {"Content-Type": "application/json"}},
        {"content": b"--x--", "headers": {"Content-Type": "multipart/form-data; boundary=x"}},
        {"files": {"file": ("empty.png", b"", "image/png")}},
    ]
    for kwargs in odd:
        response = client.post(endpoint, **kwargs)
        assert 400 <= response.status_code < 500, (kwargs, response.status_code, response.text)
        assert "error" in response.json()
