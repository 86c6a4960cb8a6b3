"""The shipped models: found by name or path, loaded with the file they came from."""

from pathlib import Path

import pytest

from barenet.digits.detector import detector_path
from barenet.digits.shipped import SHIPPED_MODELS, open_model, resolve_model_path
from barenet.saving import ModelFileError


def test_names_paths_and_the_default(tmp_path, monkeypatch):
    assert resolve_model_path(None).name == SHIPPED_MODELS["cnn"]
    assert resolve_model_path("mlp").name == SHIPPED_MODELS["mlp"]
    assert resolve_model_path(tmp_path / "mine.npz") == tmp_path / "mine.npz"
    monkeypatch.chdir(tmp_path)
    Path("cnn").write_bytes(b"")  # a file really named like a shipped model wins
    assert resolve_model_path("cnn") == Path("cnn")


# The preset and epochs of the command (docs/presets.md) that made each shipped network.
MADE_BY = {"cnn": ("cnn", 12), "mlp": ("mlp-elastic", 50)}


@pytest.mark.parametrize("name", sorted(MADE_BY))
def test_each_shipped_network_opens_with_its_path_and_history(name):
    model, path = open_model(name)
    assert path.name == SHIPPED_MODELS[name] and path.is_file()
    preset, epochs = MADE_BY[name]
    assert model.history is not None and len(model.history.epoch) == epochs
    assert model.metadata["preset"] == preset and model.metadata["config"]["epochs"] == epochs
    assert model.output_size() == 10


def test_the_shipped_ensemble_is_three_deep_cnns_that_answer_together():
    model, path = open_model("ensemble")
    assert path.name == SHIPPED_MODELS["ensemble"] and path.is_file()
    members = model.metadata["members"]
    assert [member["preset"] for member in members] == ["cnn-deep"] * 3
    assert [member["config"]["seed"] for member in members] == [0, 1, 2]
    assert model.output_size() == 10


def test_the_shipped_files_stay_under_ten_megabytes():
    files = [open_model(name)[1] for name in SHIPPED_MODELS] + [detector_path()]
    assert sum(path.stat().st_size for path in files) < 10e6


def test_neither_a_name_nor_a_file():
    with pytest.raises(ModelFileError, match="neither a shipped model"):
        open_model("resnet")
