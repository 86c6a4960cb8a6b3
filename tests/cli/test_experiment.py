"""barenet experiment: JSON schema, variants side by side, --train-limit per run."""

import json

import numpy as np
import pytest

from tests.helpers import QUICK, invoke


def test_experiment_json(tmp_path):
    result = invoke("experiment", *QUICK, "--train-limit", 600, "--runs", 2, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [run["seed"] for run in payload["runs"]] == [0, 1]
    assert set(payload["runs"][0]) == {
        "variant",
        "seed",
        "test_accuracy",
        "test_loss",
        "seconds",
        "train_samples",
        "index",
        "where",
        "retried",
    }
    assert [run["index"] for run in payload["runs"]] == [0, 1] and payload["failed"] == []
    assert [run["train_samples"] for run in payload["runs"]] == [600, 600]
    accuracies = [run["test_accuracy"] for run in payload["runs"]]
    assert payload["mean_accuracy"] == pytest.approx(np.mean(accuracies))
    assert payload["std_accuracy"] == pytest.approx(np.std(accuracies, ddof=1))


def test_experiment_variants(tmp_path):
    result = invoke(
        "experiment",
        *QUICK,
        "--train-limit",
        500,
        "--runs",
        1,
        "--vary",
        "learning-rate=0.01,0.001",
        "--vary",
        "layers=784,16,10|784,32,10",
    )
    assert result.exit_code == 0, result.output
    assert "learning_rate=0.001 layers=784-32-10" in result.stdout
    assert result.stdout.count("784-16-10") >= 2  # in the runs table and the summary


def test_vary_train_limit_trains_each_variant_on_its_own_subset():
    # The example, one epoch instead of 100: the "600" variant used to train on 150.
    result = invoke(
        "experiment", "--preset", "tutorial-tanh-mse-small", "--train-limit", 150,
        "--epochs", 1, "--runs", 1, "--vary", "train-limit=150,600", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [run["train_samples"] for run in json.loads(result.stdout)["runs"]] == [150, 600]
