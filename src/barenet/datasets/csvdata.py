"""Digit CSVs in the Kaggle digit-recognizer layout: ``label,pixel0,...,pixel783`` per row.

A header row is optional. Rows of 785 numbers carry a label first; rows of 784 are an unlabelled
test set. A first pass counts the rows without keeping any text, so the arrays are allocated
once at their final size; a second parses ``CHUNK_ROWS`` rows at a time straight into them, so
the memory taken is the uint8 result and one chunk, whatever the size of the text. Each chunk
goes through NumPy's C parser as integers; when it refuses one, the chunk is parsed as floats
and checked, or scanned line by line so the error can name the row and column of the first bad
cell. A file whose pixels do not fit in memory (``cache.fits_in_memory``) is converted once
into the data cache and memory-mapped (see ``cache.py``).
"""

from __future__ import annotations

import gzip
import io
import math
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

import numpy as np

from barenet.datasets.cache import cached, fits_in_memory
from barenet.datasets.dataset import DataError
from barenet.datasets.idx import idx_header, read_idx

PIXELS = 784
MAX_ROW_CHARACTERS = 2**16  # a row of 785 numbers is under 4 kB
MAX_ROWS = 10**8  # 78 GB of pixels (Kaggle's train.csv has 42,000 rows): refused while counting
CHUNK_ROWS = 2048  # rows parsed at a time: a few MB of text, and as int16
CHUNK_CHARACTERS = 2**24  # and at most 16 MiB of text, however long the rows
READ_BLOCK = 2**20  # bytes read at a time when counting rows
# What reading a damaged or non-text file raises (gzip's stream errors included).
READ_ERRORS = (OSError, EOFError, UnicodeDecodeError, zlib.error)


@dataclass
class _Layout:
    """What the first pass found: a header or not, the columns, and at most how many rows."""

    header: bool
    columns: int
    rows: int  # line breaks less blank lines: at least the rows of digits

    @property
    def labelled(self) -> bool:
        return self.columns == PIXELS + 1


def _open_binary(path: Path) -> BinaryIO:
    raw = gzip.open(path, "rb") if path.name.endswith(".gz") else path.open("rb")  # noqa: SIM115
    return cast(BinaryIO, raw)  # the caller closes it


def _open_text(path: Path) -> io.TextIOBase:
    # utf-8-sig: a byte-order mark (Excel writes one) is not part of the first cell.
    return io.TextIOWrapper(_open_binary(path), encoding="utf-8-sig")  # closing it closes raw


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
        layout = _layout(path)
    except READ_ERRORS as error:
        raise DataError(f"{path}: cannot read it as text ({error}).") from None
    if not fits_in_memory(layout.rows * PIXELS):
        return _read_through_cache(path, layout)
    images = np.empty((layout.rows, PIXELS), np.uint8)
    labels = np.empty(layout.rows if layout.labelled else 0, np.uint8)
    count = 0
    for table in _chunks(path, layout):
        images[count : count + len(table)] = table[:, -PIXELS:]
        if layout.labelled:
            labels[count : count + len(table)] = table[:, 0]
        count += len(table)
    return images[:count].reshape(-1, 28, 28), labels[:count] if layout.labelled else None


def _layout(path: Path) -> _Layout:
    """The first pass: the first row says whether there is a header and how many columns; then
    the line breaks are counted, a block of bytes at a time."""
    with _open_text(path) as handle:
        first = handle.readline(MAX_ROW_CHARACTERS)
    if len(first) == MAX_ROW_CHARACTERS and not first.endswith("\n"):
        raise _row_too_long(path, 1)
    if not first.strip():
        raise DataError(f"{path} is empty; expected rows of label,pixel0..pixel783.")
    header = _has_header(first)
    columns = len(first.split(","))
    if columns not in (PIXELS, PIXELS + 1):
        raise DataError(
            f"{path}, row 1: {columns} columns; expected {PIXELS + 1} (a label and "
            f"{PIXELS} pixels) or {PIXELS} (pixels only)."
        )
    lines = 1  # a last line needs no line break
    with _open_binary(path) as raw:
        while block := raw.read(READ_BLOCK):
            # Breaks as Python's text mode sees them (\n, \r\n or \r), less most blank lines
            # (a pair of breaks split between two blocks is missed: an overestimate is safe).
            lines += block.count(b"\n") + block.count(b"\r") - block.count(b"\r\n")
            lines -= block.count(b"\n\n") + block.count(b"\n\r\n")
            if lines > MAX_ROWS:
                raise DataError(
                    f"{path} holds more than {MAX_ROWS:,} rows, over barenet's limit for a digit "
                    "CSV."
                )
    return _Layout(header, columns, lines - header)


def _row_too_long(path: Path, row: int) -> DataError:
    return DataError(
        f"{path}, row {row}: longer than {MAX_ROW_CHARACTERS:,} characters; a digit CSV has "
        "rows of 785 numbers, one per line."
    )


