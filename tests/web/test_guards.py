"""The request guard: only known host names, no cross-site calls, security headers, and JSON
errors for every status; decoding bounded to one image at a time."""

import threading
import time

import pytest
from fastapi.testclient import TestClient

import barenet.web.app as web_app
from barenet.web.app import create_app
from barenet.web.guards import host_name
from tests.web.test_app import png_bytes


@pytest.fixture(scope="module")
def client(shipped_model_cnn):
    return TestClient(create_app(shipped_model_cnn, "mnist-cnn.npz", hosts=["testserver"]))


@pytest.fixture(scope="module")
def shipped_model_cnn():
    from barenet.digits.shipped import open_model

    return open_model("cnn")[0]


def test_host_names_without_ports():
    assert host_name("Example.com:8000") == "example.com"
    assert host_name("[::1]:8000") == "::1" and host_name("::1") == "::1"
    assert host_name("127.0.0.1") == "127.0.0.1"


def test_an_unknown_host_is_refused_dns_rebinding(client):
    response = client.get("/api/model", headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert "not 'evil.example'" in response.json()["error"]
    for local in ("localhost:8000", "127.0.0.1:8000", "[::1]:8000", "testserver"):
        assert client.get("/healthz", headers={"Host": local}).status_code == 200


def test_other_web_sites_cannot_call_the_api(client):
    body = {"files": {"file": ("d.png", png_bytes(_seven()), "image/png")}}
    refused = client.post("/api/predict", headers={"Origin": "http://evil.example"}, **body)
    assert refused.status_code == 403 and "other web sites" in refused.json()["error"]
    sneaky = client.post("/api/predict", headers={"Sec-Fetch-Site": "cross-site"}, **body)
    assert sneaky.status_code == 403
    own_page = client.post("/api/predict", headers={"Origin": "http://testserver"}, **body)
    assert own_page.status_code == 200, own_page.text


def test_every_answer_carries_the_security_headers(client):
    for response in (client.get("/"), client.get("/nowhere"), client.get("/static/app.js")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"


def test_no_cdn_docs_and_json_errors_for_404_and_405(client):
    for path in ("/docs", "/redoc", "/nowhere"):
        response = client.get(path)
        assert response.status_code == 404 and "error" in response.json()
    wrong_method = client.get("/api/predict")
    assert wrong_method.status_code == 405 and "error" in wrong_method.json()
    assert client.get("/openapi.json").status_code == 200


@pytest.mark.parametrize(
    "body", [b"[" * 100_000 + b"]" * 100_000, b'{"image": ' + b"9" * 5000 + b"}"]
)
def test_hostile_json_is_a_400(client, body):
    response = client.post(
        "/api/predict", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and "not valid JSON" in response.json()["error"]


def test_one_image_is_decoded_at_a_time(client, monkeypatch):
    active, most = 0, 0
    guard = threading.Lock()
    real = web_app.read_digit.__globals__["load_digit"]

    def slow_load(*args, **kwargs):
        nonlocal active, most
        with guard:
            active += 1
            most = max(most, active)
        time.sleep(0.05)
        with guard:
            active -= 1
        return real(*args, **kwargs)

    monkeypatch.setitem(web_app.read_digit.__globals__, "load_digit", slow_load)
    data = png_bytes(_seven())
    threads = [
        threading.Thread(
            target=lambda: client.post("/api/predict", files={"file": ("d.png", data, "image/png")})
        )
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1  # one reader thread: bounded memory, one prediction at a time


def _seven():
    from barenet.datasets import load_mnist

    return load_mnist()[1][0][0]
