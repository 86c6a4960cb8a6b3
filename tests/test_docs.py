"""The documentation site builds with Sphinx, every warning an error: the API reference from the
docstrings, and the guide's committed notebooks."""

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("myst_nb")

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_the_site_builds_without_a_warning(tmp_path):
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         str(DOCS), str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    api = (tmp_path / "api.html").read_text()
    for name in (
        "model.Sequential", "layers.Dense", "losses.CrossEntropy", "gradcheck.check_gradients",
        "conv.Conv2D",
    ):  # fmt: skip
        assert f'id="barenet.{name}"' in api, f"the API reference lacks barenet.{name}"
    assert "From <code" in (tmp_path / "guide" / "03-softmax.html").read_text()
