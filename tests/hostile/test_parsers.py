"""Property-based hostile input (Hypothesis): whatever bytes arrive, each reader answers with its
own error type, carrying a sentence, and never with another exception. Each reader gets random
bytes and mutations of a valid file: cut short, bytes overwritten, bytes appended."""

import gzip
import io
import json
import zipfile

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import barenet as bn
from barenet.datasets import DataError
from barenet.datasets.csvdata import read_digit_csv
from barenet.datasets.idx import read_idx
from barenet.datasets.npz import load_npz
from barenet.digits.imaging import ImageError, load_digit
from barenet.web.app import create_app

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI is deterministic
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@st.composite
def mutations(draw, valid: bytes) -> bytes:
    """``valid`` cut short, with some bytes overwritten, and with bytes appended."""
    data = bytearray(valid[: draw(st.integers(0, len(valid)))])
    for _ in range(draw(st.integers(0, 8))):
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data) + draw(st.binary(max_size=64))


def hostile(valid: bytes) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=4096), mutations(valid))


def must_refuse_cleanly(read, expected):
    """Call ``read()``: it may succeed, or raise ``expected`` with a sentence; nothing else."""
    try:
        read()
    except expected as error:
        assert str(error).strip(), "an error without a sentence"


RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, (3, 28, 28), dtype=np.uint8)
LABELS = np.array([1, 2, 3], np.uint8)


def idx_bytes() -> bytes:
    header = bytes([0, 0, 8, 3]) + np.array([3, 28, 28], ">u4").tobytes()
    return gzip.compress(header + IMAGES.tobytes())


def csv_bytes() -> bytes:
    rows = [
        ",".join(map(str, [label, *image.ravel()]))
        for label, image in zip(LABELS, IMAGES, strict=True)
    ]
    return ("label," + ",".join(f"pixel{i}" for i in range(784)) + "\n" + "\n".join(rows)).encode()


def npz_bytes() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, x_train=IMAGES, y_train=LABELS, x_test=IMAGES, y_test=LABELS)
    return buffer.getvalue()


def model_bytes(folder) -> bytes:
    model = bn.Sequential([bn.Flatten(), bn.Rescaling(1 / 255), bn.Dense(784, 4), bn.Softmax()])
    model.compile("cross_entropy").fit(IMAGES, LABELS, epochs=1, verbose=0)
    return model.save(folder / "valid.npz").read_bytes()


def png_bytes() -> bytes:
    """A 56x56 PNG of a stroke like a 7 (random pixels would be read as noise on blank paper)."""
    pixels = np.full((56, 56), 255, np.uint8)
    pixels[10:14, 12:44] = 0
    for row in range(14, 48):
        pixels[row, 40 - (row - 14) // 2 : 44 - (row - 14) // 2] = 0
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("hostile")


@SETTINGS
@given(data=hostile(idx_bytes()))
def test_idx_files(folder, data):
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(data)
    must_refuse_cleanly(lambda: read_idx(path, 3), DataError)


@SETTINGS
@given(data=st.one_of(hostile(csv_bytes()), st.text(max_size=3000).map(str.encode)))
def test_csv_files(folder, data):
    path = folder / "digits.csv"
    path.write_bytes(data)
    must_refuse_cleanly(lambda: read_digit_csv(path), DataError)


@SETTINGS
@given(data=hostile(npz_bytes()))
def test_npz_files(folder, data):
    path = folder / "digits.npz"
    path.write_bytes(data)
    must_refuse_cleanly(lambda: load_npz(path), DataError)


@pytest.fixture(scope="module")
def valid_model(folder):
    return model_bytes(folder)


@SETTINGS
@given(data=st.data())
def test_model_files(folder, valid_model, data):
    path = folder / "model.npz"
    path.write_bytes(data.draw(hostile(valid_model)))
    must_refuse_cleanly(lambda: bn.load_model(path), bn.ModelFileError)


@SETTINGS
@given(data=hostile(png_bytes()))
def test_images(data):
    must_refuse_cleanly(lambda: load_digit(io.BytesIO(data), name="upload"), ImageError)


@pytest.fixture(scope="module")
def client():
    model = bn.Sequential([bn.Flatten(), bn.Rescaling(1 / 255), bn.Dense(784, 10), bn.Softmax()])
    return TestClient(create_app(model, "tiny.npz", hosts=["testserver"]))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)


@SETTINGS
@given(
    body=st.one_of(
        JSON.map(lambda value: json.dumps(value).encode()),
        st.fixed_dictionaries({"image": st.text(max_size=200)}).map(
            lambda v: json.dumps(v).encode()
        ),
        st.binary(max_size=2000),
    ),
    content_type=st.sampled_from(
        ["application/json", "multipart/form-data; boundary=x", "image/png", "text/plain", ""]
    ),
)
def test_request_bodies(client, body, content_type):
    response = client.post("/api/predict", content=body, headers={"Content-Type": content_type})
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.json()["error"]


def test_a_valid_upload_still_reads(client):
    response = client.post("/api/predict", files={"file": ("d.png", png_bytes(), "image/png")})
    assert response.status_code == 200 and len(response.json()["probabilities"]) == 10


def test_mutated_archives_include_zip_damage(valid_model):
    # A sanity check of the strategy's inputs: the valid model is a zip archive to mutate.
    assert zipfile.is_zipfile(io.BytesIO(valid_model))
