"""barenet report, train --plot and experiment --plot from the command line."""

import json
import sys

from tests.helpers import assert_real_picture, invoke


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
