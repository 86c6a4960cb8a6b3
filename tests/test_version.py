"""The version is written once, in barenet/version.py, and the installed metadata agrees."""

from importlib.metadata import version

import barenet as bn
from barenet.saving import read_model_file


def test_one_version_everywhere(tmp_path):
    assert bn.__version__ == version("barenet")
    path = bn.Sequential([bn.Dense(2, 2)]).save(tmp_path / "m.npz")
    assert read_model_file(path)[1]["barenet_version"] == bn.__version__
