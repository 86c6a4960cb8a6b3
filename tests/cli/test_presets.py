"""barenet presets: every preset listed."""

from click.testing import CliRunner

from barenet.cli import cli


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


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
