"""barenet predict: files and folders, failures per file, text and JSON output."""

import json
import os

import pytest
from PIL import Image, ImageDraw

from tests.helpers import invoke


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
