"""barenet train on small subsets: JSON schema, files written, seeds, CNN options, Ctrl-C."""

import json
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from barenet import engine, load_model
from tests.helpers import QUICK, assert_real_picture, invoke, write_digit_csv


def test_train_json_and_files(trained):
    path, payload = trained
    assert set(payload) >= {
        "model",
        "test_accuracy",
        "test_loss",
        "epochs",
        "train_seconds",
        "history",
    }
    assert payload["epochs"] == 1 and 0.8 < payload["test_accuracy"] <= 1
    assert set(payload["history"]) >= {"loss", "accuracy"}
    model = load_model(path)
    assert model.metadata["preset"] == "quick"
    assert model.metadata["config"]["train_limit"] == 2000
    assert (
        model.metadata["data"]["train_samples"] == 2000
        and len(model.metadata["data"]["sha256"]) == 64
    )
    assert model.metadata["metrics"]["test_accuracy"] == payload["test_accuracy"]
    history = json.loads(path.with_suffix(".history.json").read_text())
    assert history["loss"] == payload["history"]["loss"]


def test_train_prints_a_summary(tmp_path):
    result = invoke(
        "train",
        *QUICK,
        "--layers",
        "784,32,10",
        "--optimizer",
        "momentum",
        "--learning-rate",
        "0.05",
        "--out",
        tmp_path / "m.npz",
    )
    assert result.exit_code == 0, result.output
    assert "Test accuracy" in result.stdout and "Saved the model to" in result.stdout
    assert "Epoch 1/1  train loss " in result.stderr and "  train accuracy " in result.stderr
    assert "validation" not in result.stderr  # none held out
    assert load_model(tmp_path / "m.npz").layers[2].out_features == 32


def test_the_epoch_line_labels_training_and_validation_accuracy(tmp_path):
    out = tmp_path / "v.npz"
    result = invoke("train", *QUICK, "--validation-split", "0.1", "--out", out, "--plot")
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.stderr.splitlines() if line.startswith("Epoch")]
    assert re.fullmatch(
        r"Epoch 1/1  train loss \d\.\d{4}  accuracy: train \d\d\.\d\d%, "
        r"validation \d\d\.\d\d%  \d+\.\d s",
        line,
    ), line
    assert len(line) < 80
    history = load_model(out).history.history  # what the curves beside it draw
    assert len(history["val_accuracy"]) == 1 and history["val_accuracy"][0] is not None
    assert_real_picture(tmp_path / "v.curves.png", (1000, 400))


def test_same_seed_same_model(tmp_path):
    for name in ("a", "b"):
        assert (
            invoke("train", *QUICK, "--seed", 3, "--out", tmp_path / f"{name}.npz").exit_code == 0
        )
    weights = [load_model(tmp_path / f"{name}.npz").get_weights() for name in ("a", "b")]
    for first, second in zip(*weights, strict=True):
        np.testing.assert_array_equal(first, second)


def test_train_a_small_cnn_with_every_conv_option(tmp_path):
    result = invoke(
        "train",
        *QUICK,
        "--train-limit",
        600,
        "--conv",
        "4,8",
        "--kernel-size",
        3,
        "--layers",
        "784,16,10",
        "--batch-norm",
        "--augment",
        "--out",
        tmp_path / "cnn.npz",
        "--json",
    )
    assert result.exit_code == 0, result.output
    model = load_model(tmp_path / "cnn.npz")
    names = [type(layer).__name__ for layer in model.layers]
    assert names[:6] == ["Reshape", "Rescaling", "Conv2D", "BatchNorm2d", "MaxPool2D", "ReLU"]
    assert model.layers[2].get_config()["kernel_size"] == 3 and "BatchNorm1d" in names
    config = model.metadata["config"]
    assert config["conv"] == [4, 8] and config["augment"] == "affine" and config["batch_norm"]
    assert "conv3x3x4-maxpool-conv3x3x8-maxpool-fc16-fc10 with batch norm" in result.stderr


SMALL_CNN = ["--train-limit", 600, "--conv", "4,8", "--kernel-size", 3, "--layers", "784,16,10"]


def test_every_engine_trains_the_same_model_but_for_rounding(tmp_path):
    """`--engine` switches the whole process (the tests' fixture switches back). The engine's
    sums run in other orders: weights of about 0.1 to 1 differ by a unit in the last place or
    so (tests/engine checks each method)."""
    names = ["reference", "numpy", *(["numba"] if engine.default() == "numba" else [])]
    for name in names:
        out = tmp_path / f"{name}.npz"
        result = invoke("train", *QUICK, *SMALL_CNN, "--seed", 3, "--engine", name, "--out", out)
        assert result.exit_code == 0, result.output
        assert engine.active() == name
    reference = load_model(tmp_path / "reference.npz")
    for name in names[1:]:
        theirs = load_model(tmp_path / f"{name}.npz")
        for a, b in zip(reference.layers, theirs.layers, strict=True):
            for key in a.params:
                np.testing.assert_allclose(a.params[key], b.params[key], rtol=1e-4, atol=1e-5)


def test_the_numba_engine_without_numba_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(engine.importlib.util, "find_spec", lambda name: None)
    result = invoke("train", *QUICK, "--engine", "numba", "--out", tmp_path / "m.npz")
    assert result.exit_code == 1
    assert 'pip install "barenet[fast]"' in result.output and "Traceback" not in result.output
    assert not (tmp_path / "m.npz").exists()


