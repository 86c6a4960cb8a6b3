"""write_report: real PNGs of the expected size, and one page embedding them all."""

import base64

import pytest
from PIL import Image

import barenet as bn
from barenet.datasets import load_data
from barenet.digits.config import TrainConfig
from barenet.digits.recipe import train
from barenet.digits.shipped import open_model
from barenet.report import plots
from barenet.report.page import final_test, write_report
from tests.helpers import assert_real_picture, invoke

FIXED_SIZES = {
    "learning-curves.png": (1000, 400),
    "confusion-matrix.png": (700, 600),
    "per-class-accuracy.png": (800, 400),
    "calibration.png": (1000, 450),
}


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


def test_an_ensemble_draws_its_first_members_curves_and_weights(small_run, tmp_path):
    run, data = small_run
    pair = bn.ensemble([run.model, run.model])
    pair.metadata = {"members": [{"file": "a.npz", "history": run.model.history.history}]}
    page = write_report(pair, data, tmp_path, "pair.npz")
    assert {"learning-curves.png", "first-layer.png"} <= {p.name for p in tmp_path.glob("*.png")}
    assert "Ensemble → Softmax" in page.read_text()
    pair.metadata["members"][0]["history"] = {"loss": ["not a number"]}  # a tampered file
    with pytest.raises(ValueError, match="carries no training history"):
        write_report(pair, data, tmp_path / "tampered", "pair.npz")


@pytest.fixture
def drawn_curves(monkeypatch):
    """The arguments of every learning_curves call that write_report makes."""
    calls = []

    def spy(history, title="", final_test=None):
        calls.append((history, final_test))
        return real(history, title, final_test)

    real = plots.learning_curves
    monkeypatch.setattr(plots, "learning_curves", spy)
    return calls


def test_the_curves_show_validation_and_the_final_test_score(small_run, tmp_path, drawn_curves):
    run, data = small_run
    write_report(run.model, data, tmp_path, "small.npz")
    [(history, final)] = drawn_curves
    assert len(history["val_accuracy"]) == 3 and None not in history["val_accuracy"]
    assert final == {"loss": run.test_loss, "accuracy": run.test_accuracy}


def test_the_shipped_models_have_a_final_test_score_to_draw():
    for name in ("cnn", "mlp"):
        model, _ = open_model(name)
        scores = final_test(model)
        assert set(scores) == {"loss", "accuracy"} and 0.99 < scores["accuracy"] <= 1
        figure = plots.learning_curves(model.history.history, name, scores)
        assert figure.axes[1].get_legend().get_texts()[-1].get_text().startswith("test, after")
    assert final_test(bn.Sequential([bn.Dense(2, 2)])) == {}


def test_an_ensemble_draws_no_test_point_on_its_members_curves(small_run, tmp_path, drawn_curves):
    run, data = small_run
    pair = bn.ensemble([run.model, run.model])
    pair.metadata = {
        "members": [{"file": "a.npz", "history": run.model.history.history}],
        "metrics": {"test_accuracy": 0.9, "test_loss": 0.3},  # the ensemble's, not member 1's
    }
    write_report(pair, data, tmp_path, "pair.npz")
    assert drawn_curves[0][1] is None
