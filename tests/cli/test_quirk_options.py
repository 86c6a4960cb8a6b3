"""`--quirk` and `--shuffle/--no-shuffle` reach the saved config; a bad quirk is a usage error."""

import json

import barenet as bn
from tests.helpers import QUICK, invoke


def test_quirk_and_no_shuffle_are_recorded(tmp_path):
    out = tmp_path / "m.npz"
    result = invoke(
        "train", *QUICK, "--quirk", "relu-derivative-above-1", "--no-shuffle", "--out", out
    )
    assert result.exit_code == 0, result.output
    config = bn.load_model(out).metadata["config"]
    assert config["quirks"] == ["relu-derivative-above-1"]
    assert config["shuffle"] is False


def test_a_preset_keeps_its_quirks_unless_told_otherwise(tmp_path):
    out = tmp_path / "m.npz"
    args = ["--preset", "tutorial-relu-sigmoid", "--train-limit", "300", "--epochs", "1"]
    assert invoke("train", *args, "--out", out).exit_code == 0
    assert len(bn.load_model(out).metadata["config"]["quirks"]) == 2


def test_an_unknown_quirk_names_the_valid_ones(tmp_path):
    result = invoke("train", *QUICK, "--quirk", "typo", "--out", tmp_path / "m.npz")
    assert result.exit_code == 2
    assert "relu-derivative-above-1" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "m.npz").exists()


def test_experiment_can_vary_the_quirks(tmp_path):
    result = invoke(
        "experiment", "--preset", "tutorial-relu-sigmoid", "--train-limit", "300", "--epochs", "1",
        "--runs", "1", "--vary", "quirks=none,output-error", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    variants = [row["variant"] for row in json.loads(result.stdout)["variants"]]
    assert variants == ["quirks=none", "quirks=output-error"]
