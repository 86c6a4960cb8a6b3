"""Atomic file writes: write to a temporary file beside the target, then rename over it.

A crash or Ctrl-C mid-write leaves either the old file or the new one, never half of one. The
new file keeps the old one's permissions (a 0600 model stays 0600); a symbolic link stays a link,
and the file it points to is the one replaced. A temporary file left by a process that was
killed mid-write is removed by the next write to the same target. A file that must replace no
other (``overwrite=False``) is linked in place instead, which fails if the name is taken.

Only regular files are written: a folder, a FIFO, a device or a socket at the target (or at the
end of its link) is refused before anything is opened, since the rename would replace it (as
root, ``/dev/null`` itself) and opening a FIFO would wait for a reader.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "wb", *, overwrite: bool = True) -> Iterator[IO]:
    """Open a temporary file for writing; on success it replaces ``path`` in one rename.

    With ``overwrite=False`` it is put in place only under a name nobody has taken: a file
    already at ``path`` raises ``FileExistsError`` and is left as it was.
    """
    path = Path(os.path.realpath(path))  # through a symlink: the link is kept, its file replaced
    _refuse_unless_regular(path)
    _remove_orphans(path)
    permissions = _permissions_for(path)
    prefix = f".{path.name}.{os.getpid()}."  # the writer's pid tells an orphan from a live write
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=".tmp")
    except OSError as error:
        raise _cannot_write(path, error) from None
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, permissions)  # mkstemp makes 0600
        if overwrite:
            os.replace(temp_name, path)
        else:
            os.link(temp_name, path)  # unlike a rename, a link fails if the name is taken
    finally:
        with contextlib.suppress(FileNotFoundError):  # renamed already, or linked, or failed
            os.unlink(temp_name)


def check_writable(path: str | Path) -> None:
    """Raise PermissionError (a sentence naming ``path``) unless a file can be written there,
    before any long work whose result would go there; its folder is made if missing."""
    path = Path(os.path.realpath(path))
    _refuse_unless_regular(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as error:
        raise _cannot_write(path, error) from None


# What stands at a path, by the test that tells it.
KINDS = (
    (stat.S_ISREG, "a regular file"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(path: Path) -> str | None:
    """What stands at ``path`` (symbolic links followed), e.g. ``"a folder"``; None if nothing."""
    try:
        mode = path.stat().st_mode
    except OSError:  # nothing there (or it cannot be reached: the write will say why)
        return None
    return next((name for test, name in KINDS if test(mode)), "an unknown kind of file")


def _refuse_unless_regular(path: Path) -> None:
    """Raise PermissionError if something other than a regular file stands at ``path``, or
    other than a folder at the nearest of its folders that exists."""
    kind = _kind(path)
    if kind not in (None, "a regular file"):
        raise _cannot_write(path, f"it is {kind}, not a regular file")
    for folder in path.parents:
        kind = _kind(folder)
        if kind not in (None, "a folder"):
            raise _cannot_write(path, f"{folder} is {kind}, not a folder")
        if kind is not None:
            return


def _cannot_write(path: Path, reason: OSError | str) -> PermissionError:
    if isinstance(reason, OSError):
        reason = (reason.strerror or str(reason)).lower()
    error = PermissionError(f"Cannot write {path}: {reason}; choose another place.")
    error.strerror = reason  # the bare reason, for callers that word a sentence of their own
    return error


def _permissions_for(path: Path) -> int:
    """The mode the written file gets: the old file's, or what ``open()`` would give a new one."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:  # no such file yet (or its folder cannot exist: the write will say so)
        mask = os.umask(0)  # reading the umask means setting it; put it straight back
        os.umask(mask)
        return 0o666 & ~mask


def _remove_orphans(path: Path) -> None:
    """Delete ``.NAME.PID.*.tmp`` files beside ``path`` whose writing process no longer runs."""
    if not path.parent.is_dir():
        return
    for temp in path.parent.glob(f".{path.name}.*.tmp"):
        pid = temp.name[len(path.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not _running(int(pid)):
            with contextlib.suppress(OSError):
                temp.unlink()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    return True


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_open(path, "w") as handle:
        handle.write(text)
