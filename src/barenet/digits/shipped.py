"""The pretrained models that ship inside the package, and how a model argument is resolved.

``barenet predict``, ``evaluate``, ``report`` and ``serve`` take ``--model`` as either the name of
a shipped model (``cnn``, ``ensemble``, ``mlp``) or the path of a model file; without it they use
the shipped CNN: one network, read in a few milliseconds, while the ensemble of three reads
slightly better at three times the cost.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from barenet.model import Sequential, load_model
from barenet.saving import ModelFileError

# name -> file in barenet/digits/models/; docs/presets.md gives the command of each.
SHIPPED_MODELS = {
    "cnn": "mnist-cnn.npz",
    "ensemble": "mnist-ensemble.npz",
    "mlp": "mnist-mlp.npz",
}
DEFAULT_MODEL = "cnn"


def shipped_model_path(name: str = DEFAULT_MODEL) -> Path:
    """The file of a shipped model; ValueError listing the names for an unknown one."""
    if name not in SHIPPED_MODELS:
        raise ValueError(
            f"Unknown shipped model {name!r}. Expected one of: {', '.join(SHIPPED_MODELS)}, "
            "or the path of a model file."
        )
    return Path(str(resources.files("barenet.digits") / "models" / SHIPPED_MODELS[name]))


def resolve_model_path(name_or_path: str | Path | None) -> Path:
    """``None`` -> the default shipped model; a shipped name -> its file; else the path itself.

    A file in the current folder named like a shipped model (``cnn``) still wins only when it
    exists, so ``--model cnn`` always means the shipped CNN unless such a file is really there.
    """
    if name_or_path is None:
        return shipped_model_path()
    if str(name_or_path) in SHIPPED_MODELS and not Path(name_or_path).exists():
        return shipped_model_path(str(name_or_path))
    return Path(name_or_path)


def open_model(name_or_path: str | Path | None = None) -> tuple[Sequential, Path]:
    """Load a model by shipped name or path (see ``resolve_model_path``); the model and the
    file it came from."""
    path = resolve_model_path(name_or_path)
    if not path.exists() and not path.suffix:
        raise ModelFileError(
            f"{str(name_or_path)!r} is neither a shipped model ({', '.join(SHIPPED_MODELS)}) "
            "nor a model file."
        )
    return load_model(path), path
