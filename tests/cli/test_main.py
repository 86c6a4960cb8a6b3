"""The command group: a user's mistake is one line and exit code 1, usage mistakes exit 2."""

import json

import pytest

from tests.helpers import invoke


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
        (["train", "--threads", "0"], "--threads must be 1 to 256. Received: 0"),
        (["evaluate", "/nowhere/model.npz"], "Model file /nowhere/model.npz does not exist"),
        (["experiment", "--vary", "colour=red"], "--vary: unknown option 'colour'"),
        (["train", "--conv", "32,64,128"], "shrinks 28x28 images to nothing"),
        (["evaluate", "--model", "resnet"], "'resnet' is neither a shipped model (cnn, ensemble"),
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


def test_ctrl_c_before_training_exits_130(monkeypatch):
    import barenet.cli.evaluate

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(barenet.cli.evaluate, "load_digit_data", interrupted)
    result = invoke("evaluate", "mlp")
    assert result.exit_code == 130 and "Interrupted." in result.stderr


def test_json_output_never_holds_a_bare_nan(capsys):
    from barenet.cli.common import emit_json

    emit_json({"loss": float("nan"), "history": {"val_loss": [0.5, float("inf")]}})
    assert json.loads(capsys.readouterr().out) == {
        "loss": None,
        "history": {"val_loss": [0.5, None]},
    }


def test_every_commands_help_ends_with_its_docs_pointer():
    from pathlib import Path

    from barenet.cli.main import DOCS, cli, docs_pointer

    assert set(DOCS) == set(cli.commands)
    repository = Path(__file__).parents[2]
    for name in cli.commands:
        result = invoke(name, "--help")
        assert result.exit_code == 0, result.output
        pointer = docs_pointer(DOCS[name])
        assert result.stdout.rstrip().endswith("\n  " + pointer), name  # one line, at the end
        assert len(pointer) <= 76  # fits one line of an 80-column help
        for page in DOCS[name]:
            assert (repository / page.split("#")[0]).is_file(), page
    assert invoke("--help").stdout.rstrip().endswith("docs/cli.md has a section per command.")


def test_the_command_list_cuts_no_summary_short():
    from barenet.cli.main import cli

    listing = invoke("--help").stdout.split("Commands:")[1]
    assert "..." not in listing
    for name, command in cli.commands.items():
        summary = command.help.strip().splitlines()[0]
        assert f"{name:<12}{summary}" in listing  # whole, at 80 columns
        assert len(summary) <= 62  # what click shows unwrapped beside the longest name
