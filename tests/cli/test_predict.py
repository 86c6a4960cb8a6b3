"""barenet predict: files and folders, failures per file, text and JSON output."""

import json
import math
import os

import pytest
from PIL import Image, ImageDraw

from tests.helpers import invoke, write_digit_csv


def drawing(path, kind="seven", background="white"):
    image = Image.new("RGB", (300, 300), background)
    pen = ImageDraw.Draw(image)
    ink = "black" if background == "white" else "white"
    if kind == "seven":
        pen.line([(70, 60), (230, 60), (120, 260)], fill=ink, width=18)
    image.save(path)
    return path


def test_predict_files_folders_and_failures(tmp_path):
    folder = tmp_path / "digits"
    folder.mkdir()
    drawing(folder / "seven.png")
    drawing(folder / "seven-dark.jpg", background="black")
    drawing(tmp_path / "blank.png", kind="none")
    (tmp_path / "notes.txt").write_text("not an image")
    result = invoke(
        "predict",
        folder,
        tmp_path / "blank.png",
        tmp_path / "notes.txt",
        "--json",
        "--top",
        2,
        "--save-preview",
        tmp_path / "seen",
    )
    assert result.exit_code == 1  # some files failed
    payload = json.loads(result.stdout)
    by_file = {os.path.basename(item["file"]): item for item in payload}
    assert by_file["seven.png"]["digit"] == 7 and by_file["seven-dark.jpg"]["digit"] == 7
    assert len(by_file["seven.png"]["top"]) == 2
    assert sum(by_file["seven.png"]["probabilities"]) == pytest.approx(1, abs=1e-4)
    assert "no ink found" in by_file["blank.png"]["error"]
    assert "is not a PNG, JPEG, BMP, GIF, WebP or TIFF image" in by_file["notes.txt"]["error"]
    preview = Image.open(tmp_path / "seen" / "seven.28x28.png")
    assert preview.size == (28, 28) and preview.mode == "L"


def test_predict_human_output(tmp_path):
    result = invoke("predict", drawing(tmp_path / "seven.png"))
    assert result.exit_code == 0, result.output
    assert "seven.png: 7" in result.stdout


def test_file_names_are_printed_literally_and_a_bad_file_spoils_only_itself(tmp_path):
    good = drawing(tmp_path / "[red]seven.png")
    also_good = drawing(tmp_path / "[bold]seven[.png")
    (tmp_path / "bad.tif").write_bytes(b"II*\x00" + bytes(40))
    missing = tmp_path / "q[" / "]z.png"  # the name 'q[/]z.png' is a folder and a file
    result = invoke("predict", good, tmp_path / "bad.tif", missing, also_good)
    assert result.exit_code == 1
    printed = " ".join(result.stdout.split())  # rich wraps long lines when not on a terminal
    assert f"{good}: 7" in printed and f"{also_good}: 7" in printed
    errors = " ".join(result.stderr.split())
    assert f"{tmp_path / 'bad.tif'} is not a PNG" in errors
    assert f"{missing}: no such file" in errors  # printed as typed, '[/]' included
    assert "Traceback" not in result.output


def test_an_empty_folder_is_an_error_and_previews_never_overwrite(tmp_path):
    (tmp_path / "empty").mkdir()
    result = invoke("predict", tmp_path / "empty")
    assert result.exit_code == 1 and "folder with no image files" in result.stderr
    folder = tmp_path / "drawings"
    folder.mkdir()
    drawing(folder / "a.png")
    drawing(folder / "a.jpg", background="black")
    result = invoke("predict", folder, "--save-preview", tmp_path / "seen")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "seen").iterdir()) == [
        "a-2.28x28.png",
        "a.28x28.png",
    ]


@pytest.fixture
def kaggle_test_csv(tmp_path):
    """Kaggle's test.csv layout: a header of pixel names, 784 pixels per row, no labels."""
    from barenet.datasets import load_mnist

    _, (x_test, y_test) = load_mnist()
    path = write_digit_csv(tmp_path / "test.csv", x_test[:40], header=True)
    return path, y_test[:40]


