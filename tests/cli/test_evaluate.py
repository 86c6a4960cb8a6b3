"""barenet evaluate: JSON schema, the table, shipped models by name."""

import json

import numpy as np
import pytest

from barenet import load_model
from barenet.digits.shipped import shipped_model_path
from tests.helpers import invoke


def test_evaluate_json(trained):
    result = invoke("evaluate", trained[0], "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) == {"accuracy", "loss", "confusion_matrix", "per_class"}
    matrix = np.array(payload["confusion_matrix"])
    assert matrix.shape == (10, 10) and matrix.sum() == 10000
    assert payload["accuracy"] == pytest.approx(np.trace(matrix) / 10000)
    assert payload["accuracy"] == pytest.approx(trained[1]["test_accuracy"])
    assert set(payload["per_class"][0]) == {"class", "precision", "recall", "f1", "support"}


def test_evaluate_table_uses_the_best_shipped_model_by_default():
    result = invoke("evaluate")
    assert result.exit_code == 0, result.output
    assert "mnist-cnn.npz" in result.stdout and "Confusion matrix" in result.stdout


@pytest.mark.parametrize("args", [["mlp"], ["--model", "mlp"]])
def test_evaluate_a_shipped_model_by_name(args):
    result = invoke("evaluate", *args, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["accuracy"] == pytest.approx(
        load_model(shipped_model_path("mlp")).metadata["metrics"]["test_accuracy"]
    )
