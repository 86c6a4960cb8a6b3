"""A checkpoint someone gives you: `barenet train --resume` writes only beside it (or where --out
says), and refuses, in one sentence naming the file, any value its run could not use."""

import json
import math
import os
import shutil
import signal

import numpy as np
import pytest

from barenet.cli.progress import RichProgress
from barenet.saving import read_model_file, write_model_file
from tests.helpers import invoke

RUN = ["--preset", "quick", "--train-limit", "1000", "--epochs", "3"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A real checkpoint after epoch 1 of 3: the run is stopped by Ctrl-C after epoch 1."""
    folder = tmp_path_factory.mktemp("run")
    original = RichProgress.on_epoch_end

    def stop_after_epoch_1(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch == 0:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.MonkeyPatch.context() as patches:
        patches.setattr(RichProgress, "on_epoch_end", stop_after_epoch_1)
        assert invoke("train", *RUN, "--out", folder / "run.npz").exit_code == 130
    return folder / "run.checkpoint.npz"


def altered(
    checkpoint,
    folder,
    change_metadata=None,
    change_arrays=None,
    change_training=None,
    change_description=None,
):
    """A copy of ``checkpoint`` in ``folder`` with its metadata, arrays, training state or
    whole description changed in place by the given functions."""
    arrays, description = read_model_file(checkpoint)
    for change, target in (
        (change_metadata, description["metadata"]),
        (change_arrays, arrays),
        (change_training, description["training"]),
        (change_description, description),
    ):
        if change:
            change(target)
    description = {k: v for k, v in description.items() if not k.startswith(("format", "barenet"))}
    return write_model_file(folder / "given.checkpoint.npz", arrays, description)


def files_under(folder):
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


def test_a_resumed_run_writes_beside_its_checkpoint_whatever_the_file_says(
    tmp_path, checkpoint, monkeypatch
):
    given = tmp_path / "given"
    given.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "victim.npz").write_bytes(b"keep me")
    (elsewhere / "victim.checkpoint.npz").write_bytes(b"keep me too")

    def aim_elsewhere(metadata):
        metadata["out"] = str(elsewhere / "victim.npz")  # what landed main obeyed

    path = altered(checkpoint, given, aim_elsewhere)
    monkeypatch.chdir(given)  # a relative path in the file would climb out from here
    result = invoke("train", "--resume", path)
    assert result.exit_code == 0, result.output
    assert files_under(elsewhere) == ["victim.checkpoint.npz", "victim.npz"]
    assert (elsewhere / "victim.npz").read_bytes() == b"keep me"
    assert (elsewhere / "victim.checkpoint.npz").read_bytes() == b"keep me too"
    assert files_under(given) == ["given.history.json", "given.npz"]
    assert not list(tmp_path.parent.glob("victim*"))


def test_resume_with_out_writes_there_and_only_there(tmp_path, checkpoint):
    given = tmp_path / "given"
    given.mkdir()
    path = altered(checkpoint, given)
    result = invoke("train", "--resume", path, "--out", tmp_path / "mine.npz")
    assert result.exit_code == 0, result.output
    assert files_under(tmp_path) == [
        "given",
        "given/given.checkpoint.npz",  # the checkpoint resumed from is left as it was
        "mine.history.json",
        "mine.npz",
    ]


def set_config(key, value):
    return lambda metadata: metadata["config"].__setitem__(key, value)


def set_data(key, value):
    return lambda metadata: metadata["data"].__setitem__(key, value)


def poison_optimizer(value, kind="m"):
    def change(arrays):
        name = next(name for name in arrays if name.startswith("optimizer.") and name[-1] == kind)
        arrays[name] = arrays[name].copy()
        arrays[name].flat[0] = value

    return change


def set_everything(**values):
    return lambda metadata: metadata["config"].update(values)


HOSTILE = {
    "an unknown option": ({"change_metadata": set_config("rm_rf", True)}, "unknown options"),
    "a null config": (
        {"change_metadata": lambda m: m.__setitem__("config", None)},
        "its options are NoneType, not a JSON object",
    ),
    "a string for an integer": (
        {"change_metadata": set_config("epochs", "66")},
        "its option epochs is '66', not a whole number",
    ),
    "a boolean for an integer": (
        {"change_metadata": set_config("batch_size", True)},
        "its option batch_size is True",
    ),
    "NaN for a rate": (
        {"change_metadata": set_config("learning_rate", math.nan)},
        "its option learning_rate is nan, not a finite number",
    ),
    "an option out of range": (
        {"change_metadata": set_config("threads", 10**9)},
        "--threads must be 1 to 256",
    ),
    "a number for the data's path": (
        {"change_metadata": set_data("path", 7)},
        "its data path is 7, not a path",
    ),
    "a checksum that is not one": (
        {"change_metadata": set_data("sha256", ["x"])},
        "its data checksum is ['x'], not a SHA256",
    ),
    "a list for the preset": (
        {"change_metadata": lambda m: m.__setitem__("preset", ["quick"])},
        "its preset is ['quick'], not a name",
    ),
    "NaN in the optimizer's state": (
        {"change_arrays": poison_optimizer(np.nan)},
        "holds NaN or infinite values",
    ),
    "infinity in the optimizer's state": (
        {"change_arrays": poison_optimizer(np.inf)},
        "holds NaN or infinite values",
    ),
    "an infinite loss ceiling": (
        {"change_training": lambda t: t.__setitem__("loss_ceiling", math.inf)},
        "invalid loss ceiling",
    ),
    "a number too large for a float": (
        {"change_metadata": set_config("learning_rate", 10**400)},
        "not a finite number",
    ),
    "a million million convolutions": (
        {"change_metadata": set_everything(conv=[1], kernel_size=1, convs_per_block=10**12)},
        "--convs-per-block must be 1 to 10",
    ),
    "options for another network": (
        {"change_metadata": set_config("layers", [784, 10])},
        "its options describe a network of 7,850 parameters, but it holds 203,530",
    ),
    "options for another optimizer": (
        {"change_metadata": set_config("optimizer", "sgd")},
        "its options name the optimizer 'sgd', not the one it holds",
    ),
    "a run already finished": (
        {"change_metadata": set_config("epochs", 1)},
        "its run already finished (epoch 1 of 1)",
    ),
    "a path for the preset": (  # it named the output when the file had none
        {"change_metadata": lambda m: m.__setitem__("preset", "../../elsewhere/victim")},
        "its preset is '../../elsewhere/victim', not a name",
    ),
    "an escape sequence for the preset": (
        {"change_metadata": lambda m: m.__setitem__("preset", "\x1b]0;owned\x07")},
        "its preset is",
    ),
    "a negative second moment": (
        {"change_arrays": poison_optimizer(-1.0, kind="v")},
        "holds negative values",
    ),
    "a negative step count": (
        {"change_description": lambda d: d["optimizer"].__setitem__("iterations", -5)},
        "its optimizer's step count -5 is not a whole number >= 0",
    ),
    "a tiny loss ceiling": (
        {"change_training": lambda t: t.__setitem__("loss_ceiling", 1e-300)},
        "invalid loss ceiling",
    ),
    "a ragged history": (
        {"change_description": lambda d: d["history"]["loss"].append(0.5)},
        "its history is not an object of per-epoch lists of numbers",
    ),
    "text in the history": (
        {"change_description": lambda d: d["history"]["loss"].__setitem__(0, "x")},
        "its history is not an object of per-epoch lists of numbers",
    ),
    "an epoch its history does not hold": (
        {"change_training": lambda t: t.__setitem__("epoch", 2)},
        "its training state says 2 epochs, its history holds 1",
    ),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_a_checkpoint_is_checked_as_strictly_as_a_model_file(tmp_path, checkpoint, case):
    changes, expected = HOSTILE[case]
    path = altered(checkpoint, tmp_path, **changes)
    result = invoke("train", "--resume", path)
    assert result.exit_code == 1, result.output
    assert expected in result.stderr and str(path) in result.stderr
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1
    assert "diverged" not in result.output  # NaN is named as what it is, not trained on
    assert "\x1b" not in result.output and not result.stderr.rstrip().endswith("..")
    assert files_under(tmp_path) == ["given.checkpoint.npz"]  # nothing was written


def test_a_checkpoint_naming_a_fifo_as_its_data_is_refused_not_waited_on(tmp_path, checkpoint):
    fifo = tmp_path / "train.csv"
    os.mkfifo(fifo)
    path = altered(checkpoint, tmp_path, set_data("path", str(fifo)))
    result = invoke("train", "--resume", path)  # reading the FIFO would wait for ever
    assert result.exit_code == 1, result.output
    assert f"{fifo} is not a regular file or a folder" in result.stderr
    assert invoke("train", "--data", fifo, "--preset", "quick").exit_code == 1


def test_a_missing_checkpoint_is_named_as_one(tmp_path):
    result = invoke("train", "--resume", tmp_path / "gone.checkpoint.npz")
    assert result.exit_code == 1
    assert "Checkpoint" in result.stderr and "does not exist" in result.stderr
    assert "Model file" not in result.stderr


def test_the_real_checkpoint_still_resumes(tmp_path, checkpoint):
    shutil.copy(checkpoint, tmp_path / "run.checkpoint.npz")
    result = invoke("train", "--resume", tmp_path / "run.checkpoint.npz")
    assert result.exit_code == 0, result.output
    assert "resumed after epoch 1" in result.stderr
    assert json.loads((tmp_path / "run.history.json").read_text())["loss"][0] is not None


@pytest.fixture(autouse=True)
def sigint_handler_back():
    """The checkpoint is made by an interrupted command, which ignores later presses: put
    pytest's handler back."""
    handler = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, handler)
