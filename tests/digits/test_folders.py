"""A person's DIGIT/NAME.png folder: saving corrections, reading it as a data set, its errors."""

import numpy as np
import pytest
from PIL import Image

from barenet.datasets import DataError
from barenet.digits.data import load_digit_data, load_digit_images
from barenet.digits.folders import (
    default_folder,
    image_files,
    is_digit_folder,
    load_digit_folder,
    save_correction,
)


def drawing(digit_index=0):
    """A page with one MNIST digit drawn dark on white, 140x140."""
    from barenet.datasets import load_mnist

    _, (images, labels) = load_mnist()
    big = Image.fromarray(255 - images[digit_index]).resize((140, 140))
    return np.asarray(big, np.float32), int(labels[digit_index])


@pytest.fixture(scope="module")
def person(tmp_path_factory):
    """A folder of 35 digits: 7 of each of 0..4, from MNIST's test set."""
    from barenet.datasets import load_mnist

    folder = tmp_path_factory.mktemp("my-digits")
    _, (images, labels) = load_mnist()
    for digit in range(5):
        for index in np.flatnonzero(labels == digit)[:7]:
            save_correction(folder, digit, 255.0 - images[index].astype(np.float32))
    return folder


def test_a_correction_is_saved_under_its_digit(tmp_path):
    gray, label = drawing()
    first = save_correction(tmp_path, label, gray)
    second = save_correction(tmp_path, label, gray)
    assert first.parent == second.parent == tmp_path / str(label) and first != second
    with Image.open(first) as image:
        assert image.format == "PNG" and image.size == (140, 140)
    assert not list(tmp_path.rglob("*.tmp"))  # written atomically: no temporary file left
    assert image_files(tmp_path) == sorted([(first, label), (second, label)])


def test_a_large_photo_is_saved_smaller(tmp_path):
    path = save_correction(tmp_path, 3, np.full((3000, 2000), 200.0))
    with Image.open(path) as image:
        assert max(image.size) == 1024


def test_a_correction_must_be_a_digit(tmp_path):
    with pytest.raises(ValueError, match="A digit is 0 to 9. Received: digit=10"):
        save_correction(tmp_path, 10, np.zeros((28, 28)))


def test_the_default_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("BARENET_MY_DIGITS", str(tmp_path / "mine"))
    assert default_folder() == tmp_path / "mine"
    monkeypatch.delenv("BARENET_MY_DIGITS")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_folder() == tmp_path / "barenet" / "my-digits"


def test_a_flat_folder_holds_out_a_seventh_of_every_digit(person):
    data = load_digit_folder(person)
    assert len(data.x_train) == 30 and len(data.x_test) == 5
    assert sorted(data.y_test.tolist()) == [0, 1, 2, 3, 4]  # one of each digit's seven
    assert data.x_train.shape[1:] == (28, 28) and data.x_train.dtype == np.uint8
    assert "held out 5 of its 35 images" in data.notes[0]
    np.testing.assert_array_equal(load_digit_folder(person).x_test, data.x_test)  # seeded


def test_train_and_test_folders_are_kept(tmp_path):
    gray, label = drawing()
    for split in ("train", "test"):
        save_correction(tmp_path / split, label, gray)
    data = load_digit_data(tmp_path)
    assert len(data.x_train) == len(data.x_test) == 1 and data.notes == []


def test_every_data_option_takes_a_folder(person):
    assert is_digit_folder(person)
    assert len(load_digit_data(person).x_train) == 30
    images, what = load_digit_images(person)
    assert images.shape == (35, 28, 28) and "35 images" in what


def test_a_damaged_image_is_named(tmp_path):
    gray, label = drawing()
    save_correction(tmp_path, label, gray)
    save_correction(tmp_path, label, gray)
    (tmp_path / "2" / "broken.png").parent.mkdir(exist_ok=True)
    (tmp_path / "2" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match="broken.png is not a PNG.*Remove or replace it"):
        load_digit_data(tmp_path)


def test_a_folder_without_images(tmp_path):
    (tmp_path / "4").mkdir()
    (tmp_path / "4" / "notes.txt").write_text("not an image")
    with pytest.raises(DataError, match="has no images in digit folders"):
        load_digit_data(tmp_path)
