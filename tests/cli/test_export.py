"""barenet export: a model file or shipped name to ONNX, which onnxruntime then runs."""

import json

import numpy as np
import pytest

from barenet.datasets import load_mnist
from barenet.digits.shipped import open_model
from tests.helpers import invoke

ort = pytest.importorskip("onnxruntime")


def test_export_a_shipped_model_and_run_it(tmp_path):
    out = tmp_path / "cnn.onnx"
    result = invoke("export", "cnn", out)
    assert result.exit_code == 0, result.output
    assert "Exported mnist-cnn.npz to" in result.stdout and "'probabilities' (batch, 10)" in (
        result.stdout
    )
    _, (x_test, _) = load_mnist()
    runtime = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (probabilities,) = runtime.run(None, {"input": x_test[:200].astype(np.float32)})
    expected = open_model("cnn")[0].predict_proba(x_test[:200])
    np.testing.assert_array_equal(probabilities.argmax(axis=1), expected.argmax(axis=1))


def test_export_json_and_errors(tmp_path):
    result = invoke("export", "mlp", tmp_path / "mlp.onnx", "--json")
    assert result.exit_code == 0, result.output
    details = json.loads(result.stdout)
    assert details["input"] == {"name": "input", "shape": "(batch, 28, 28)", "dtype": "float32"}
    assert details["output"] == {"name": "probabilities", "shape": "(batch, 10)"}
    assert details["bytes"] == (tmp_path / "mlp.onnx").stat().st_size
    missing = invoke("export", "nope", tmp_path / "x.onnx")
    assert missing.exit_code == 1 and "neither a shipped model" in missing.output
    assert not (tmp_path / "x.onnx").exists()
