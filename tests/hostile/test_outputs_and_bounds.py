"""Outputs and bounds: no writer replaces a FIFO, a device or a folder; --workers is capped at
the cores; a model file's ensembles hold at most 20 networks, nested at most 3 deep; a saved
correction never overwrites another, and a failed save says why."""

import base64
import io
import os
import secrets
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

import barenet as bn
from barenet.atomic import atomic_open, atomic_write_text, check_writable
from barenet.digits import workers
from barenet.digits.folders import image_files, save_correction
from barenet.digits.shipped import open_model
from barenet.ensemble import MAX_NESTING, MAX_NETWORKS, Ensemble
from barenet.saving import ModelFileError, write_model_file
from barenet.web.app import create_app
from tests.helpers import QUICK, invoke


@pytest.fixture(autouse=True)
def never_blocks_nor_replaces_a_device(monkeypatch):
    """Guards that turn a regression into a failure, not into harm: opening a FIFO with no
    reader would wait forever (an alarm ends it), and as root a rename onto a link to
    /dev/null would replace the machine's /dev/null (the rename is stopped first)."""

    def too_long(signum, frame):
        raise TimeoutError("a writer blocked, on a FIFO most likely")

    previous = signal.signal(signal.SIGALRM, too_long)
    signal.alarm(60)
    rename = os.replace

    def replace_no_device(source, target, **kwargs):
        if os.path.exists(target) and stat.S_ISCHR(os.stat(target).st_mode):
            raise AssertionError(f"about to replace the device {target}")
        return rename(source, target, **kwargs)

    monkeypatch.setattr(os, "replace", replace_no_device)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def make(kind, path):
    """Put a FIFO, a link to /dev/null or a folder at ``path``; return how to tell it is still
    there, untouched."""
    if kind == "fifo":
        os.mkfifo(path)
        return lambda: stat.S_ISFIFO(os.lstat(path).st_mode)
    if kind == "device":
        path.symlink_to("/dev/null")
        return lambda: path.is_symlink() and stat.S_ISCHR(os.stat("/dev/null").st_mode)
    path.mkdir()
    return lambda: path.is_dir() and not any(path.iterdir())


WHAT = {"fifo": "a FIFO", "device": "a character device", "folder": "a folder"}


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_the_library_refuses_to_write_over_what_is_not_a_file(tmp_path, kind):
    target = tmp_path / "target.npz"
    untouched = make(kind, target)
    for write in (
        check_writable,
        lambda path: atomic_write_text(path, "text"),
        lambda path: bn.Sequential([bn.Dense(2, 2)]).save(path),
    ):
        with pytest.raises(PermissionError, match=f"it is {WHAT[kind]}"):
            write(target)
        assert untouched()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["target.npz"]  # no temporary left


def png(path):
    Image.new("L", (28, 28), 255).save(path)
    return path


# Each writing command, with {T} where the hostile target goes; "m.npz" is a plain model path.
COMMANDS = {
    "export": (["export", "mlp", "{T}"], ".onnx"),
    "train --out": (["train", *QUICK, "--out", "{T}"], ".npz"),
    "train --plot": (["train", *QUICK, "--out", "m.npz", "--plot", "{T}"], ".png"),
    "ensemble --out": (["ensemble", "mlp", "mlp", "--out", "{T}"], ".npz"),
    "predict --out": (["predict", "digit.png", "--out", "{T}"], ".csv"),
    "experiment --plot": (["experiment", *QUICK, "--runs", 1, "--plot", "{T}"], ".png"),
    "report --out": (["report", "mlp", "--out", "{T}"], ""),
}
CASES = [
    (command, kind)
    for command in COMMANDS
    for kind in ("fifo", "device")
    if command not in ("train --out", "experiment --plot") or kind == "fifo"  # the same check
] + [("ensemble --out", "folder")]  # the other options take no folder (click says so)


@pytest.mark.parametrize(("command", "kind"), CASES)
def test_every_command_refuses_to_write_over_what_is_not_a_file(
    tmp_path, monkeypatch, command, kind
):
    monkeypatch.chdir(tmp_path)
    png(tmp_path / "digit.png")
    args, suffix = COMMANDS[command]
    target = tmp_path / f"target{suffix}"
    untouched = make(kind, target)
    result = invoke(*(str(target) if arg == "{T}" else arg for arg in args))
    assert result.exit_code == 1, result.output
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("Error: Cannot write") and "Traceback" not in result.output
    assert f"is {WHAT[kind]}" in last_line  # the report's folder is what is in the way:
    assert ("not a folder" if command == "report --out" else "not a regular file") in last_line
    assert untouched()
    assert not (tmp_path / "m.npz").exists()  # refused before training, not after it


