import json

import pytest

from tests.helpers import QUICK, invoke


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A model trained by `barenet train --json` in a few seconds, and what it printed."""
    folder = tmp_path_factory.mktemp("train")
    result = invoke("train", *QUICK, "--out", folder / "tiny.npz", "--json")
    assert result.exit_code == 0, result.output
    return folder / "tiny.npz", json.loads(result.stdout)
