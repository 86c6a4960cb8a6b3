"""Checkpoints of a digit training run: what one records so that the run can go on, and reading
it back without trusting it.

A checkpoint is a model file with a training state (``model.capture_training_state``) and, in
its metadata, the run's preset, its ``TrainConfig`` and the data it trained on. Someone else may
have made the file, so every value is checked before it is used, and nothing in it says where
the resumed run writes: that is beside the checkpoint, or where the user says.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from barenet.datasets import Dataset
from barenet.digits.config import TrainConfig, config_from_json
from barenet.digits.recipe import build_model
from barenet.model import Sequential, load_model
from barenet.optimizers import Optimizer, describe_optimizer, get_optimizer
from barenet.saving import model_file_path

SUFFIX = ".checkpoint.npz"
# A preset's name is printed and names files: a word, never a path or a terminal's escape.
PRESET_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def checkpoint_path(out: str | Path) -> Path:
    """Where the checkpoints of a run saving ``out`` go: ``m.npz`` -> ``m.checkpoint.npz``."""
    return model_file_path(out).with_suffix(SUFFIX)


def resumed_model_path(checkpoint: str | Path) -> Path:
    """Where a resumed run saves its model unless told otherwise: beside its checkpoint,
    ``run.checkpoint.npz`` -> ``run.npz`` (a checkpoint renamed ``x.npz`` -> ``x.resumed.npz``)."""
    checkpoint = Path(checkpoint)
    name = checkpoint.name
    stem = name[: -len(SUFFIX)] if name.endswith(SUFFIX) else f"{checkpoint.stem}.resumed"
    return checkpoint.with_name(f"{stem}.npz")


def checkpoint_metadata(
    preset: str, config: TrainConfig, data_path: str | None, data: Dataset
) -> dict[str, Any]:
    """What a run's checkpoints record besides the model: enough to set the run up again."""
    return {
        "preset": preset,
        "config": dataclasses.asdict(config),
        "data": {
            "path": data_path,
            "sha256": data.checksum(),
            "test_elsewhere": data.test_elsewhere,
        },
    }


@dataclass
class Checkpoint:
    """A checkpoint read back and checked: the model (with its training state) and the run's
    name, options and data."""

    model: Sequential
    preset: str
    config: TrainConfig
    data_path: str | None
    test_elsewhere: bool


def read_checkpoint(path: str | Path) -> Checkpoint:
    """Load a checkpoint of ``barenet train`` and check every value its run would use.

    Raises:
        ValueError: a sentence naming the file and the first value that is missing or wrong
            (``ModelFileError``, a ValueError, for a file that is not a valid model).
    """
    if not Path(path).exists():
        raise ValueError(
            f"Checkpoint {path} does not exist; --resume takes the .checkpoint.npz file that "
            "barenet train writes beside --out."
        )
    model = load_model(path)
    state, metadata = model.training_state, model.metadata
    if state is None or "config" not in metadata:
        raise ValueError(
            f"{path} is not a checkpoint of barenet train: --resume takes the .checkpoint.npz "
            "file written beside --out while a run trains."
        )
    try:
        checkpoint = _checked(model, metadata)
    except (TypeError, ValueError, OverflowError) as error:
        raise ValueError(f"{path} is not a valid checkpoint: {str(error).rstrip('.')}.") from None
    return checkpoint


def _checked(model: Sequential, metadata: dict[str, Any]) -> Checkpoint:
    """The checkpoint's values, each of the type and in the range its use needs."""
    config = config_from_json(metadata["config"])
    _check_same_network(model, config)
    preset = metadata.get("preset")
    if not isinstance(preset, str) or not PRESET_NAME.fullmatch(preset):
        raise ValueError(f"its preset is {_short(preset)}, not a name")
    data = metadata.get("data")
    if not isinstance(data, dict) or set(data) - {"path", "sha256", "test_elsewhere"}:
        raise ValueError(f"its data is {_short(data)}, not {{path, sha256, test_elsewhere}}")
    data_path, sha256 = data.get("path"), data.get("sha256")
    test_elsewhere = data.get("test_elsewhere", False)
    if data_path is not None and (not isinstance(data_path, str) or not data_path):
        raise ValueError(f"its data path is {_short(data_path)}, not a path")
    if not isinstance(sha256, str) or not SHA256_HEX.fullmatch(sha256):
        raise ValueError(f"its data checksum is {_short(sha256)}, not a SHA256")
    if not isinstance(test_elsewhere, bool):
        raise ValueError(f"its test_elsewhere is {_short(test_elsewhere)}, not true or false")
    state = model.training_state or {}
    epochs_done = len(model.history.epoch) if model.history else 0
    if state["epoch"] != epochs_done:
        raise ValueError(
            f"its training state says {state['epoch']} epochs, its history holds {epochs_done}"
        )
    if state["epoch"] >= config.epochs:
        raise ValueError(f"its run already finished (epoch {state['epoch']} of {config.epochs})")
    return Checkpoint(model, preset, config, data_path, test_elsewhere)


def _check_same_network(model: Sequential, config: TrainConfig) -> None:
    """The options must describe the network the file holds: its layers, loss and optimizer
    (options that say "784-10, sgd" over a file of 784-256-10 with Adam would be a lie, saved
    in the final model). The network is built only once its size matches the file's."""
    held = sum(param.size for _, param, _ in model.parameters())
    if config.parameter_count() != held:
        raise ValueError(
            f"its options describe a network of {config.parameter_count():,} parameters, but it "
            f"holds {held:,}"
        )
    built = build_model(config)
    ours = [layer.label() for layer in built.layers]
    theirs = [layer.label() for layer in model.layers]
    if ours != theirs:
        raise ValueError(f"its options describe the layers {ours}, but it holds {theirs}")
    loss = (model.get_config().get("loss") or {}).get("name")
    if loss != config.loss:
        raise ValueError(f"its options name the loss {config.loss!r}, but it holds {loss!r}")
    named = get_optimizer(config.optimizer, weight_decay=config.weight_decay)
    if model.optimizer is None or _settings(named) != _settings(model.optimizer):
        raise ValueError(
            f"its options name the optimizer {config.optimizer!r}, not the one it holds"
        )


def _settings(optimizer: Optimizer) -> dict[str, Any]:
    """An optimizer's class and settings, but its learning rate (a schedule's depends on the
    data's size)."""
    described = describe_optimizer(optimizer) or {"class": None, "config": {}}
    config = {k: v for k, v in described["config"].items() if k != "learning_rate"}
    return {"class": described["class"], **config}


def _short(value: Any) -> str:
    """``value`` as JSON shows it, cut to a readable length."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."
