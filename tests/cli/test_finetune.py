"""barenet finetune: a person's folder in, a model out that the other commands take."""

import json

import numpy as np

from barenet.datasets import load_mnist
from barenet.digits.folders import save_correction
from tests.helpers import invoke


def test_finetune_a_folder_then_predict_with_the_result(tmp_path, trained):
    model_path, _ = trained
    _, (images, labels) = load_mnist()
    for index in range(28):  # a "person" writing upside down
        save_correction(tmp_path / "mine", int(labels[index]), 255.0 - images[index, ::-1, ::-1])
    out = tmp_path / "mine.npz"
    result = invoke("finetune", "--data", tmp_path / "mine", "--model", model_path, "--out", out,
                    "--epochs", 1, "--mnist-images", 1000, "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    details = json.loads(result.stdout)
    assert details["out"] == str(out) and out.exists()
    assert details["person_train"] + details["person_test"] == 28
    assert 0 <= details["person_accuracy_after"] <= 1 and details["mnist_accuracy_after"] > 0.5
    evaluated = invoke("evaluate", "--model", out, "--data", tmp_path / "mine", "--json")
    assert evaluated.exit_code == 0, evaluated.output
    text = invoke("finetune", "--data", tmp_path / "mine", "--model", model_path, "--out", out,
                  "--epochs", 1, "--mnist-images", 500)  # fmt: skip
    assert "held-out digits" in text.stdout and "MNIST test" in text.stdout
    assert np.isfinite(details["seconds"])


def test_finetune_without_digits_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("BARENET_MY_DIGITS", str(tmp_path / "nothing"))
    result = invoke("finetune", "--out", tmp_path / "x.npz")
    assert result.exit_code != 0
    assert "nothing" in result.output and "Traceback" not in result.output
