"""Faults: a process killed while saving leaves the old model whole, and the next save removes
what it left behind; a target that cannot be written is found before any work."""

import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import barenet as bn

SAVE_FOREVER = """
import sys
import numpy as np
import pytest
import barenet as bn
model = bn.Sequential([bn.Dense(1500, 1500, rng=np.random.default_rng(1))])
print("ready", flush=True)
while True:
    model.save(sys.argv[1])
"""


def test_sigkill_while_saving_leaves_a_whole_model_and_the_next_save_cleans_up(tmp_path):
    path = tmp_path / "model.npz"
    original = bn.Sequential([bn.Dense(1500, 1500, rng=np.random.default_rng(1))])
    original.save(path)
    for delay in (0.05, 0.13, 0.31):  # kill at different moments of a ~0.2 s save
        process = subprocess.Popen(
            [sys.executable, "-c", SAVE_FOREVER, str(path)], stdout=subprocess.PIPE, text=True
        )
        assert process.stdout.readline().strip() == "ready"
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        loaded = bn.load_model(path)  # the old file or a new whole one, never half of one
        np.testing.assert_array_equal(loaded.layers[0].weight, original.layers[0].weight)
    original.save(path)  # a later save removes the temporaries of the killed writers
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_a_model_cannot_be_saved_where_a_file_is_in_the_way(tmp_path):
    (tmp_path / "taken").write_text("a file, not a folder")
    model = bn.Sequential([bn.Dense(2, 2)])
    try:
        model.save(tmp_path / "taken" / "model.npz")
    except PermissionError as error:
        assert "Cannot write" in str(error) and ".tmp" not in str(error)
    else:
        raise AssertionError("saving under a file should fail")


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs, where mounting one is allowed (root in a container or VM)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                          capture_output=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here to fill a disk")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_a_full_disk_leaves_the_old_model_and_history_together(small_disk):
    from tests.helpers import invoke

    out = small_disk / "model.npz"
    first = invoke("train", "--layers", "784,16,10", "--epochs", "1", "--train-limit", 500,
                   "--out", out)  # fmt: skip
    assert first.exit_code == 0, first.output
    old_model, old_history = out.read_bytes(), out.with_suffix(".history.json").read_bytes()
    filler = small_disk / "filler"
    free = shutil.disk_usage(small_disk).free
    filler.write_bytes(bytes(free - 300_000))  # ~300 kB left: room for a history, not a model
    second = invoke("train", "--layers", "784,512,10", "--epochs", "1", "--train-limit", 500,
                    "--out", out)  # fmt: skip
    assert second.exit_code == 1 and "Traceback" not in second.output
    assert "No space left" in second.stderr
    assert out.read_bytes() == old_model
    assert out.with_suffix(".history.json").read_bytes() == old_history
    assert sorted(p.name for p in small_disk.iterdir()) == [
        "filler", "model.history.json", "model.npz",
    ]  # fmt: skip
