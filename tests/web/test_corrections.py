"""The API's "not a digit", its corrections folder, and several models served side by side."""

import base64
import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from barenet.datasets import load_mnist
from barenet.digits.folders import image_files
from barenet.digits.shipped import open_model
from barenet.web.app import create_app


def data_url(image):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def seven():
    _, (images, _) = load_mnist()
    return Image.fromarray(255 - images[0]).resize((280, 280))


def square():
    image = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(image).rectangle([60, 60, 220, 220], fill=0)
    return image


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corrections")
    cnn, mlp = open_model("cnn")[0], open_model("mlp")[0]
    app = create_app(cnn, "mnist-cnn.npz", ["testserver"], others={"mine.npz": mlp},
                     my_digits=folder)  # fmt: skip
    return TestClient(app), folder


@pytest.mark.parametrize("endpoint", ["/api/predict", "/api/explain"])
def test_answers_say_whether_it_is_a_digit(client, endpoint):
    http, _ = client
    digit = http.post(endpoint, json={"image": data_url(seven())}).json()
    other = http.post(endpoint, json={"image": data_url(square())}).json()
    assert digit["is_digit"] is True and digit["digit"] == 7
    assert other["is_digit"] is False and len(other["probabilities"]) == 10


def test_a_correction_is_saved_in_the_folder(client):
    http, folder = client
    response = http.post("/api/corrections", json={"image": data_url(seven()), "digit": 1})
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["saved"].startswith("1/") and answer["folder"] == str(folder)
    assert answer["count"] == len(image_files(folder)) >= 1
    with Image.open(folder / answer["saved"]) as saved:
        assert saved.size == (280, 280)
        assert np.asarray(saved).min() < 50  # the ink is there


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"image": "x", "digit": 11}, 400, "which digit it was"),
        ({"image": "x", "digit": True}, 400, "which digit it was"),
        ({"digit": 3}, 400, '{"image"'),
        ({"image": "data:image/png;base64,aGVsbG8=", "digit": 3}, 415, "is not a PNG"),
    ],
)
def test_bad_corrections_are_client_errors(client, body, status, message):
    http, _ = client
    response = http.post("/api/corrections", json=body)
    assert response.status_code == status and message in response.json()["error"]


def test_a_blank_correction_is_refused(client):
    http, folder = client
    before = len(image_files(folder))
    blank = Image.new("L", (100, 100), 255)
    response = http.post("/api/corrections", json={"image": data_url(blank), "digit": 3})
    assert response.status_code == 422 and len(image_files(folder)) == before


def test_without_a_folder_no_correction_is_saved():
    http = TestClient(create_app(open_model("mlp")[0], "mlp", ["testserver"]))
    response = http.post("/api/corrections", json={"image": data_url(seven()), "digit": 7})
    assert response.status_code == 404 and "--my-digits" in response.json()["error"]


def test_the_page_can_switch_models(client):
    http, _ = client
    names = [model["name"] for model in http.get("/api/models").json()]
    assert names == ["mnist-cnn.npz", "mine.npz"]
    assert http.get("/api/model").json()["name"] == "mnist-cnn.npz"
    body = {"image": data_url(seven())}
    mine = http.post("/api/predict?model=mine.npz", json=body).json()
    default = http.post("/api/predict", json=body).json()
    assert mine["digit"] == default["digit"] == 7
    assert mine["probabilities"] != default["probabilities"]  # another network answered
    unknown = http.post("/api/predict?model=nope", json=body)
    assert unknown.status_code == 404 and "mine.npz" in unknown.json()["error"]