def test_a_kaggle_submission_in_one_command(kaggle_test_csv, tmp_path):
    path, labels = kaggle_test_csv
    out = tmp_path / "submission.csv"
    result = invoke("predict", "--data", path, "--out", out)
    assert result.exit_code == 0, result.output
    assert "Predicted the 40 rows of test.csv with mnist-cnn.npz" in result.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "ImageId,Label" and len(lines) == 41
    ids, digits = zip(*(map(int, line.split(",")) for line in lines[1:]), strict=True)
    assert list(ids) == list(range(1, 41))
    assert sum(d == y for d, y in zip(digits, labels, strict=True)) >= 38
    # Without --out the same CSV goes to standard output; --json gives every probability.
    assert invoke("predict", "--data", path).stdout == out.read_text()
    as_json = json.loads(invoke("predict", "--data", path, "--json").stdout)
    assert [row["ImageId"] for row in as_json] == list(range(1, 41))


def test_out_for_image_files(tmp_path):
    drawing(tmp_path / "seven.png")
    (tmp_path / "notes.txt").write_text("not an image")
    result = invoke(
        "predict", tmp_path / "seven.png", tmp_path / "notes.txt", "--out", tmp_path / "p.csv"
    )
    assert result.exit_code == 1  # notes.txt failed, and is left out of the file
    lines = (tmp_path / "p.csv").read_text().splitlines()
    assert lines[0] == "file,digit,probability" and len(lines) == 2
    assert lines[1].startswith(f"{tmp_path / 'seven.png'},7,")


def test_predict_points_the_way_for_data_sets(kaggle_test_csv, tmp_path):
    path, _ = kaggle_test_csv
    as_image = invoke("predict", path)
    assert as_image.exit_code == 1
    assert f"barenet predict --data {path} --out submission.csv" in as_image.output
    evaluated = invoke("evaluate", "--data", path)
    assert evaluated.exit_code == 1 and "barenet predict --data" in evaluated.output
    neither = invoke("predict")
    both = invoke("predict", tmp_path, "--data", path)
    assert neither.exit_code == both.exit_code == 2 and "one of the two" in both.output
    bad = invoke("predict", "--data", path, "--out", tmp_path / "s.txt")
    assert bad.exit_code == 1 and "--out must end in .csv" in bad.output


def star(path):
    """A filled five-pointed star: a shape, not a digit."""
    image = Image.new("RGB", (300, 300), "white")
    points = []
    for corner in range(10):
        radius = 120 if corner % 2 == 0 else 50
        angle = corner * 3.14159 / 5
        points.append((150 + radius * math.sin(angle), 150 - radius * math.cos(angle)))
    ImageDraw.Draw(image).polygon(points, fill="black")
    image.save(path)
    return path


def test_not_a_digit_is_said_and_the_check_can_be_turned_off(tmp_path):
    star(tmp_path / "star.png")
    drawing(tmp_path / "seven.png")
    text = invoke("predict", tmp_path / "star.png", tmp_path / "seven.png")
    assert text.exit_code == 0, text.output
    lines = dict(line.split(": ", 1) for line in text.stdout.splitlines())
    assert lines[str(tmp_path / "star.png")].startswith("not a digit (closest: ")
    assert lines[str(tmp_path / "seven.png")].startswith("7 ")
    payload = json.loads(invoke("predict", tmp_path / "star.png", tmp_path / "seven.png",
                                "--json").stdout)  # fmt: skip
    assert [item["is_digit"] for item in payload] == [False, True]
    assert all(len(item["probabilities"]) == 10 for item in payload)  # still read
    unchecked = invoke("predict", tmp_path / "star.png", "--no-digit-check", "--json")
    assert "is_digit" not in json.loads(unchecked.stdout)[0]
    plain = invoke("predict", tmp_path / "star.png", "--no-digit-check")
    assert "not a digit" not in plain.stdout


def test_predict_data_takes_a_folder_of_a_persons_digits(tmp_path):
    from barenet.datasets import load_mnist
    from barenet.digits.folders import save_correction

    _, (images, labels) = load_mnist()
    for index in range(12):
        save_correction(tmp_path / "mine", int(labels[index]), 255.0 - images[index])
    result = invoke("predict", "--data", tmp_path / "mine", "--out", tmp_path / "out.csv")
    assert result.exit_code == 0, result.output
    rows = (tmp_path / "out.csv").read_text().splitlines()
    assert rows[0] == "ImageId,Label" and len(rows) == 13
