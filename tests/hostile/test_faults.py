"""Faults: a process killed while saving leaves the old model whole, and the next save removes
what it left behind; a target that cannot be written is found before any work."""

import signal
import subprocess
import sys
import time

import numpy as np

import barenet as bn

SAVE_FOREVER = """
import sys
import numpy as np
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
