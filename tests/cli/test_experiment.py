"""barenet experiment: JSON schema, variants side by side, --train-limit per run."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.helpers import QUICK, invoke


def test_experiment_json(tmp_path):
    result = invoke("experiment", *QUICK, "--train-limit", 600, "--runs", 2, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [run["seed"] for run in payload["runs"]] == [0, 1]
    assert set(payload["runs"][0]) == {
        "variant",
        "seed",
        "test_accuracy",
        "test_loss",
        "seconds",
        "train_samples",
        "index",
        "where",
        "retried",
    }
    assert [run["index"] for run in payload["runs"]] == [0, 1] and payload["failed"] == []
    assert [run["train_samples"] for run in payload["runs"]] == [600, 600]
    accuracies = [run["test_accuracy"] for run in payload["runs"]]
    assert payload["mean_accuracy"] == pytest.approx(np.mean(accuracies))
    assert payload["std_accuracy"] == pytest.approx(np.std(accuracies, ddof=1))


def test_experiment_variants(tmp_path):
    result = invoke(
        "experiment",
        *QUICK,
        "--train-limit",
        500,
        "--runs",
        1,
        "--vary",
        "learning-rate=0.01,0.001",
        "--vary",
        "layers=784,16,10|784,32,10",
    )
    assert result.exit_code == 0, result.output
    assert "learning_rate=0.001 layers=784-32-10" in result.stdout
    assert result.stdout.count("784-16-10") >= 2  # in the runs table and the summary


def test_vary_train_limit_trains_each_variant_on_its_own_subset():
    # The example, one epoch instead of 100: the "600" variant used to train on 150.
    result = invoke(
        "experiment", "--preset", "tutorial-tanh-mse-small", "--train-limit", 150,
        "--epochs", 1, "--runs", 1, "--vary", "train-limit=150,600", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [run["train_samples"] for run in json.loads(result.stdout)["runs"]] == [150, 600]


def test_workers_give_the_same_table_and_json_as_one_process():
    args = ("experiment", *QUICK, "--train-limit", 600, "--runs", 2, "--vary", "batch-size=32,128")
    alone = invoke(*args, "--json")
    side_by_side = invoke(*args, "--json", "--workers", "2")
    assert alone.exit_code == side_by_side.exit_code == 0, side_by_side.output
    assert "in 2 worker(s)" in side_by_side.stderr
    first, second = json.loads(alone.stdout), json.loads(side_by_side.stdout)
    timing = ("where", "seconds")
    for one, other in zip(first["runs"], second["runs"], strict=True):
        assert {k: v for k, v in one.items() if k not in timing} == {
            k: v for k, v in other.items() if k not in timing
        }
    assert first["mean_accuracy"] == second["mean_accuracy"]
    tables = [invoke(*args, *workers).stdout for workers in ([], ["--workers", "2"])]
    assert cells_but_seconds(tables[0]) == cells_but_seconds(tables[1])


def cells_but_seconds(tables: str) -> list[list[str]]:
    """Each row's cells but the last (the seconds, which alone may differ), and each title; the
    rules are left out, as a wider seconds column widens them (and pads every cell), and a
    title's lines are joined, as it wraps at its table's width."""
    rows: list[list[str]] = []
    title: list[str] = []
    for line in tables.splitlines():
        cells = re.split("[│┃]", line)
        if len(cells) > 1:
            rows.append([cell.strip() for cell in cells[1:-2]])
        elif not set(line) <= set("┏━┳┓┡╇┩└─┴┘ "):
            title.append(line.strip())
            continue
        if title:
            rows.append([" ".join(title)])
            title = []
    return rows + ([[" ".join(title)]] if title else [])


def test_bad_workers_value_is_one_sentence():
    result = invoke("experiment", *QUICK, "--workers", "many")
    assert result.exit_code == 1
    assert "--workers expects a number of at least 1, or auto" in result.output
    both = invoke("experiment", *QUICK, "--workers", "2", "--cluster", "tcp://127.0.0.1:9")
    assert both.exit_code == 2 and "--workers and --cluster exclude each other" in both.output


def test_a_run_that_fails_is_reported_and_the_others_go_on():
    result = invoke(
        "experiment",
        *QUICK,
        "--train-limit",
        600,
        "--runs",
        1,
        "--optimizer",
        "adam",
        "--vary",
        "learning-rate=1e9,0.001",
        "--json",
    )
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert [run["variant"] for run in payload["runs"]] == ["learning_rate=0.001"]
    assert [failure["variant"] for failure in payload["failed"]] == ["learning_rate=1000000000.0"]
    assert "FAILED" in result.stderr and "1 run(s) failed" in result.stderr


def test_ctrl_c_stops_every_worker_and_keeps_the_finished_runs():
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "barenet",
            "experiment",
            *map(str, QUICK),
            "--epochs",
            "2",
            "--train-limit",
            "60000",
            # Far more runs than finish before the signal lands: with 6 (about 3 s of work
            # after the first) a busy 2-core CI machine once let all of them end first (exit 0).
            "--runs",
            "24",
            "--workers",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's job
        # A command started with Ctrl-C ignored keeps ignoring it (exec inherits SIG_IGN): give
        # it a terminal's default whatever state earlier tests left this process in.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    for line in process.stderr:  # wait for the first finished run
        if "seed" in line and "accuracy" in line:
            break
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends: the whole group
    started = time.monotonic()
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and time.monotonic() - started < 10
    assert "Interrupted; summarising the runs that finished." in stderr
    assert "Traceback" not in stderr + stdout and "Summary" in stdout
    # No worker outlives the command (multiprocessing's resource tracker may take a moment).
    while (left := group_members(process.pid)) and time.monotonic() - started < 10:
        time.sleep(0.1)
    assert left == []


def group_members(group):
    found = subprocess.run(["pgrep", "-g", str(group)], capture_output=True, text=True)
    return found.stdout.split()


def test_a_grid_of_long_variants_is_cut_nowhere_at_80_columns():
    env = {**os.environ, "COLUMNS": "80"}
    grid = ["layers=784,16,10|784,32,10", "learning-rate=0.01,0.001", "batch-size=32,64"]
    command = [sys.executable, "-m", "barenet", "experiment", *QUICK, "--train-limit", "200"]
    command += ["--runs", "1", *(arg for vary in grid for arg in ("--vary", vary))]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    tables = result.stdout
    assert "…" not in tables and max(map(len, tables.splitlines())) <= 80
    for setting in ("layers=784-32-10", "learning_rate=0.001", "batch_size=64"):
        assert setting in tables  # whole, never broken inside
    assert re.search(r"\d+\.\d\d% ± \d+\.\d\d%", tables)  # a mean ± spread on one line
