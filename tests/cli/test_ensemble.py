"""barenet ensemble: one file that predict, evaluate, report, export and serve take like any."""

import json

import numpy as np
import pytest
from PIL import Image

import barenet as bn
from barenet.datasets import load_mnist
from tests.helpers import QUICK, invoke


@pytest.fixture(scope="module")
def two_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("members")
    for seed in (1, 2):
        result = invoke("train", *QUICK, "--seed", seed, "--out", folder / f"m{seed}.npz", "--json")
        assert result.exit_code == 0, result.output
    return folder / "m1.npz", folder / "m2.npz"


@pytest.fixture(scope="module")
def digit_png(tmp_path_factory):
    """MNIST's first test digit (a 7), drawn dark on white at 8x its size."""
    _, (x_test, _) = load_mnist()
    path = tmp_path_factory.mktemp("digit") / "seven.png"
    image = Image.fromarray(255 - x_test[0]).resize((224, 224), Image.Resampling.BILINEAR)
    image.save(path)
    return path


@pytest.fixture(scope="module")
def ensemble_file(two_models, tmp_path_factory):
    out = tmp_path_factory.mktemp("ensemble") / "pair.npz"
    result = invoke("ensemble", *two_models, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    return out, json.loads(result.stdout)


def test_ensemble_averages_its_members_and_records_them(two_models, ensemble_file):
    out, summary = ensemble_file
    model = bn.load_model(out)
    _, (x_test, y_test) = load_mnist()
    members = [bn.load_model(path) for path in two_models]
    expected = np.mean([m.predict_proba(x_test) for m in members], axis=0)
    np.testing.assert_allclose(model.predict_proba(x_test), expected, atol=1e-6)
    assert summary["test_accuracy"] == pytest.approx((expected.argmax(1) == y_test).mean())
    assert [m["file"] for m in summary["members"]] == ["m1.npz", "m2.npz"]
    assert model.metadata["preset"] == "ensemble of 2 x quick"
    assert [m["config"]["seed"] for m in model.metadata["members"]] == [1, 2]
    assert model.optimizer is None  # nothing to train: no optimizer state in the file


def test_every_command_takes_an_ensemble(ensemble_file, tmp_path, digit_png):
    out, summary = ensemble_file
    evaluated = invoke("evaluate", out, "--json")
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.stdout)["accuracy"] == pytest.approx(summary["test_accuracy"])
    predicted = invoke("predict", "--model", out, digit_png, "--json")
    assert predicted.exit_code == 0, predicted.output
    assert json.loads(predicted.stdout)[0]["digit"] == 7
    report = invoke("report", out, "--out", tmp_path / "report")
    assert report.exit_code == 0, report.output
    page = (tmp_path / "report" / "report.html").read_text()
    assert "Ensemble → Softmax" in page and "First layer" in page  # member 1's first layer
    assert (tmp_path / "report" / "learning-curves.png").exists()
    exported = invoke("export", out, tmp_path / "pair.onnx", "--json")
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "pair.onnx").stat().st_size > 0


def test_the_server_serves_an_ensemble(ensemble_file, digit_png):
    from fastapi.testclient import TestClient

    from barenet.web.app import create_app

    model = bn.load_model(ensemble_file[0])
    client = TestClient(create_app(model, "pair.npz", hosts=["testserver"]))
    for route in ("/api/predict", "/api/explain"):
        upload = {"file": ("seven.png", digit_png.read_bytes(), "image/png")}
        response = client.post(route, files=upload)
        assert response.status_code == 200, response.text
        assert len(response.json()["probabilities"]) == 10


def test_ensemble_errors_are_one_line(two_models, tmp_path):
    missing = invoke("ensemble", two_models[0], tmp_path / "nope.npz", "--out", tmp_path / "e.npz")
    assert missing.exit_code == 1 and "does not exist" in missing.stderr
    assert "Traceback" not in missing.output and not (tmp_path / "e.npz").exists()
    no_out = invoke("ensemble", *two_models)
    assert no_out.exit_code == 2 and "--out" in no_out.stderr