def test_files_written_beside_the_model_are_checked_before_training(tmp_path):
    untouched = make("fifo", tmp_path / "m.history.json")
    result = invoke("train", *QUICK, "--out", tmp_path / "m.npz")
    assert result.exit_code == 1 and "m.history.json: it is a FIFO" in result.stderr
    assert "Training" not in result.stderr and untouched()


def test_a_report_refuses_a_fifo_among_its_pictures(tmp_path):
    (tmp_path / "report").mkdir()
    untouched = make("fifo", tmp_path / "report" / "learning-curves.png")
    result = invoke("report", "mlp", "--out", tmp_path / "report")
    assert result.exit_code == 1 and "learning-curves.png: it is a FIFO" in result.stderr
    assert untouched()


@pytest.mark.parametrize("asked", ["1000", "99999999999999999999", "9" * 5000, "auto"])
def test_workers_are_capped_at_the_cores(monkeypatch, asked):
    monkeypatch.setattr(workers, "usable_cores", lambda: 2)
    assert workers.worker_count(asked) == 2 and workers.worker_count("1") == 1


@pytest.mark.parametrize("text", ["0", "-1", "1e3", "1.5", " 2", "²", "\u0661", "", "many"])
def test_workers_text_that_is_no_count_is_one_sentence(text):
    with pytest.raises(ValueError, match="--workers expects a number of at least 1, or auto"):
        workers.worker_count(text)


def test_auto_counts_the_cores_this_process_is_pinned_to():
    pinned = "import os; os.sched_setaffinity(0, {0}); from barenet.digits import workers; "
    run = [sys.executable, "-c", pinned + "print(workers.worker_count('auto'))"]
    assert subprocess.run(run, capture_output=True, text=True, check=True).stdout == "1\n"


def test_a_huge_workers_is_a_note_and_the_experiment_runs(monkeypatch):
    monkeypatch.setattr(workers, "usable_cores", lambda: 2)
    args = ["experiment", *QUICK, "--train-limit", 100, "--runs", 1, "--json"]
    result = invoke(*args, "--workers", "99999999999999999999")
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    note = "--workers 99999999999999999999: this machine has 2 cores; using 2."
    assert note in result.stderr
    assert "in 1 worker(s)" in result.stderr  # one run: no process started for nothing


# Model files written by hand, as an attacker would: Ensemble() itself refuses to build them.
NETWORK = [
    {"class": "Dense", "config": {"in_features": 8, "out_features": 3}},
    {"class": "Softmax", "config": {}},
]


def ensemble_of(members):
    return [{"class": "Ensemble", "config": {"members": members}}, NETWORK[-1]]


def nested(depth):
    """Layers of an ensemble of one ensemble of ... (``depth`` levels) of one network."""
    return ensemble_of([nested(depth - 1)]) if depth else NETWORK


def weights(layers, prefix="layers."):
    """Zero weights for every Dense of ``layers``, under the names a model file uses."""
    for index, entry in enumerate(layers):
        if entry["class"] == "Dense":
            yield f"{prefix}{index}.weight", np.zeros((8, 3), np.float32)
            yield f"{prefix}{index}.bias", np.zeros(3, np.float32)
        for k, member in enumerate(entry["config"].get("members", [])):
            yield from weights(member, f"{prefix}{index}.{k}.")


def model_file(path, layers):
    description = {"dtype": "float32", "input_shape": [8], "layers": layers, "loss": None}
    return write_model_file(path, dict(weights(layers)), description)


@pytest.mark.parametrize("networks", [MAX_NETWORKS + 1, 1000])
def test_an_ensemble_file_of_too_many_networks_is_refused_before_it_is_built(
    tmp_path, monkeypatch, networks
):
    path = model_file(tmp_path / "many.npz", ensemble_of([NETWORK] * networks))
    monkeypatch.setattr(Ensemble, "from_config", None)  # building one would be a TypeError
    started = time.perf_counter()
    with pytest.raises(ModelFileError, match=f"at most {MAX_NETWORKS} networks"):
        bn.load_model(path)
    assert time.perf_counter() - started < 5


def test_networks_inside_nested_ensembles_count_too(tmp_path):
    eleven = ensemble_of([NETWORK] * 11)
    path = model_file(tmp_path / "nested.npz", ensemble_of([eleven, eleven]))
    with pytest.raises(ModelFileError, match=f"at most {MAX_NETWORKS} networks"):
        bn.load_model(path)
    side_by_side = model_file(tmp_path / "side.npz", eleven[:1] + eleven)  # 2 layers of 11
    with pytest.raises(ModelFileError, match=f"at most {MAX_NETWORKS} networks"):
        bn.load_model(side_by_side)
    ten = ensemble_of([NETWORK] * 10)
    assert bn.load_model(model_file(tmp_path / "twenty.npz", ensemble_of([ten, ten])))


