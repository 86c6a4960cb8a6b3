"""Atomic writes: a file is replaced whole, or not at all."""

import os
import subprocess
import sys

import pytest

from barenet.atomic import atomic_open, atomic_write_text


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "notes.txt"
    atomic_write_text(path, "old")
    with pytest.raises(RuntimeError), atomic_open(path, "w") as handle:
        handle.write("half of the new")
        raise RuntimeError("interrupted")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_folders_are_made_and_the_new_text_replaces_the_old(tmp_path):
    path = tmp_path / "a" / "b" / "notes.txt"
    atomic_write_text(path, "first")
    atomic_write_text(path, "second")
    assert path.read_text() == "second"


def test_the_old_files_permissions_are_kept(tmp_path):
    path = tmp_path / "secret.npz"
    atomic_write_text(path, "old")
    path.chmod(0o600)
    atomic_write_text(path, "new")
    assert path.stat().st_mode & 0o777 == 0o600 and path.read_text() == "new"


def test_a_symlink_stays_a_link_and_its_file_is_replaced(tmp_path):
    target = tmp_path / "models" / "real.npz"
    atomic_write_text(target, "old")
    link = tmp_path / "latest.npz"
    link.symlink_to(target)
    atomic_write_text(link, "new")
    assert link.is_symlink() and target.read_text() == "new"


def test_temporary_files_of_killed_writers_are_removed(tmp_path):
    path = tmp_path / "model.npz"
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)  # fmt: skip
    orphan = tmp_path / f".model.npz.{finished.stdout.strip()}.abc123.tmp"  # its writer is gone
    orphan.write_text("half")
    live = tmp_path / f".model.npz.{os.getppid()}.def456.tmp"  # a writer still running
    live.write_text("writing")
    atomic_write_text(path, "done")
    assert not orphan.exists() and live.exists()
