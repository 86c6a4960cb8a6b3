"""Digit CSVs in the Kaggle digit-recognizer layout: ``label,pixel0,...,pixel783`` per row.

A header row is optional. Rows of 785 numbers carry a label first; rows of 784 are an unlabelled
test set. The fast path is NumPy's C parser; when it refuses a file, a line-by-line scan finds the
first bad cell so the error can name its row and column.
"""

from __future__ import annotations

import gzip
import io
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from barenet.datasets.dataset import DataError

PIXELS = 784


MAX_BYTES = 2**29  # 512 MiB of text (Kaggle's train.csv is 73 MB), decompressed
MAX_ROW_CHARACTERS = 2**16  # a row of 785 numbers is under 4 kB


class _Capped(io.RawIOBase):
    """A byte stream that raises DataError once more than ``limit`` bytes were read from it, so
    a small .csv.gz cannot decompress into gigabytes."""

    def __init__(self, raw: Any, limit: int, path: Path) -> None:  # a binary file or GzipFile
        self.raw, self.limit, self.path, self.total = raw, limit, path, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self.raw.readinto(buffer)
        self.total += count
        if self.total > self.limit:
            raise DataError(
                f"{self.path} holds more than {self.limit / 2**20:.0f} MiB of text, over "
                "barenet's limit for a digit CSV."
            )
        return count

    def close(self) -> None:
        self.raw.close()
        super().close()


def _open_text(path: Path) -> io.TextIOBase:
    raw = gzip.open(path, "rb") if path.name.endswith(".gz") else path.open("rb")  # noqa: SIM115
    # utf-8-sig: a byte-order mark (Excel writes one) is not part of the first cell.
    capped = io.BufferedReader(_Capped(raw, MAX_BYTES, path))  # closing it closes raw
    return io.TextIOWrapper(capped, encoding="utf-8-sig")  # the caller closes it


def _has_header(first_line: str) -> bool:
    """A header names its columns: no cell of it is a number (``label,pixel0,...``). A row with
    a few bad cells among numbers is data, and its bad cell is reported."""
    for cell in first_line.split(","):
        try:
            float(cell)
        except ValueError:
            continue
        return False
    return True


def read_digit_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Read a digit CSV into uint8 images ``(N, 28, 28)`` and uint8 labels ``(N,)`` or None."""
    path = Path(path)
    try:
        with _open_text(path) as handle:
            first = handle.readline(MAX_ROW_CHARACTERS)
        if len(first) == MAX_ROW_CHARACTERS and not first.endswith("\n"):
            raise DataError(
                f"{path}, row 1: longer than {MAX_ROW_CHARACTERS:,} characters; a digit CSV has "
                "rows of 785 numbers, one per line."
            )
        if not first.strip():
            raise DataError(f"{path} is empty; expected rows of label,pixel0..pixel783.")
        header = _has_header(first)
        columns = len(first.split(","))
        if columns not in (PIXELS, PIXELS + 1):
            raise DataError(
                f"{path}, row 1: {columns} columns; expected {PIXELS + 1} (a label and "
                f"{PIXELS} pixels) or {PIXELS} (pixels only)."
            )
        with _open_text(path) as handle:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # "input contained no data"
                    table = np.loadtxt(
                        handle, delimiter=",", dtype=np.float64, ndmin=2, skiprows=int(header)
                    )
            except DataError:
                raise
            except ValueError:
                table = None
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read it as text ({error}).") from None
    first_row = 2 if header else 1
    if table is not None and len(table) == 0:
        raise DataError(f"{path} has a header but no rows of digits.")
    if table is None:
        try:
            _raise_first_bad_cell(path, columns, first_row)
        except UnicodeDecodeError as error:
            raise DataError(f"{path}: cannot read it as text ({error}).") from None
        raise DataError(f"{path}: cannot parse the CSV.")  # the scan always finds the problem
    if table.shape[1] != columns:
        raise DataError(f"{path}: rows have {table.shape[1]} columns; expected {columns}.")
    labelled = columns == PIXELS + 1
    _check_values(path, table, first_row, labelled)
    if labelled:
        return table[:, 1:].astype(np.uint8).reshape(-1, 28, 28), table[:, 0].astype(np.uint8)
    return table.astype(np.uint8).reshape(-1, 28, 28), None


def _check_values(path: Path, table: np.ndarray, first_row: int, labelled: bool) -> None:
    """Every cell finite and whole; pixels in 0..255; labels in 0..9."""
    pixels = table[:, 1:] if labelled else table
    offset = 1 if labelled else 0
    checks = [(pixels, offset, 255, "a pixel value (an integer in 0..255)")]
    if labelled:
        checks.insert(0, (table[:, :1], 0, 9, "a label (an integer in 0..9)"))
    for values, column_offset, high, what in checks:
        bad = ~np.isfinite(values) | (values < 0) | (values > high) | (values != np.round(values))
        if bad.any():
            row, column = (int(i) for i in np.unravel_index(int(np.argmax(bad)), bad.shape))
            where = f"{path}, row {row + first_row}, column {column + column_offset + 1}"
            value = values[row, column]
            if np.isnan(value):
                raise DataError(f"{where}: the cell is NaN; expected {what}.")
            raise DataError(f"{where}: {value:g} is not {what}.")


def _raise_first_bad_cell(path: Path, columns: int, first_row: int) -> None:
    """Scan the file line by line and raise a DataError at the first malformed row or cell."""
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if number < first_row or not line.strip():
                continue
            cells = line.rstrip("\r\n").split(",")
            if len(cells) != columns:
                raise DataError(
                    f"{path}, row {number}: {len(cells)} columns; expected {columns} like the "
                    "first row. Is the row cut short?"
                )
            for column, cell in enumerate(cells, start=1):
                try:
                    value = float(cell)
                except ValueError:
                    raise DataError(
                        f"{path}, row {number}, column {column}: {cell.strip()!r} is not a number."
                    ) from None
                if math.isnan(value):
                    raise DataError(f"{path}, row {number}, column {column}: the cell is NaN.")
