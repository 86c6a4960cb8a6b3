"""Model files: one ``.npz`` with named arrays plus a JSON description, never a pickle.

This module knows the file format, not the model (as tinygrad's ``nn/state.py`` knows only
``name -> array`` dicts): ``Sequential.save`` and ``barenet.load_model`` build on it. The JSON
(layer configs, loss, dtype, training history and free-form metadata) is stored as a unicode array
under ``__barenet__``. Loading uses ``allow_pickle=False``, so a model file can never run code,
and ``copy_arrays`` checks every array's name and shape before it is used.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from barenet.atomic import atomic_open
from barenet.version import __version__

CONFIG_KEY = "__barenet__"
MAX_FILE_BYTES = 2**30  # 1 GiB unpacked (the shipped CNN is 1.2 MB): checked before reading
FORMAT = "barenet.model"
FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """A model file is missing, corrupt, truncated, foreign or inconsistent."""


def _to_json(value: Any) -> Any:
    """``json.dumps`` fallback for NumPy scalars and arrays inside metadata."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(
        f"the value {value!r} of type {type(value).__name__} is not JSON data (numbers, strings, "
        "lists and dicts)"
    )


def model_file_path(path: str | Path) -> Path:
    """Where a model saved as ``path`` goes: ``.npz`` is added when missing."""
    path = Path(path)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def write_model_file(
    path: str | Path, arrays: Mapping[str, np.ndarray], description: dict[str, Any]
) -> Path:
    """Write named arrays and a JSON description to ``path`` (``.npz`` added if missing),
    atomically; returns the path.

    Args:
        arrays: ``name -> array``, e.g. ``{"layers.0.weight": ...}``.
        description: JSON data (NumPy scalars and arrays are converted) that rebuilds the model.
    """
    path = model_file_path(path)
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "barenet_version": __version__}
    try:
        document = json.dumps({**header, **description}, default=_to_json)
    except (TypeError, ValueError, RecursionError) as error:
        raise ValueError(f"Cannot save {path.name}: {error}.") from None
    members: dict[str, Any] = {**arrays, CONFIG_KEY: np.array(document)}
    with atomic_open(path) as handle:
        np.savez_compressed(handle, **members)
    return path


def read_model_file(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The named arrays and the description in a model file; ``ModelFileError`` if it is not
    one (missing, corrupt, truncated, pickled, foreign or from a newer barenet)."""
    path = _checked_file(path)
    arrays = _read_arrays(path)
    if CONFIG_KEY not in arrays:
        raise ModelFileError(f"{path} is an .npz file but not a barenet model (no {CONFIG_KEY}).")
    try:
        description = json.loads(str(arrays.pop(CONFIG_KEY)))
    except (ValueError, RecursionError) as error:  # bad JSON, huge numbers, deep nesting
        raise ModelFileError(f"{path} has a damaged model description: {error}.") from None
    if not isinstance(description, dict) or description.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a barenet model file (unknown format).")
    version = description.get("format_version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ModelFileError(f"{path} has an invalid format_version {version!r}.")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written by a newer barenet ({description.get('barenet_version')}); "
            "upgrade barenet to read it."
        )
    return arrays, description


def _checked_file(path: str | Path) -> Path:
    """``path`` if it is a readable regular file holding a zip archive; else the reason why not."""
    if not str(path):
        raise ModelFileError("No model file was given (the path is empty).")
    path = Path(path)
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder, not a model file.")
    if not path.exists():
        raise ModelFileError(f"Model file {path} does not exist.")
    if not path.is_file():
        raise ModelFileError(f"{path} is not a regular file (a device, pipe or socket).")
    try:
        with path.open("rb") as handle:
            start = handle.read(4)
    except PermissionError:
        raise ModelFileError(f"{path} cannot be read: permission denied.") from None
    if start == b"\x93NUM":
        raise ModelFileError(f"{path} holds a bare array, not a barenet model (.npz).")
    if start.startswith(b"\x80"):  # the first byte of every binary pickle
        raise ModelFileError(
            f"{path} contains pickled Python objects; barenet never loads pickles, because "
            "loading one can run arbitrary code. Save models with barenet's model.save()."
        )
    if start != b"PK\x03\x04":
        raise ModelFileError(f"{path} is not a barenet model file (it is not an .npz archive).")
    return path


def check_archive(
    path: Path, error: type[ValueError] = ModelFileError, what: str = "a model file"
) -> None:
    """Refuse an ``.npz`` whose members would unpack to more than ``MAX_FILE_BYTES``, or whose
    arrays declare more data than their member holds, before any of it is read; ``error`` is
    the exception to raise (data files raise DataError)."""
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        total = sum(member.file_size for member in members)
        if total > MAX_FILE_BYTES:
            raise error(
                f"{path} would unpack to {total / 2**30:.3g} GiB, over barenet's limit of "
                f"{MAX_FILE_BYTES / 2**30:.3g} GiB for {what}."
            )
        for member in members:
            if not member.filename.endswith(".npy"):
                continue
            with archive.open(member) as handle:
                version = np.lib.format.read_magic(handle)
                read_header = (
                    np.lib.format.read_array_header_1_0
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                shape, _, dtype = read_header(handle)
            if int(np.prod(shape, dtype=np.float64)) * dtype.itemsize > member.file_size:
                raise error(
                    f"{path}: the array {member.filename[:-4]!r} declares shape {shape}, more "
                    f"data than its {member.file_size:,} bytes hold."
                )


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        check_archive(path)
        with np.load(path, allow_pickle=False) as archive:  # a zip archive: _checked_file said so
            arrays = {name: archive[name] for name in archive.files}
    except ModelFileError:
        raise
    except ValueError as error:
        if "pickle" in str(error):
            raise ModelFileError(
                f"{path} contains pickled Python objects; barenet never loads pickles, because "
                "loading one can run arbitrary code. Save models with barenet's model.save()."
            ) from None
        raise ModelFileError(f"{path} is not a readable model file: {error}.") from None
    except (
        OSError,
        EOFError,
        zipfile.BadZipFile,
        zlib.error,
        RuntimeError,
        NotImplementedError,
    ) as error:
        raise ModelFileError(
            f"{path} is corrupt or truncated ({type(error).__name__}: {error}); re-save or "
            "re-download it."
        ) from None
    for name, value in arrays.items():
        if not isinstance(value, np.ndarray):
            raise ModelFileError(f"{path} is corrupt: its member {name!r} is not an array.")
    return arrays


def copy_arrays(
    path: str | Path, target: Mapping[str, np.ndarray], arrays: Mapping[str, np.ndarray]
) -> None:
    """Copy ``arrays`` into the arrays of ``target`` in place, after checking that the names
    match exactly and every shape agrees; ``path`` is the file they came from, for errors."""
    missing = sorted(set(target) - set(arrays))
    unexpected = sorted(set(arrays) - set(target))
    if missing or unexpected:
        raise ModelFileError(
            f"{path} does not match its own description: missing arrays {missing}, "
            f"unexpected arrays {unexpected}."
        )
    for name, destination in target.items():
        value = arrays[name]
        if value.shape != destination.shape:
            raise ModelFileError(
                f"{path}: {name} has shape {value.shape}, expected {destination.shape}."
            )
        if not np.issubdtype(value.dtype, np.floating) or not np.isfinite(value).all():
            raise ModelFileError(f"{path}: {name} holds non-finite or non-float values.")
        destination[...] = value
