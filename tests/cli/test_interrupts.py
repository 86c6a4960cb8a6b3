"""Ctrl-C never loses a finished epoch: SIGINT at chosen moments of `barenet train`, with the
checkpoint throttle on (the default, at most one save per 30 s, so none is written while these
short runs train), then `--resume` to the very model of a run never stopped."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from barenet.callbacks import TrainingCheckpoint
from barenet.cli.progress import RichProgress
from barenet.model import load_model
from barenet.training import Trainer
from tests.helpers import invoke

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGINT")

# 3 epochs of 15 batches, a validation split measured after each (a moment to stop too).
RUN = ["--preset", "quick", "--train-limit", "2000", "--epochs", "3", "--validation-split", "0.1"]


def ctrl_c() -> None:
    os.kill(os.getpid(), signal.SIGINT)


@pytest.fixture(autouse=True)
def sigint_handler_back():
    """An interrupted command ignores later presses (it only has to exit): put pytest's
    handler back, so that Ctrl-C still stops the test run."""
    handler = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, handler)


def signal_at(monkeypatch, cls, hook, when, *, before=False):
    """Send SIGINT from inside ``cls.hook`` on the call whose first argument is ``when``
    (an epoch or a batch index, counted from 0; batches in the second epoch only; for
    ``evaluate``, the count of its calls), just after the original hook ran, or just before it
    with ``before``."""
    original = getattr(cls, hook)
    epochs_begun, calls = [], []

    def hooked(self, index, *args, **kwargs):
        calls.append(index)
        if hook == "on_batch_end":
            right_moment = index == when and len(epochs_begun) == 2
        elif hook == "evaluate":
            right_moment = len(calls) == when + 1
        else:
            right_moment = index == when
        if before and right_moment:
            ctrl_c()
        result = original(self, index, *args, **kwargs)
        if not before and right_moment:
            ctrl_c()
        return result

    def count_epochs(self, epoch, logs=None):
        epochs_begun.append(epoch)
        original_begin(self, epoch, logs)

    original_begin = RichProgress.on_epoch_begin
    monkeypatch.setattr(RichProgress, "on_epoch_begin", count_epochs)
    monkeypatch.setattr(cls, hook, hooked)


@pytest.fixture(scope="module")
def never_stopped(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole") / "whole.npz"
    assert invoke("train", *RUN, "--out", out).exit_code == 0
    return load_model(out)


def assert_same_run(path, whole):
    model = load_model(path)
    assert all(
        np.array_equal(ours, theirs)
        for ours, theirs in zip(model.get_weights(), whole.get_weights(), strict=True)
    )
    timeless = [
        {k: v for k, v in m.history.history.items() if k != "seconds"} for m in (model, whole)
    ]
    assert timeless[0] == timeless[1]


MOMENTS = {
    # moment: (class, hook, index, before, epochs the checkpoint must hold)
    "right after epoch 1's line is printed": (RichProgress, "on_epoch_end", 0, False, 1),
    "while epoch 2's validation split is measured": (Trainer, "evaluate", 1, True, 2),
    "as epoch 3 begins, before any save": (TrainingCheckpoint, "on_epoch_begin", 2, True, 2),
    "in the middle of epoch 2": (RichProgress, "on_batch_end", 5, False, 1),
}


@pytest.mark.parametrize("moment", MOMENTS)
def test_an_interrupt_keeps_the_last_finished_epoch(tmp_path, monkeypatch, moment, never_stopped):
    cls, hook, index, before, epochs = MOMENTS[moment]
    out = tmp_path / "run.npz"
    with monkeypatch.context() as patches:
        signal_at(patches, cls, hook, index, before=before)
        stopped = invoke("train", *RUN, "--out", out)
    checkpoint = tmp_path / "run.checkpoint.npz"
    assert stopped.exit_code == 130, stopped.output
    assert f"Checkpoint after epoch {epochs}: go on with barenet train --resume" in stopped.stderr
    assert load_model(checkpoint).training_state["epoch"] == epochs
    resumed = invoke("train", "--resume", checkpoint)
    assert resumed.exit_code == 0, resumed.output
    assert f"resumed after epoch {epochs}" in resumed.stderr
    assert_same_run(out, never_stopped)
    assert not checkpoint.exists()  # the finished run's model supersedes it


def stop_in_the_first_epoch(monkeypatch):
    """SIGINT after the third batch of the run's first epoch."""
    original = RichProgress.on_batch_end

    def first_batches(self, index, logs=None):
        original(self, index, logs)
        if index == 2:
            ctrl_c()

    monkeypatch.setattr(RichProgress, "on_batch_end", first_batches)


def test_an_interrupt_in_the_first_epoch_says_nothing_can_be_resumed(tmp_path, monkeypatch):
    stop_in_the_first_epoch(monkeypatch)
    out = tmp_path / "run.npz"
    stopped = invoke("train", *RUN, "--out", out)
    assert stopped.exit_code == 130, stopped.output
    assert "no epoch has finished, so there is nothing to resume yet" in stopped.stderr
    assert "Traceback" not in stopped.output
    assert not (tmp_path / "run.checkpoint.npz").exists()
    assert load_model(out).metadata["interrupted"] is True  # what was trained is still saved


def test_an_interrupted_resume_says_how_to_go_on_again(tmp_path, monkeypatch):
    out = tmp_path / "run.npz"
    with monkeypatch.context() as patches:
        signal_at(patches, RichProgress, "on_epoch_end", 0)
        assert invoke("train", *RUN, "--out", out).exit_code == 130
    checkpoint = tmp_path / "run.checkpoint.npz"
    stop_in_the_first_epoch(monkeypatch)
    again = invoke("train", "--resume", checkpoint)
    assert again.exit_code == 130, again.output
    assert f"No new epoch finished: go on with barenet train --resume {checkpoint}" in again.stderr
    assert load_model(checkpoint).training_state["epoch"] == 1


def test_ctrl_c_after_an_epoch_line_in_a_real_process(tmp_path):
    """The reported case: SIGINT from outside as soon as "Epoch 1/8" is printed."""
    out = tmp_path / "run.npz"
    run = [*RUN, "--train-limit", "6000", "--epochs", "8"]  # the later options win
    command = [sys.executable, "-m", "barenet", "train", *run, "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    line = "start"
    while line and "Epoch 1/8" not in line and time.monotonic() < deadline:
        line = process.stderr.readline()
    assert "Epoch 1/8" in line
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    checkpoint = tmp_path / "run.checkpoint.npz"
    assert process.returncode == 130, stderr
    assert checkpoint.exists() and "Traceback" not in stderr
    epochs = load_model(checkpoint).training_state["epoch"]
    assert epochs >= 1 and f"Checkpoint after epoch {epochs}" in stderr
    assert epochs < 8  # stopped before the end: the checkpoint is kept, not tidied away
    assert invoke("train", "--resume", checkpoint).exit_code == 0
    whole = tmp_path / "whole.npz"
    assert invoke("train", *run, "--out", whole).exit_code == 0
    assert_same_run(out, load_model(whole))
