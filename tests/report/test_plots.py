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


def _legends(figure):
    return [[text.get_text() for text in axes.get_legend().get_texts()] for axes in figure.axes]


def _note(figure):
    # Figure.get_supxlabel() would do, from matplotlib 3.8; barenet[plot] takes 3.7.
    return figure._supxlabel.get_text() if figure._supxlabel is not None else ""


def test_learning_curves_draw_validation_beside_training():
    history = {
        "loss": [1.0, 0.5],
        "accuracy": [0.7, 0.9],
        "val_loss": [0.8, 0.6],
        "val_accuracy": [0.75, 0.85],
    }
    figure = plots.learning_curves(history, "validated")
    assert _legends(figure) == [["train", "validation"]] * 2
    validation = figure.axes[1].get_lines()[1]
    assert list(validation.get_ydata()) == [75.0, 85.0]  # accuracies in percent
    assert _note(figure) == ""  # nothing to excuse


def test_a_history_of_training_only_says_so_and_invents_no_curve():
    history = {"loss": [1.0, 0.5, 0.4], "accuracy": [0.7, 0.9, 0.92]}
    figure = plots.learning_curves(history, "training only")
    assert _legends(figure) == [["train"]] * 2
    assert all(len(axes.get_lines()) == 1 for axes in figure.axes)
    assert "--validation-split" in _note(figure) and _note(figure) == plots.TRAINING_ONLY
    # The finished model's test scores: one point after the last epoch, not a curve.
    figure = plots.learning_curves(history, "tested once", {"loss": 0.3, "accuracy": 0.95})
    assert _legends(figure) == [
        ["train", "test, after training (0.3000)"],
        ["train", "test, after training (95.00%)"],
    ]
    star = figure.axes[1].get_lines()[1]
    assert list(star.get_xdata()) == [3] and list(star.get_ydata()) == [95.0]
    assert _note(figure) == plots.TRAINING_ONLY  # still no held-out figure per epoch


def test_a_test_curve_makes_the_final_point_redundant():
    history = {"loss": [1.0, 0.5], "accuracy": [0.7, 0.9], "test_accuracy": [None, 0.88]}
    figure = plots.learning_curves(history, "tested", {"loss": 0.3, "accuracy": 0.88})
    assert _legends(figure) == [["train", "test, after training (0.3000)"], ["train", "test"]]
    assert _note(figure) == ""
