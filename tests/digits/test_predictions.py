"""Predictions to a file: Kaggle's exact submission CSV, a per-file CSV, JSON; bad suffixes."""

import csv
import json

import numpy as np
import pytest

from barenet.digits.predictions import check_format, predictions_text, write_predictions

PROBABILITIES = np.array([[0.1, 0.9, 0.0], [0.7, 0.2, 0.1]])


def test_numbered_images_make_kaggles_submission(tmp_path):
    path = write_predictions(tmp_path / "submission.csv", [1, 2], PROBABILITIES)
    assert path.read_text() == "ImageId,Label\n1,1\n2,0\n"


def test_image_files_get_their_names_and_confidence(tmp_path):
    text = predictions_text(["a.png", "b,c.png"], PROBABILITIES, ".csv")
    rows = list(csv.reader(text.splitlines()))
    assert rows == [
        ["file", "digit", "probability"],
        ["a.png", "1", "0.900000"],
        ["b,c.png", "0", "0.700000"],
    ]  # a comma in a name is quoted, not split


def test_json_holds_every_probability(tmp_path):
    path = write_predictions(tmp_path / "out.json", [1, 2], PROBABILITIES)
    assert json.loads(path.read_text()) == [
        {"ImageId": 1, "digit": 1, "probabilities": [0.1, 0.9, 0.0]},
        {"ImageId": 2, "digit": 0, "probabilities": [0.7, 0.2, 0.1]},
    ]
    by_file = json.loads(predictions_text(["x.png"], PROBABILITIES[:1], ".json"))
    assert by_file[0]["file"] == "x.png"


@pytest.mark.parametrize("name", ["out.txt", "out", "submission.CSV.bak"])
def test_other_suffixes_are_refused_before_any_work(tmp_path, name):
    with pytest.raises(ValueError, match=r"--out must end in \.csv"):
        check_format(tmp_path / name)
    with pytest.raises(ValueError, match=r"--out must end in \.csv"):
        write_predictions(tmp_path / name, [1], PROBABILITIES[:1])
    assert not (tmp_path / name).exists()
