"""Kaggle-layout CSVs: with and without header or labels, and each malformed cell named."""

import warnings
from pathlib import Path

import numpy as np
import pytest

from barenet.datasets import DataError, load_data
from barenet.datasets.csvdata import read_digit_csv


def write_csv(path: Path, labels, pixels, header=True):
    lines = []
    if header:
        lines.append(",".join(["label"] * (labels is not None) + [f"pixel{i}" for i in range(784)]))
    for row in range(len(pixels)):
        cells = ([str(labels[row])] if labels is not None else []) + [str(v) for v in pixels[row]]
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


def corrupt_csv(tmp_path, rng, row, cell_index, value):
    pixels = rng.integers(0, 256, (4, 784)).astype(object)
    labels = [1, 2, 3, 4]
    path = write_csv(tmp_path / "bad.csv", labels, pixels)
    lines = path.read_text().splitlines()
    cells = lines[row].split(",")
    if value is None:
        cells = cells[:cell_index]
    else:
        cells[cell_index] = value
    lines[row] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_with_header_and_labels(tmp_path, rng):
    pixels = rng.integers(0, 256, (14, 784))
    labels = rng.integers(0, 10, 14)
    data = load_data(write_csv(tmp_path / "train.csv", labels, pixels))
    assert (len(data.x_train), len(data.x_test)) == (12, 2)
    np.testing.assert_array_equal(data.x_train.reshape(12, 784), pixels[:12])
    np.testing.assert_array_equal(data.y_test, labels[12:])
    assert "train.csv has no test split: held out its last 2 samples" in data.notes[0]


def test_csv_without_header(tmp_path, rng):
    pixels = rng.integers(0, 256, (3, 784))
    images, labels = read_digit_csv(
        write_csv(tmp_path / "plain.csv", [1, 2, 3], pixels, header=False)
    )
    assert labels.tolist() == [1, 2, 3] and images.shape == (3, 28, 28)


def test_unlabelled_csv_is_a_test_set(tmp_path, rng):
    path = write_csv(tmp_path / "test.csv", None, rng.integers(0, 256, (3, 784)))
    images, labels = read_digit_csv(path)
    assert labels is None and images.shape == (3, 28, 28)
    with pytest.raises(DataError, match="no label column .* unlabelled test set"):
        load_data(path)


@pytest.mark.parametrize(
    "row, cell, value, message",
    [
        (3, 10, "abc", r"bad.csv, row 4, column 11: 'abc' is not a number"),
        (2, 5, "nan", r"bad.csv, row 3, column 6: the cell is NaN"),
        (4, 700, None, r"bad.csv, row 5: 700 columns; expected 785 .* cut short"),
        (1, 3, "256", r"bad.csv, row 2, column 4: 256 is not a pixel value"),
        (1, 3, "-1", r"row 2, column 4: -1 is not a pixel value"),
        (1, 3, "1.5", r"row 2, column 4: 1.5 is not a pixel value"),
        (3, 0, "10", r"bad.csv, row 4, column 1: 10 is not a label"),
    ],
)
def test_malformed_csv_cells(tmp_path, rng, row, cell, value, message):
    with pytest.raises(DataError, match=message):
        load_data(corrupt_csv(tmp_path, rng, row, cell, value))


def test_csv_with_wrong_width_and_empty(tmp_path):
    (tmp_path / "narrow.csv").write_text("1,2,3\n4,5,6\n")
    with pytest.raises(DataError, match="row 1: 3 columns; expected 785"):
        load_data(tmp_path / "narrow.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="is empty"):
        load_data(tmp_path / "empty.csv")


def test_a_byte_order_mark_and_a_bad_cell_in_the_first_row_are_not_a_header(tmp_path, rng):
    rows = [",".join(map(str, [int(rng.integers(0, 10)), *rng.integers(0, 256, 784)]))
            for _ in range(5)]  # fmt: skip
    path = tmp_path / "bom.csv"
    path.write_text("\ufeff" + "\n".join(rows) + "\n", encoding="utf-8")
    images, labels = read_digit_csv(path)
    assert len(images) == len(labels) == 5
    bad_first = rows[0].split(",")
    bad_first[7] = "oops"
    (tmp_path / "bad.csv").write_text("\n".join([",".join(bad_first), *rows[1:]]) + "\n")
    with pytest.raises(DataError, match="row 1, column 8: 'oops' is not a number"):
        read_digit_csv(tmp_path / "bad.csv")


def test_a_header_without_rows_is_one_sentence_and_no_warning(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text(",".join(["label", *(f"pixel{i}" for i in range(784))]) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's "input contained no data" must not leak
        with pytest.raises(DataError, match="has a header but no rows"):
            read_digit_csv(path)


def test_a_compressed_csv_cannot_grow_without_bound(tmp_path, monkeypatch):
    import gzip

    import barenet.datasets.csvdata as csvdata

    no_newline = tmp_path / "one-line.csv.gz"
    with gzip.open(no_newline, "wb") as handle:
        for _ in range(8):
            handle.write(b"1," * 2**16)  # 1 MB, never a newline
    with pytest.raises(DataError, match="row 1: longer than 65,536 characters"):
        read_digit_csv(no_newline)
    monkeypatch.setattr(csvdata, "MAX_ROWS", 500)  # a cap of 500 rows, for a small test
    row = ",".join(["1"] * 785) + "\n"
    many = tmp_path / "many.csv.gz"
    with gzip.open(many, "wt") as handle:
        handle.write(row * 1000)
    with pytest.raises(DataError, match="holds more than 500 rows, over barenet's limit"):
        read_digit_csv(many)
    long_second_row = tmp_path / "long-second-row.csv.gz"
    with gzip.open(long_second_row, "wb") as handle:
        handle.write(row.encode() + b"1," * 2**17)  # a good first row, then 256 kB and no end
    with pytest.raises(DataError, match="row 2: longer than 65,536 characters"):
        read_digit_csv(long_second_row)
