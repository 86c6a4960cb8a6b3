"""Figures on their own: sizes, and histories with metrics measured only on some epochs."""

import numpy as np

from barenet.report import plots
from tests.helpers import assert_real_picture


def test_learning_curves_with_gaps_and_an_experiment_chart(tmp_path):
    history = {
        "loss": [1.0, 0.6, 0.4, 0.3],
        "accuracy": [0.7, 0.8, 0.85, 0.9],
        "test_accuracy": [None, 0.82, None, 0.88],  # measured every 2 epochs
    }
    curves = plots.save_png(plots.learning_curves(history, "gaps"), tmp_path / "curves.png")
    assert_real_picture(curves, (1000, 400))
    chart = plots.experiment_comparison({"a": [0.9, 0.92], "b": [0.95]}, "variants")
    assert_real_picture(plots.save_png(chart, tmp_path / "chart.png"), (600, 450))


def test_first_layer_of_a_dense_and_of_a_conv_layer(tmp_path):
    rng = np.random.default_rng(0)
    for name, weights in (
        ("dense", rng.standard_normal((784, 16))),
        ("conv", rng.standard_normal((8, 1, 5, 5))),
    ):
        path = plots.save_png(plots.first_layer(weights), tmp_path / f"{name}.png")
        assert_real_picture(path)
