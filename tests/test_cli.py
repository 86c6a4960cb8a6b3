"""The barenet command, on small subsets: JSON schemas, files written, errors without tracebacks."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw

from barenet import load_model
from barenet.cli import cli
from barenet.shipped import shipped_model_path

QUICK = ["--preset", "quick", "--train-limit", "2000", "--epochs", "1"]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train")
    result = invoke("train", *QUICK, "--out", folder / "tiny.npz", "--json")
    assert result.exit_code == 0, result.output
    return folder / "tiny.npz", json.loads(result.stdout)


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
    assert "Epoch 1/1" in result.stderr
    assert load_model(tmp_path / "m.npz").layers[2].out_features == 32


def test_same_seed_same_model(tmp_path):
    for name in ("a", "b"):
        assert (
            invoke("train", *QUICK, "--seed", 3, "--out", tmp_path / f"{name}.npz").exit_code == 0
        )
    weights = [load_model(tmp_path / f"{name}.npz").get_weights() for name in ("a", "b")]
    for first, second in zip(*weights, strict=True):
        np.testing.assert_array_equal(first, second)


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
    assert names[:6] == ["Reshape", "Rescaling", "Conv2D", "BatchNorm2d", "ReLU", "MaxPool2D"]
    assert model.layers[2].get_config()["kernel_size"] == 3 and "BatchNorm1d" in names
    config = model.metadata["config"]
    assert config["conv"] == [4, 8] and config["augment"] and config["batch_norm"]
    assert "conv3x3x4-maxpool-conv3x3x8-maxpool-fc16-fc10 with batch norm" in result.stderr


def drawing(path, kind="seven", background="white"):
    image = Image.new("RGB", (300, 300), background)
    pen = ImageDraw.Draw(image)
    ink = "black" if background == "white" else "white"
    if kind == "seven":
        pen.line([(70, 60), (230, 60), (120, 260)], fill=ink, width=18)
    image.save(path)
    return path


def test_predict_files_folders_and_failures(tmp_path):
    folder = tmp_path / "digits"
    folder.mkdir()
    drawing(folder / "seven.png")
    drawing(folder / "seven-dark.jpg", background="black")
    drawing(tmp_path / "blank.png", kind="none")
    (tmp_path / "notes.txt").write_text("not an image")
    result = invoke(
        "predict",
        folder,
        tmp_path / "blank.png",
        tmp_path / "notes.txt",
        "--json",
        "--top",
        2,
        "--save-preview",
        tmp_path / "seen",
    )
    assert result.exit_code == 1  # some files failed
    payload = json.loads(result.stdout)
    by_file = {os.path.basename(item["file"]): item for item in payload}
    assert by_file["seven.png"]["digit"] == 7 and by_file["seven-dark.jpg"]["digit"] == 7
    assert len(by_file["seven.png"]["top"]) == 2
    assert sum(by_file["seven.png"]["probabilities"]) == pytest.approx(1, abs=1e-4)
    assert "no ink found" in by_file["blank.png"]["error"]
    assert "not an image" in by_file["notes.txt"]["error"]
    preview = Image.open(tmp_path / "seen" / "seven.28x28.png")
    assert preview.size == (28, 28) and preview.mode == "L"


def test_predict_human_output(tmp_path):
    result = invoke("predict", drawing(tmp_path / "seven.png"))
    assert result.exit_code == 0, result.output
    assert "seven.png: 7" in result.stdout


def test_experiment_json(tmp_path):
    result = invoke("experiment", *QUICK, "--train-limit", 600, "--runs", 2, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [run["seed"] for run in payload["runs"]] == [0, 1]
    assert set(payload["runs"][0]) == {"variant", "seed", "test_accuracy", "test_loss", "seconds"}
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


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--data", "/nowhere/mnist"], "/nowhere/mnist does not exist"),
        (["train", "--layers", "100,10"], "--layers must start with 784"),
        (
            ["train", "--preset", "huge"],
            "Unknown preset 'huge'. Expected one of: tutorial-tanh-mse",
        ),
        (["train", "--dropout", "1.5"], r"--dropout must be in [0, 1)"),
        (["evaluate", "/nowhere/model.npz"], "Model file /nowhere/model.npz does not exist"),
        (["experiment", "--vary", "colour=red"], "--vary: unknown option 'colour'"),
        (["train", "--conv", "32,64,128"], "shrinks 28x28 images to nothing"),
        (["evaluate", "--model", "resnet"], "'resnet' is neither a shipped model (cnn, mlp)"),
    ],
)
def test_user_errors_are_one_line(args, message):
    result = invoke(*args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1


def test_bad_option_values_are_usage_errors():
    result = invoke("train", "--layers", "784,abc,10")
    assert result.exit_code == 2 and "expected widths like 784,128,64,10" in result.stderr
    result = invoke("evaluate", "mlp", "--model", "cnn")
    assert result.exit_code == 2 and "Give the model once" in result.stderr


def test_corrupt_model_file(tmp_path):
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not really a zip")
    result = invoke("predict", "--model", tmp_path / "broken.npz", tmp_path / "x.png")
    assert (
        result.exit_code == 1 and "broken.npz" in result.stderr and "Traceback" not in result.output
    )


def test_presets_lists_every_preset():
    result = invoke("presets")
    for name in (
        "tutorial-tanh-mse",
        "tutorial-relu-sigmoid",
        "tutorial-relu-softmax-16",
        "quick",
        "mlp",
    ):
        assert name in result.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT")
def test_ctrl_c_keeps_what_was_trained(tmp_path):
    out = tmp_path / "stopped.npz"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "barenet",
            "train",
            "--preset",
            "quick",
            "--epochs",
            "30",
            "--train-limit",
            "20000",
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    seen = ""
    while "Epoch 3/30" not in seen and time.monotonic() < deadline:  # epoch 2 is in the history
        seen += process.stderr.readline()
    process.send_signal(signal.SIGINT)
    stdout, _ = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Interrupted after" in stdout
    model = load_model(out)
    assert model.metadata["interrupted"] is True and len(model.history.history["loss"]) >= 2