def start_training(out):
    """`barenet train` in its own process, once it has finished two epochs (the deadline is
    generous: a loaded machine is slow, and pressing Ctrl-C before epoch 3 tests nothing)."""
    command = [sys.executable, "-m", "barenet", "train", "--preset", "quick", "--epochs", "30",
               "--train-limit", "20000", "--out", str(out)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    seen = ""
    while "Epoch 3/30" not in seen and time.monotonic() < deadline:  # epoch 2 is in the history
        line = process.stderr.readline()
        if not line:  # the process ended
            break
        seen += line
    if "Epoch 3/30" not in seen:
        process.kill()  # leave no 30-epoch run behind on a machine already slow
        process.communicate()
        pytest.fail(f"training did not reach epoch 3 in 300 s:\n{seen}")
    return process


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT")
@pytest.mark.parametrize("presses", [1, 3])
def test_ctrl_c_keeps_what_was_trained(tmp_path, presses):
    out = tmp_path / "stopped.npz"
    process = start_training(out)
    for _ in range(presses):  # more presses while it evaluates and saves change nothing
        process.send_signal(signal.SIGINT)
        time.sleep(0.05)
    stdout, _ = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Interrupted after" in stdout
    model = load_model(out)
    assert model.metadata["interrupted"] is True and len(model.history.history["loss"]) >= 2


def test_an_unwritable_out_is_found_before_training(tmp_path):
    (tmp_path / "file.txt").write_text("not a folder")
    result = invoke("train", *QUICK, "--out", tmp_path / "file.txt" / "model.npz")
    assert result.exit_code == 1
    assert "Cannot write" in result.stderr and "model.npz" in result.stderr
    assert "Training" not in result.stderr and ".tmp" not in result.stderr


def test_no_test_split_trains_on_every_row_of_a_csv(tmp_path):
    from barenet.datasets import load_mnist

    _, (x_test, y_test) = load_mnist()
    path = write_digit_csv(tmp_path / "train.csv", x_test[:700], y_test[:700], header=True)
    out = tmp_path / "kaggle.npz"
    args = [*QUICK, "--data", path, "--no-test-split", "--validation-split", "0.1", "--out", out]
    result = invoke("train", *args, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["test_accuracy"] is None and payload["test_loss"] is None
    assert "every one of its 700 rows trains" in result.stderr
    data = load_model(out).metadata["data"]
    assert data["train_samples"] == 700 and data["test_samples"] == 0
    text = invoke("train", *args)
    assert "No test set (--no-test-split).  Validation accuracy" in text.stdout
    shipped = invoke("train", *QUICK, "--no-test-split")
    assert shipped.exit_code == 1 and "has a test split of its own" in shipped.output


RESUMABLE = [
    "--preset",
    "quick",
    "--train-limit",
    "20000",
    "--epochs",
    "4",
    "--checkpoint-every",
    "1",
]


def weights_equal(first, second):
    return all(
        np.array_equal(ours, theirs)
        for ours, theirs in zip(
            load_model(first).get_weights(), load_model(second).get_weights(), strict=True
        )
    )


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_a_stopped_run_resumes_to_the_same_model(tmp_path, stop):
    out = tmp_path / "run.npz"
    checkpoint = tmp_path / "run.checkpoint.npz"
    process = subprocess.Popen(
        [sys.executable, "-m", "barenet", "train", *RESUMABLE, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not checkpoint.exists() and time.monotonic() < deadline:  # written after epoch 1
        time.sleep(0.01)
    process.send_signal(stop)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == (130 if stop == signal.SIGINT else -signal.SIGKILL)
    if stop == signal.SIGINT:
        assert f"barenet train --resume {checkpoint}" in stderr
    assert checkpoint.exists()
    resumed = invoke("train", "--resume", checkpoint)
    assert resumed.exit_code == 0, resumed.output
    assert "resumed after epoch" in resumed.stderr
    assert not checkpoint.exists()  # the finished run's model supersedes it
    never_stopped = invoke("train", *RESUMABLE, "--out", tmp_path / "whole.npz")
    assert never_stopped.exit_code == 0
    assert weights_equal(out, tmp_path / "whole.npz")
    assert (
        load_model(out).history.history["loss"]
        == load_model(tmp_path / "whole.npz").history.history["loss"]
    )


def test_init_from_appends_to_the_history_and_resume_refuses_what_it_cannot(tmp_path):
    first = tmp_path / "first.npz"
    assert (
        invoke("train", *QUICK, "--train-limit", 2000, "--epochs", 2, "--out", first).exit_code == 0
    )
    tuned = tmp_path / "tuned.npz"
    result = invoke("train", *QUICK, "--train-limit", 2000, "--init-from", first, "--out", tuned)
    assert result.exit_code == 0, result.output
    assert "starting from a trained model's weights" in result.stderr
    assert len(load_model(tuned).history.epoch) == 3  # 2 before, then this run's 1
    assert (
        load_model(tuned).history.history["loss"][:2] == load_model(first).history.history["loss"]
    )
    mismatch = invoke("train", "--preset", "mlp", "--init-from", first)
    assert mismatch.exit_code == 1 and "--init-from: its layers" in mismatch.output
    not_a_checkpoint = invoke("train", "--resume", first)
    assert not_a_checkpoint.exit_code == 1 and "is not a checkpoint" in not_a_checkpoint.output
    with_options = invoke("train", "--resume", first, "--epochs", 3)
    assert with_options.exit_code == 2 and "drop --epochs" in with_options.output
