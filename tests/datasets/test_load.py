"""load_data: a clear error for a missing path or an unknown format."""

import pytest

from barenet.datasets import DataError, load_data


def test_missing_paths_and_unknown_formats(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_data(tmp_path / "nowhere")
    with pytest.raises(DataError, match="holds no IDX files"):
        load_data(tmp_path)
    (tmp_path / "data.txt").write_text("hello")
    with pytest.raises(DataError, match="unknown data format"):
        load_data(tmp_path / "data.txt")