def _chunks(path: Path, layout: _Layout) -> Iterator[np.ndarray]:
    """The second pass: the rows of digits, parsed and checked, as uint8 tables ``(n, columns)``
    of at most ``CHUNK_ROWS`` rows."""
    row, total = 1 + layout.header, 0  # the file's row number of the chunk's first line
    try:
        with _open_text(path) as handle:
            if layout.header:
                handle.readline()
            while lines := _next_lines(handle, path, row):
                table = _parsed(path, lines, layout, row)
                row += len(lines)
                total += len(table)
                if total > layout.rows:
                    raise DataError(f"{path} changed while it was read; read it again.")
                if len(table):
                    yield table
    except READ_ERRORS as error:
        raise DataError(f"{path}: cannot read it as text ({error}).") from None
    if total == 0:
        raise DataError(f"{path} has a header but no rows of digits.")


def _next_lines(handle: io.TextIOBase, path: Path, row: int) -> list[str]:
    """Up to ``CHUNK_ROWS`` lines of text (and ``CHUNK_CHARACTERS``); a line that is too long
    is refused before it is read whole."""
    lines: list[str] = []
    characters = 0
    while len(lines) < CHUNK_ROWS and characters < CHUNK_CHARACTERS:
        line = handle.readline(MAX_ROW_CHARACTERS + 1)
        if len(line) > MAX_ROW_CHARACTERS:
            raise _row_too_long(path, row + len(lines))
        if not line:
            break
        lines.append(line)
        characters += len(line)
    return lines


def _parsed(path: Path, lines: list[str], layout: _Layout, first_row: int) -> np.ndarray:
    """A chunk of lines as a uint8 table ``(n, columns)``, every cell checked; ``first_row`` is
    the file's row number of its first line."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "input contained no data": blank lines
        try:  # whole numbers, the usual case: integer parsing is several times faster
            table = np.loadtxt(lines, delimiter=",", dtype=np.int16, ndmin=2)
        except ValueError:  # a decimal point, a NaN, a bad cell: parse as floats to say which
            try:
                table = np.loadtxt(lines, delimiter=",", dtype=np.float64, ndmin=2)
            except ValueError:
                _raise_first_bad_cell(path, lines, layout.columns, first_row)
                raise DataError(f"{path}: cannot parse the CSV.") from None  # never reached
    if table.size == 0:
        return np.empty((0, layout.columns), np.uint8)
    if table.shape[1] != layout.columns:
        raise DataError(f"{path}: rows have {table.shape[1]} columns; expected {layout.columns}.")
    _check_values(path, table, first_row, layout.labelled)
    return table.astype(np.uint8)


def _read_through_cache(path: Path, layout: _Layout) -> tuple[np.ndarray, np.ndarray | None]:
    """A CSV too large for memory, memory-mapped from IDX files it is converted into once."""

    def convert(folder: Path) -> None:
        labels = np.empty(layout.rows if layout.labelled else 0, np.uint8)  # until counted
        count = 0
        with (folder / "images-idx3-ubyte").open("wb") as images:
            images.write(idx_header((layout.rows, 28, 28)))  # as long as the final header
            for table in _chunks(path, layout):
                images.write(np.ascontiguousarray(table[:, -PIXELS:]).data)
                if layout.labelled:
                    labels[count : count + len(table)] = table[:, 0]
                count += len(table)
            images.seek(0)
            images.write(idx_header((count, 28, 28)))
        if layout.labelled:
            labels_file = folder / "labels-idx1-ubyte"
            labels_file.write_bytes(idx_header((count,)) + labels[:count].tobytes())

    folder = cached(path, layout.rows * (PIXELS + 1), convert)
    images = read_idx(folder / "images-idx3-ubyte", 3)
    labels = np.array(read_idx(folder / "labels-idx1-ubyte", 1)) if layout.labelled else None
    return images, labels


def _check_values(path: Path, table: np.ndarray, first_row: int, labelled: bool) -> None:
    """Every cell finite and whole; pixels in 0..255; labels in 0..9."""
    pixels = table[:, 1:] if labelled else table
    offset = 1 if labelled else 0
    checks = [(pixels, offset, 255, "a pixel value (an integer in 0..255)")]
    if labelled:
        checks.insert(0, (table[:, :1], 0, 9, "a label (an integer in 0..9)"))
    for values, column_offset, high, what in checks:
        bad = (values < 0) | (values > high)
        if table.dtype.kind == "f":  # an integer table holds whole, finite numbers already
            bad |= ~np.isfinite(values) | (values != np.round(values))
        if bad.any():
            row, column = (int(i) for i in np.unravel_index(int(np.argmax(bad)), bad.shape))
            where = f"{path}, row {row + first_row}, column {column + column_offset + 1}"
            value = values[row, column]
            if np.isnan(value):
                raise DataError(f"{where}: the cell is NaN; expected {what}.")
            raise DataError(f"{where}: {value:g} is not {what}.")


def _raise_first_bad_cell(path: Path, lines: list[str], columns: int, first_row: int) -> None:
    """Scan a chunk's lines and raise a DataError at the first malformed row or cell."""
    for number, line in enumerate(lines, start=first_row):
        if not line.strip():
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
