"""barenet report, train --plot and experiment --plot from the command line."""

import json
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from barenet.cli import cli
from barenet.datasets import load_data
from barenet.digits.config import TrainConfig
from barenet.digits.recipe import train
from barenet.report.page import write_report


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_real_picture(path, size=None):
    with Image.open(path) as image:
        assert image.format == "PNG"
        if size is not None:
            assert image.size == size, (path.name, image.size)
        pixels = np.asarray(image.convert("L"), dtype=float)
    # Not blank: plenty of ink on the white page, and more than a couple of shades.
    assert (pixels < 200).mean() > 0.01 and len(np.unique(pixels)) > 20, path.name


@pytest.fixture(scope="module")
def small_run():
    data = load_data(None)
    config = TrainConfig(layers=[784, 32, 10], epochs=3, train_limit=3000, validation_split=0.1)
    return train(config, data), data


@pytest.fixture(scope="module")
def report(small_run, tmp_path_factory):
    run, data = small_run
    folder = tmp_path_factory.mktemp("report")
    return write_report(run.model, data, folder, "small.npz")


def test_report_command_on_the_shipped_model(tmp_path):
    result = invoke("report", "mlp", "--out", tmp_path / "r")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(tmp_path / "r" / "report.html")
    assert len(list((tmp_path / "r").glob("*.png"))) == 6


def test_without_matplotlib_the_command_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    for args in (["report", "mlp"], ["train", "--preset", "quick", "--plot"]):
        result = invoke(*args, "--out", tmp_path / "x")
        assert result.exit_code == 1
        assert "pip install 'barenet[plot]'" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "x").exists()  # refused before any work


def test_train_plot_writes_the_curves_beside_the_model(tmp_path):
    out = tmp_path / "tiny.npz"
    result = invoke(
        "train",
        "--preset",
        "quick",
        "--train-limit",
        600,
        "--epochs",
        2,
        "--out",
        out,
        "--plot",
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["plot"] == str(tmp_path / "tiny.curves.png")
    assert_real_picture(tmp_path / "tiny.curves.png", (1000, 400))


def test_experiment_plot_compares_the_variants(tmp_path):
    chart = tmp_path / "compare.png"
    result = invoke(
        "experiment",
        "--preset",
        "quick",
        "--train-limit",
        400,
        "--epochs",
        1,
        "--runs",
        2,
        "--vary",
        "learning-rate=0.01,0.001",
        "--plot",
        chart,
    )
    assert result.exit_code == 0, result.output
    assert_real_picture(chart, (600, 450))
