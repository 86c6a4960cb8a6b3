"""The data cache: a large gzip or CSV source converted once into uncompressed IDX files, which
barenet reads through a memory map, so a data set larger than the machine's memory still trains.

A source whose pixels do not fit in memory (more than ``IN_MEMORY_BYTES``, or than half the
memory at hand: see ``mapped.py``) is converted on first use, in bounded memory, into a folder
named by the SHA256 of the source file: an edited source gets a
new copy, and a stale one is never read. The folder is built under a temporary name and renamed
into place, so a crash never leaves half a copy that looks whole. The cache lives in
``$BARENET_DATA_CACHE``, else ``$XDG_CACHE_HOME/barenet/data`` (``~/.cache/barenet/data``);
deleting it costs only a conversion.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from barenet.datasets.dataset import DataError
from barenet.datasets.mapped import FITS_FRACTION, memory_at_hand

IN_MEMORY_BYTES = 2**30  # more pixels than this (1.37 million digits) are memory-mapped instead
FREE_DISK_MARGIN = 2**30  # a conversion leaves at least this much of its disk free
READ_BLOCK = 2**20  # bytes read at a time when hashing a source


def fits_in_memory(size: int) -> bool:
    """Whether ``size`` bytes of pixels are read into memory rather than through the cache:
    at most ``IN_MEMORY_BYTES``, and at most half the memory at hand (a container's limit
    included), so a small machine memory-maps sooner."""
    at_hand = memory_at_hand()
    return size <= IN_MEMORY_BYTES and (at_hand is None or size <= FITS_FRACTION * at_hand)


def cache_folder() -> Path:
    """Where converted sources go: ``$BARENET_DATA_CACHE``, else ``$XDG_CACHE_HOME/barenet/data``
    (``~/.cache/barenet/data``)."""
    if os.environ.get("BARENET_DATA_CACHE"):
        return Path(os.environ["BARENET_DATA_CACHE"])
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home) / "barenet" / "data"


def file_sha256(path: Path) -> str:
    """The SHA256 of a file's bytes, read a block at a time."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while block := handle.read(READ_BLOCK):
                digest.update(block)
    except OSError as error:
        raise DataError(f"{path}: cannot read the file ({error.strerror or error}).") from None
    return digest.hexdigest()


def cached(source: Path, needs_bytes: int, convert: Callable[[Path], None]) -> Path:
    """The cache folder that holds ``source`` converted by ``convert(folder)``, which writes
    about ``needs_bytes`` into the empty folder it is given; converted on first use only.

    One conversion runs at a time: a process that finds another converting waits for it, then
    uses its copy (several runs started on the same data convert it once).

    Raises:
        DataError: the cache's disk has no room for it, or the cache cannot be written.
    """
    root = cache_folder()
    _check_room(root, needs_bytes, source)
    target = root / file_sha256(source)
    if target.is_dir():
        return target
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = (root / ".converting").open("wb")
    except OSError as error:
        raise _cannot_write(root, error) from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the process ends, however it ends
        if target.is_dir():
            return target  # converted while this process waited
        for abandoned in root.glob(".*/"):  # left by a killed conversion: none runs now
            shutil.rmtree(abandoned, ignore_errors=True)
        building = Path(tempfile.mkdtemp(dir=root, prefix=f".{target.name}."))
        try:
            convert(building)  # reading errors are DataErrors; an OSError is the cache's
            _flush(building)
            os.rename(building, target)
        except OSError as error:
            raise _cannot_write(root, error) from None
        finally:
            shutil.rmtree(building, ignore_errors=True)
    return target


def _check_room(root: Path, needs_bytes: int, source: Path) -> None:
    existing = root
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent  # the cache folder may not exist yet: ask its disk
    free = shutil.disk_usage(existing).free
    if needs_bytes > free - FREE_DISK_MARGIN:
        raise DataError(
            f"{source} is too large to read into memory, and its memory-mapped copy needs "
            f"{needs_bytes / 1e9:,.1f} GB in the data cache {root}, whose disk has "
            f"{free / 1e9:,.1f} GB free. Set BARENET_DATA_CACHE to a folder with room."
        )


def _flush(folder: Path) -> None:
    """Write the folder's files to disk before the rename makes them the copy: after a crash,
    the copy is whole or absent (and memory is not held by pages waiting to be written)."""
    for path in folder.iterdir():
        with path.open("rb+") as handle:
            os.fsync(handle.fileno())


def _cannot_write(root: Path, error: OSError) -> DataError:
    return DataError(
        f"Cannot write the data cache {root} ({error.strerror or error}); set "
        "BARENET_DATA_CACHE to a folder with room that you can write."
    )


def cache_note(source: str | Path, images: np.ndarray) -> list[str]:
    """A note for ``Dataset.notes`` when ``images`` are read from the cache, saying where."""
    filename = getattr(images, "filename", None)
    with contextlib.suppress(ValueError, TypeError):
        if filename and Path(filename).resolve().is_relative_to(cache_folder().resolve()):
            folder = Path(filename).parent
            return [
                f"{source} is larger than barenet reads into memory: it is read through a memory "
                f"map of its uncompressed copy in {folder} (delete it to free the space; "
                "BARENET_DATA_CACHE moves the cache)."
            ]
    return []
