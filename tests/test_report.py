"""barenet report, train --plot and experiment --plot: real PNGs of the expected size, not blank."""

import base64
import json
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import barenet as bn
from barenet import plots
from barenet.cli import cli
from barenet.datasets import load_data
from barenet.recipe import TrainConfig, train
from barenet.report import write_report

# (file, width, height) at 100 dpi; the galleries' heights depend on how many tiles they hold.
FIXED_SIZES = {
    "learning-curves.png": (1000, 400),
    "confusion-matrix.png": (700, 600),
    "per-class-accuracy.png": (800, 400),
    "calibration.png": (1000, 450),
}


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


def test_every_figure_is_a_real_png_of_its_size(report):
    folder = report.parent
    names = {path.name for path in folder.glob("*.png")}
    assert names == {*FIXED_SIZES, "mistakes.png", "first-layer.png"}
    for name in names:
        assert_real_picture(folder / name, FIXED_SIZES.get(name))
    with Image.open(folder / "first-layer.png") as image:  # 32 units: 4 rows of 8 tiles
        assert image.size == (1060, 560)


def test_the_page_embeds_every_figure_and_the_metadata(report):
    page = report.read_text()
    for png in report.parent.glob("*.png"):
        encoded = base64.b64encode(png.read_bytes()).decode("ascii")
        assert f"data:image/png;base64,{encoded}" in page
    assert "small.npz" in page and "Test accuracy now" in page and "train_limit" in page
    assert 'src="http' not in page and "<script" not in page  # self-contained


def test_conv_models_draw_their_filters(tmp_path, rng):
    weights = bn.Conv2D(1, 6, 5, rng=rng).weight
    path = plots.save_png(plots.first_layer(weights), tmp_path / "filters.png")
    assert_real_picture(path, (820, 200))


def test_a_model_without_history_is_refused(small_run, tmp_path):
    _, data = small_run
    bare = bn.Sequential([bn.Flatten(), bn.Dense(784, 10)]).compile("cross_entropy")
    with pytest.raises(ValueError, match="carries no training history"):
        write_report(bare, data, tmp_path, "bare.npz")
    path = bare.save(tmp_path / "bare.npz")
    result = invoke("report", path, "--out", tmp_path / "out")
    assert result.exit_code == 1 and "bare.npz carries no training history" in result.stderr
    assert "Traceback" not in result.output


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
