"""barenet presets: every preset listed."""

from tests.helpers import invoke


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
