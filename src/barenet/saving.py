"""Model files: one ``.npz`` with every weight array plus a JSON document that rebuilds the model.

The JSON (layer configs, loss, dtype, training history and free-form metadata) is stored as a
unicode array under ``__barenet__``. Loading uses ``allow_pickle=False``: a model file can never
run code. Every array's name and shape is checked against the rebuilt layers.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from barenet.activations import Activation
from barenet.atomic import atomic_open
from barenet.layers import Layer
from barenet.losses import LOSSES
from barenet.model import Sequential
from barenet.training import History

CONFIG_KEY = "__barenet__"
FORMAT = "barenet.model"
FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """A model file is missing, corrupt, truncated, foreign or inconsistent."""


def _to_json(value: Any) -> Any:
    """``json.dumps`` fallback for NumPy scalars and arrays inside metadata."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"metadata value {value!r} of type {type(value).__name__} is not JSON data")


def model_config(model: Sequential) -> dict[str, Any]:
    """The JSON-ready description of ``model`` (no weights)."""
    from barenet import __version__

    for layer in model.layers:
        if type(layer) is Activation:
            raise ValueError(
                "Cannot save a model with a custom Activation(fn, derivative): a file stores no "
                "Python functions. Use a built-in activation layer instead."
            )
    loss = model.loss
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "barenet_version": __version__,
        "dtype": model.dtype.name,
        "input_shape": list(model.input_shape) if model.input_shape is not None else None,
        "layers": [
            {"class": type(lyr).__name__, "config": lyr.get_config()} for lyr in model.layers
        ],
        "loss": {"name": loss.name, "config": loss.get_config()} if loss is not None else None,
        "history": model.history.history if model.history is not None else None,
        "metadata": model.metadata,
    }


def save_model(model: Sequential, path: str | Path, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model`` to ``path`` (``.npz`` added if missing), atomically; returns the path.

    ``metadata`` is merged into ``model.metadata`` and saved with it.
    """
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    if metadata:
        model.metadata.update(metadata)
    document = json.dumps(model_config(model), default=_to_json)
    arrays: dict[str, Any] = dict(model.state())
    arrays[CONFIG_KEY] = np.array(document)
    with atomic_open(path) as handle:
        np.savez_compressed(handle, **arrays)
    return path


def load_model(path: str | Path) -> Sequential:
    """Rebuild a model saved by ``Sequential.save``; raises ``ModelFileError`` on a bad file."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"Model file {path} does not exist.")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ModelFileError(f"{path} holds a bare array, not a barenet model (.npz).")
        with loaded as archive:
            arrays = {name: archive[name] for name in archive.files}
    except ModelFileError:
        raise
    except ValueError as error:
        if "pickle" in str(error):
            raise ModelFileError(
                f"{path} contains pickled Python objects; barenet never loads pickles, because "
                "loading one can run arbitrary code. Save models with barenet's model.save()."
            ) from None
        raise ModelFileError(f"{path} is not a readable model file: {error}.") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise ModelFileError(
            f"{path} is corrupt or truncated ({type(error).__name__}: {error}); re-save or "
            "re-download it."
        ) from None
    for name, value in arrays.items():
        if not isinstance(value, np.ndarray):
            raise ModelFileError(f"{path} is corrupt: its member {name!r} is not an array.")
    return _build(path, arrays)


def _build(path: Path, arrays: dict[str, np.ndarray]) -> Sequential:
    if CONFIG_KEY not in arrays:
        raise ModelFileError(f"{path} is an .npz file but not a barenet model (no {CONFIG_KEY}).")
    try:
        config = json.loads(str(arrays.pop(CONFIG_KEY)))
    except json.JSONDecodeError as error:
        raise ModelFileError(f"{path} has a damaged model description: {error}.") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a barenet model file (unknown format).")
    if config.get("format_version", 0) > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written by a newer barenet ({config.get('barenet_version')}); upgrade "
            "barenet to read it."
        )
    try:
        model = Sequential(dtype=config["dtype"])
        for entry in config["layers"]:
            if entry["class"] not in Layer.registry:
                raise ModelFileError(f"{path} uses an unknown layer class {entry['class']!r}.")
            model.add(Layer.registry[entry["class"]].from_config(entry["config"]))
        if config.get("loss"):
            model.loss = LOSSES[config["loss"]["name"]](**config["loss"]["config"])
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, ModelFileError):
            raise
        raise ModelFileError(f"{path} has an invalid model description ({error!r}).") from None
    _copy_weights(path, model, arrays)
    if config.get("input_shape") is not None:
        model.input_shape = tuple(config["input_shape"])
    model.metadata = config.get("metadata") or {}
    if config.get("history"):
        model.history = History()
        model.history.history = config["history"]
        model.history.epoch = list(range(len(next(iter(config["history"].values()), []))))
    return model


def _copy_weights(path: Path, model: Sequential, arrays: dict[str, np.ndarray]) -> None:
    expected = dict(model.state())
    missing = sorted(set(expected) - set(arrays))
    unexpected = sorted(set(arrays) - set(expected))
    if missing or unexpected:
        raise ModelFileError(
            f"{path} does not match its own description: missing arrays {missing}, "
            f"unexpected arrays {unexpected}."
        )
    for name, param in expected.items():
        value = arrays[name]
        if value.shape != param.shape:
            raise ModelFileError(f"{path}: {name} has shape {value.shape}, expected {param.shape}.")
        if not np.issubdtype(value.dtype, np.floating) or not np.isfinite(value).all():
            raise ModelFileError(f"{path}: {name} holds non-finite or non-float values.")
        param[...] = value