def test_ensembles_nested_too_deep_are_refused(tmp_path):
    with pytest.raises(ModelFileError, match="nest at most 3 deep"):
        bn.load_model(model_file(tmp_path / "four.npz", nested(MAX_NESTING + 1)))
    assert bn.load_model(model_file(tmp_path / "three.npz", nested(MAX_NESTING)))


@pytest.mark.parametrize(
    ("depth", "refusal"),
    [(244, "nest at most 3 deep"), (300, "damaged model description")],  # 300: JSON's own limit
)
def test_deep_nesting_is_one_line_not_a_recursion_error(tmp_path, depth, refusal):
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(10_000)  # json.dumps writes the description by recursion
    try:
        path = model_file(tmp_path / "deep.npz", nested(depth))
    finally:
        sys.setrecursionlimit(limit)
    # A fresh process, as a person runs barenet (pytest's own stack would change the depths).
    command = [sys.executable, "-m", "barenet", "evaluate", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-500:]
    assert result.stderr.startswith("Error: ") and refusal in result.stderr


def test_ensembles_built_in_python_keep_the_same_bounds():
    network = [bn.Dense(8, 3), bn.Softmax()]
    with pytest.raises(ValueError, match=f"at most {MAX_NETWORKS} networks"):
        Ensemble([network] * (MAX_NETWORKS + 1))
    layers = network
    for _ in range(MAX_NESTING):
        layers = [Ensemble([layers]), bn.Softmax()]
    with pytest.raises(ValueError, match="nest at most 3 deep"):
        Ensemble([layers])


def test_the_shipped_ensemble_still_loads_and_combines(tmp_path):
    shipped, _ = open_model("ensemble")
    assert shipped.layers[0].label() == "Ensemble(3 networks)"
    combined = bn.ensemble([shipped, open_model("mlp")[0]])  # 4 networks, 2 levels
    loaded = bn.load_model(combined.save(tmp_path / "four.npz"))
    assert loaded.layers[0].label() == "Ensemble(2 networks)"


def test_the_command_counts_the_networks_of_ensemble_files(tmp_path):
    result = invoke("ensemble", *["ensemble"] * 7, "--out", tmp_path / "21.npz")  # 7 x 3
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"at most {MAX_NETWORKS} networks" in result.stderr
    assert not (tmp_path / "21.npz").exists()


def test_an_exclusive_write_never_replaces_a_file(tmp_path):
    path = tmp_path / "taken.png"
    path.write_bytes(b"first")
    with pytest.raises(FileExistsError), atomic_open(path, overwrite=False) as handle:
        handle.write(b"second")
    assert path.read_bytes() == b"first" and [p.name for p in tmp_path.iterdir()] == [path.name]


def test_two_corrections_drawing_the_same_name_are_both_kept(tmp_path, monkeypatch):
    drawn = iter(["aaaaaa", "aaaaaa", "bbbbbb"])  # the second save draws the first's name
    monkeypatch.setattr(secrets, "token_hex", lambda _: next(drawn))
    monkeypatch.setattr(time, "strftime", lambda _: "20250101-120000")  # the same second
    first = save_correction(tmp_path, 7, np.zeros((28, 28)))
    second = save_correction(tmp_path, 7, np.full((28, 28), 255.0))
    assert (first.name, second.name) == ("20250101-120000-aaaaaa.png", "20250101-120000-bbbbbb.png")
    with Image.open(first) as image:
        assert np.asarray(image).max() == 0  # the first is still the first image
    assert image_files(tmp_path) == [(first, 7), (second, 7)]
    assert not list(tmp_path.rglob("*.tmp"))


def too_long(tmp_path):
    """A folder whose path leaves no room for a file's temporary name (PATH_MAX is 4,096): its
    digit folders can be made, the files in them cannot. Root writes anywhere chmod forbids."""
    folder = tmp_path
    while len(str(folder)) < 4080:
        folder = folder / ("d" * min(200, 4080 - len(str(folder)) - 1))
    folder.mkdir(parents=True)
    return folder


def in_the_way(tmp_path):
    (tmp_path / "file").write_text("a file, not a folder")
    return tmp_path / "file" / "my-digits"


@pytest.mark.parametrize(
    ("place", "reason"),
    [(too_long, "file name too long"), (in_the_way, "is a regular file, not a folder")],
)
def test_a_correction_that_cannot_be_saved_says_why(tmp_path, place, reason):
    folder = place(tmp_path)
    app = create_app(open_model("mlp")[0], "mlp", ["testserver"], my_digits=folder)
    image = io.BytesIO()
    Image.fromarray(np.pad(np.full((16, 4), 255, np.uint8), 6)).save(image, format="PNG")
    body = {"image": base64.b64encode(image.getvalue()).decode(), "digit": 1}
    response = TestClient(app).post("/api/corrections", json=body)
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error.startswith(f"Cannot save into {folder}: ") and reason in error, error
