"""``Sequential``: a stack of layers; forward and backward passes, predictions, model files.

It inherits ``compile``, ``fit`` and ``evaluate`` from ``training.Trainer``; the file format is
``saving.py``'s, which knows nothing of models.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from barenet.callbacks import History
from barenet.configurable import lookup
from barenet.ensemble import count_networks
from barenet.heads import Head, decide_head
from barenet.layers import Dense, Dropout, Flatten, Layer, Rescaling, Reshape
from barenet.losses import LOSSES
from barenet.optimizers import describe_optimizer, optimizer_from_description, upgrade_state
from barenet.saving import ModelFileError, copy_arrays, read_model_file, write_model_file
from barenet.training import BLOW_UP, Trainer, check_inputs

SHAPE_ONLY = (Flatten, Reshape)  # layers that pass any dtype through untouched
# Inference batches: from 32 to 1024 samples, the widest layer output near 4 MB (see
# Sequential.inference_batch_size).
CACHE_BYTES, SMALLEST_BATCH, LARGEST_BATCH = 4 * 2**20, 32, 1024
DTYPES = ("float32", "float64")


def _widest_output(layers: Sequence[Layer], shape: tuple[int, ...]) -> int:
    """Values in the largest of one sample's input and each layer's output for it (inside an
    ensemble, each member network's layers too), from the layers' ``output_shape``."""
    widest = math.prod(shape)
    for layer in layers:
        for member in getattr(layer, "members", ()):  # an ensemble's networks
            widest = max(widest, _widest_output(member, shape))
        shape = layer.output_shape(shape)
        widest = max(widest, math.prod(shape))
    return widest


class Sequential(Trainer):
    """Layers applied one after another: ``y = layer_k(... layer_2(layer_1(X)))``.

    Args:
        layers: the initial layers (more can be added with ``add``).
        dtype: ``"float32"`` (default, fast) or ``"float64"`` (for gradient checks).

    Inputs of any numeric dtype (for example uint8 pixels) are converted to ``dtype`` one batch
    at a time, so a data set can stay small in memory.
    """

    def __init__(self, layers: Sequence[Layer] | None = None, *, dtype: str = "float32") -> None:
        if str(dtype) not in DTYPES:
            raise ValueError(f"Sequential expected dtype in {DTYPES}. Received: dtype={dtype!r}")
        super().__init__()
        self.dtype = np.dtype(dtype)
        self.layers: list[Layer] = []
        self.metadata: dict[str, Any] = {}  # free-form: preset, preprocessing, metrics ...
        for layer in layers or ():
            self.add(layer)

    def add(self, layer: Layer) -> Sequential:
        """Append a layer (its parameters are cast to the model's dtype); returns self."""
        if not isinstance(layer, Layer):
            raise ValueError(f"Sequential.add expected a Layer. Received: {layer!r}")
        self.layers.append(layer.astype(self.dtype))
        return self

    @property
    def head(self) -> Head:
        """What the outputs mean (``barenet.heads``): whether the last layer is fused into the
        loss, how outputs become probabilities, and a single output's threshold; decided by one
        rule from the last layer and the loss that ``compile`` chose (again whenever either is
        another object)."""
        last = self.layers[-1] if self.layers else None
        decided = self.__dict__.get("_head")
        if decided is None or decided[0] is not last or decided[1] is not self.loss:
            decided = self._head = (last, self.loss, decide_head(last, self.loss))
        return decided[2]

    # -- the two passes ---------------------------------------------------------------------

    def forward(self, X: np.ndarray, training: bool = False, *, logits: bool = False) -> np.ndarray:
        """Run every layer in order. With ``logits=True``, stop before a fused output layer.

        Shape:
            - X: ``(N, *input_shape)`` in the model's dtype.
            - Returns: ``(N, outputs)``.
        """
        layers = self.layers[:-1] if logits and self.head.fused else self.layers
        for layer in layers:
            X = layer.forward(X, training)
        return X

    def backward(self, dY: np.ndarray, *, logits: bool = False) -> np.ndarray:
        """Backpropagate ``dY = dLoss/dOutput`` through every layer in reverse; each layer sets
        its parameters' gradients; returns dLoss/dX.

        With ``logits=True``, ``dY`` is the gradient with respect to the scores before a fused
        output layer (what the loss returns during training).
        """
        layers = self.layers[:-1] if logits and self.head.fused else self.layers
        for layer in reversed(layers):
            dY = layer.backward(dY)
        return dY

    def parameters(self) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """Yield ``(name, parameter, gradient)`` for every parameter, e.g. ``"layers.0.weight"``.

        Training and ``gradcheck`` both read the arrays here, after each ``backward``.
        """
        for index, layer in enumerate(self.layers):
            for key, param in layer.params.items():
                grad = layer.grads.get(key)
                if grad is None or grad.shape != param.shape:
                    raise ValueError(
                        f"{type(layer).__name__} (layer {index}) holds a gradient for "
                        f"params[{key!r}] of shape {None if grad is None else grad.shape}, "
                        f"expected {param.shape}: its backward() must set grads[{key!r}] to "
                        "an array of the parameter's shape."
                    )
                yield f"layers.{index}.{key}", param, grad

    def buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        """Yield ``(name, array)`` for state saved but not trained, e.g. batch-norm statistics."""
        for index, layer in enumerate(self.layers):
            for key, value in layer.buffers.items():
                yield f"layers.{index}.{key}", value

    def state(self) -> Iterator[tuple[str, np.ndarray]]:
        """Every array that defines the model's outputs: parameters, then buffers."""
        yield from ((name, param) for name, param, _ in self.parameters())
        yield from self.buffers()

    def random_generators(self) -> dict[str, np.random.Generator]:
        """The generators layers draw from in training (Dropout's masks), by layer name."""
        generators = {
            f"layers.{index}": getattr(layer, "rng", None)
            for index, layer in enumerate(self.layers)
        }
        return {
            name: generator
            for name, generator in generators.items()
            if isinstance(generator, np.random.Generator)
        }

    def seed_generators(self, seed: int) -> None:
        """Seed every layer generator that was made unseeded (a loaded model's Dropout) from
        ``seed`` and the layer's position, so that ``fit(seed=...)`` is the same run each time."""
        for index, layer in enumerate(self.layers):
            if isinstance(layer, Dropout) and not layer.seeded:
                layer.rng = np.random.default_rng([seed, index])
                layer.seeded = True

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every parameter and buffer, in ``state()`` order."""
        return [value.copy() for _, value in self.state()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Copy arrays into the parameters and buffers in place (optimizers keep references)."""
        params = list(self.state())
        if len(weights) != len(params):
            raise ValueError(f"Expected {len(params)} weight arrays. Received {len(weights)}.")
        for (name, param), value in zip(params, weights, strict=True):
            if value.shape != param.shape:
                raise ValueError(f"{name} expected shape {param.shape}, got {value.shape}.")
            param[...] = value

    # -- training and inference ---------------------------------------------------------------

    def batches(
        self, X: np.ndarray, batch_size: int | None = None
    ) -> Iterator[tuple[slice, np.ndarray]]:
        """Yield ``(slice, batch)`` over X (checked already) in order, each batch made ready by
        ``as_batch``; ``batch_size`` defaults to ``inference_batch_size(X)``."""
        batch_size = batch_size or self.inference_batch_size(X)
        for start in range(0, len(X), batch_size):
            rows = slice(start, start + batch_size)
            yield rows, self.as_batch(X[rows])

    def inference_batch_size(self, X: np.ndarray) -> int:
        """Samples per forward pass when predicting X: as many as keep a batch's widest layer
        output near ``CACHE_BYTES``, a power of two from 32 to 1024.

        A batch whose activations stay in the CPU's caches runs faster through the elementwise
        layers, while dense layers' products run best on big batches; the sizes come from
        ``output_shape``, without running a layer."""
        if len(X) <= SMALLEST_BATCH:
            return SMALLEST_BATCH
        widest = _widest_output(self.layers, X.shape[1:]) * self.dtype.itemsize
        fitting = max(CACHE_BYTES // max(widest, 1), 1)
        return int(np.clip(2 ** int(np.log2(fitting)), SMALLEST_BATCH, LARGEST_BATCH))

    def _first_computing_layer(self) -> Layer | None:
        """The first layer that changes values, not just the shape."""
        return next((layer for layer in self.layers if not isinstance(layer, SHAPE_ONLY)), None)

    def as_batch(self, X: np.ndarray) -> np.ndarray:
        """Convert a batch to the model's dtype (no copy when it already is).

        Integer pixels stay integers when the first layer that computes is a ``Rescaling``: it
        converts and scales them in one pass, with the same result, and a batch of bytes stays
        a quarter of the size until then."""
        if X.dtype.kind in "ui" and isinstance(self._first_computing_layer(), Rescaling):
            return np.ascontiguousarray(X)
        return np.ascontiguousarray(X, dtype=self.dtype)

    def layer_shapes(self, input_shape: tuple[int, ...]) -> list[tuple[int, ...]]:
        """Each layer's output shape for one sample of ``input_shape``, from the layers'
        ``output_shape``; a shape a layer cannot take raises its ValueError (which names, too,
        a layer of your own before it that keeps ``Layer``'s shape-keeping ``output_shape``)."""
        shapes: list[tuple[int, ...]] = []
        for index, layer in enumerate(self.layers):
            try:
                shapes.append(layer.output_shape(tuple(shapes[-1] if shapes else input_shape)))
            except ValueError as error:
                keeping = [
                    type(earlier).__name__
                    for earlier in self.layers[:index]
                    if type(earlier).output_shape is Layer.output_shape
                    and not type(earlier).__module__.startswith("barenet.")
                ]
                if not keeping:
                    raise
                raise ValueError(
                    f"{error} If {', '.join(keeping)} changes the shape of a sample, give it an "
                    "output_shape(input_shape) method that says how."
                ) from None
        return shapes

    def output_size(self, input_shape: tuple[int, ...] | None = None) -> int:
        """Outputs per sample for inputs of ``input_shape`` (the model's own by default)."""
        shape = input_shape if input_shape is not None else self.input_shape
        if shape is None:
            raise ValueError("output_size() needs an input_shape: the model has not seen data.")
        shapes = self.layer_shapes(shape)
        return int(shapes[-1][0]) if shapes else int(shape[0])

    def predict(self, X: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """The raw outputs of the last layer, computed in batches.

        Shape:
            - X: ``(N, *input_shape)``; Returns: ``(N, outputs)``.
        """
        parts = [self.forward(batch) for _, batch in self.batches(check_inputs(X), batch_size)]
        if not parts:
            raise ValueError("predict() received no samples (X has length 0).")
        return np.concatenate(parts)

    def predict_proba(self, X: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Class probabilities ``(N, C)``, rows summing to 1.

        A final Softmax already gives them; scores trained as logits go through softmax; sigmoid
        and tanh outputs (the tutorials' MSE nets) are rescaled to [0, 1] and normalised.
        """
        return self.probabilities(self.predict(X, batch_size))

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        """Class probabilities ``(N, C)`` from the last layer's raw outputs ``(N, C)``: the
        rule of ``predict_proba`` (``head.probabilities``), for outputs already computed."""
        return self.head.probabilities(outputs)

    def predict_classes(self, X: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Predicted class ids ``(N,)`` (a threshold of 0.5 on single-output models)."""
        outputs = self.predict(X, batch_size)
        if outputs.shape[1] == 1:
            return (outputs[:, 0] > self.head.threshold).astype(np.int64)
        return outputs.argmax(axis=1)

    # -- description and files ----------------------------------------------------------------

    def summary(self, input_shape: tuple[int, ...] | None = None) -> str:
        """A table of the layers, their output shapes and parameter counts (also printed)."""
        input_shape = input_shape or self.input_shape
        if input_shape is None and self.layers and isinstance(self.layers[0], Dense):
            input_shape = (self.layers[0].in_features,)
        lines = [f"{'#':<4}{'Layer':<14}{'Output shape':<20}{'Params':>10}", "-" * 48]
        shapes = self.layer_shapes(input_shape) if input_shape is not None else []
        for index, layer in enumerate(self.layers):
            shape = str((None, *shapes[index])) if shapes else "?"
            count = sum(p.size for p in layer.params.values())
            lines.append(f"{index:<4}{type(layer).__name__:<14}{shape:<20}{count:>10,}")
        total = sum(p.size for _, p, _ in self.parameters())
        lines += ["-" * 48, f"Total parameters: {total:,} ({self.dtype})"]
        text = "\n".join(lines)
        print(text)
        return text

    def get_config(self) -> dict[str, Any]:
        """The JSON-ready architecture: dtype, input shape, layer configs and the loss."""
        loss = self.loss
        return {
            "dtype": self.dtype.name,
            "input_shape": list(self.input_shape) if self.input_shape is not None else None,
            "layers": [layer.describe() for layer in self.layers],
            "loss": {"name": loss.name, "config": loss.get_config()} if loss is not None else None,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        """A new model with the architecture of ``get_config()`` (initial weights)."""
        model = cls(dtype=config["dtype"])
        for entry in config["layers"]:
            model.add(Layer.from_description(entry))
        if config.get("loss"):
            model.loss = lookup(LOSSES, config["loss"]["name"], "loss")(**config["loss"]["config"])
        if config.get("input_shape") is not None:
            model.input_shape = tuple(config["input_shape"])
        return model

    def save(
        self,
        path: str | Path,
        metadata: dict[str, Any] | None = None,
        *,
        include_optimizer: bool = True,
        training_state: dict[str, Any] | None = None,
    ) -> Path:
        """Write the model to one ``.npz`` file, atomically; returns its path.

        The file holds every parameter and buffer under its dotted name, the architecture, the
        training history, the optimizer's configuration and (unless ``include_optimizer`` is
        False) its state, and ``metadata`` (merged into ``self.metadata``); a checkpoint also
        holds ``training_state`` (see ``capture_training_state``). See ``saving.py``.
        """
        merged = {**self.metadata, **(metadata or {})}
        arrays, description = self.file_contents(merged, include_optimizer, training_state)
        saved = write_model_file(path, arrays, description)
        self.metadata = merged  # only once saved: a failed save changes nothing
        return saved

    def file_contents(
        self,
        metadata: dict[str, Any],
        include_optimizer: bool = True,
        training_state: dict[str, Any] | None = None,
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """What ``save`` writes: the named arrays (the model's own, not copies) and the JSON
        description, ``metadata`` as given."""
        optimizer = describe_optimizer(self.optimizer) if self.optimizer is not None else None
        arrays = dict(self.state())
        if include_optimizer and optimizer is not None and self.optimizer is not None:
            arrays |= self.optimizer.state_arrays()
        description = {
            **self.get_config(),
            "history": self.history.history if self.history is not None else None,
            "metadata": metadata,
            "optimizer": optimizer,
            "training": training_state,
        }
        return arrays, description

    def __repr__(self) -> str:
        inner = ",\n".join(f"  {layer!r}" for layer in self.layers)
        return f"Sequential([\n{inner}\n], dtype={self.dtype.name!r})"


def load_model(path: str | Path) -> Sequential:
    """Rebuild a model saved by ``Sequential.save``, weights, history and metadata included.

    Raises:
        ModelFileError: the file is missing, corrupt, foreign, pickled or inconsistent; the
            message names the file and the problem.
    """
    arrays, description = read_model_file(path)
    _check_layer_sizes(path, description, arrays)
    try:
        model = Sequential.from_config(description)
        metadata, history = description.get("metadata") or {}, description.get("history") or {}
        if not model.layers:
            raise ValueError("it has no layers")
        if not isinstance(metadata, dict):
            raise ValueError("its metadata is not a JSON object")
        if not _is_history(history):
            raise ValueError("its history is not an object of per-epoch lists of numbers")
    except (KeyError, TypeError, ValueError, MemoryError) as error:
        reason = (str(error) if type(error) is ValueError else repr(error)).rstrip(".")
        raise ModelFileError(f"{path} has an invalid model description: {reason}.") from None
    optimizer_arrays = {
        name: arrays.pop(name) for name in list(arrays) if name.startswith("optimizer.")
    }
    copy_arrays(path, dict(model.state()), arrays)
    model.metadata = metadata
    model.history = History(history) if history else None
    _restore_optimizer(path, model, description, optimizer_arrays)
    if model.input_shape is not None:
        probes = np.stack([np.zeros(model.input_shape), np.ones(model.input_shape)])
        with np.errstate(all="ignore"):
            outputs = model.forward(probes.astype(model.dtype))
        if not np.isfinite(outputs).all():
            raise ModelFileError(
                f"{path} gives non-finite outputs (NaN or infinity) for plain inputs; its "
                "weights or settings are broken. Retrain or re-download it."
            )
    return model


def _is_history(history: Any) -> bool:
    """Whether ``history`` is ``{metric: [value per epoch]}``, every list as long, every value
    a number or null (an epoch where the metric was not measured)."""
    if not isinstance(history, dict) or not all(isinstance(v, list) for v in history.values()):
        return False
    lengths = {len(values) for values in history.values()}
    numbers = all(
        value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))
        for values in history.values()
        for value in values
    )
    return len(lengths) <= 1 and numbers


def _restore_optimizer(
    path: str | Path,
    model: Sequential,
    description: dict[str, Any],
    arrays: dict[str, np.ndarray],
) -> None:
    """Give a loaded model its optimizer back (configuration, and state if saved), and the
    training state of a checkpoint."""
    try:
        if description.get("optimizer"):
            model.optimizer = optimizer_from_description(description["optimizer"])
            upgrade_state(description["optimizer"], arrays)
            if arrays:
                model.optimizer.restore_state([param for _, param, _ in model.parameters()], arrays)
            else:  # no state saved: it starts afresh, its step count too
                model.optimizer.iterations = 0
        elif arrays:
            raise ValueError("it holds optimizer state but no optimizer")
        training = description.get("training")
        if training is not None:
            _check_training_state(training, model)
        model.training_state = training
    except (KeyError, TypeError, ValueError, OverflowError) as error:
        reason = (str(error) if type(error) is ValueError else repr(error)).rstrip(".")
        raise ModelFileError(
            f"{path} has an invalid optimizer or training state: {reason}."
        ) from None


def _check_training_state(training: Any, model: Sequential) -> None:
    """Refuse a checkpoint's training state that could not put the run back (ValueError)."""
    if not isinstance(training, dict):
        raise ValueError("its training state is not a JSON object")
    epoch, generators = training.get("epoch"), training.get("generators")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise ValueError(f"its training state has no valid epoch ({epoch!r})")
    if not isinstance(generators, dict) or set(generators) != set(model.random_generators()):
        raise ValueError("its training state does not match the model's random generators")
    ceiling = training.get("loss_ceiling")  # BLOW_UP times a first loss of at least 1
    if ceiling is not None and not (
        isinstance(ceiling, float) and math.isfinite(ceiling) and ceiling >= BLOW_UP
    ):
        raise ValueError(f"its training state has an invalid loss ceiling ({ceiling!r})")
    np.random.default_rng().bit_generator.state = training["rng"]  # fit's: a PCG64
    for name, generator in model.random_generators().items():
        type(generator.bit_generator)().state = generators[name]  # raises if it does not fit


def _check_layer_sizes(
    path: str | Path, description: dict[str, Any], arrays: dict[str, np.ndarray]
) -> None:
    """Refuse, before building anything, a layer whose sizes (the product of the whole numbers
    in its config, e.g. in_features x out_features) exceed what the file's arrays could hold:
    a small file must not make barenet allocate gigabytes only to find a shape mismatch."""
    _check_ensembles(path, description)  # first: the walk below goes into their members
    stored = max(sum(array.size for array in arrays.values()), 1024)
    for index, entry in _layer_entries(description.get("layers")):
        config = entry.get("config") if isinstance(entry, dict) else None
        sizes = [
            value
            for value in (config.values() if isinstance(config, dict) else ())
            if isinstance(value, int) and not isinstance(value, bool) and value > 0
        ]
        if float(np.prod(sizes, dtype=np.float64)) > 16 * stored:
            raise ModelFileError(
                f"{path}: layer {index} ({entry.get('class')}) declares sizes {sizes}, far more "
                f"than the {stored:,} numbers the file holds."
            )


def _check_ensembles(path: str | Path, description: dict[str, Any]) -> None:
    """Refuse ensembles of more networks, or nested deeper, than ``Ensemble`` allows, from the
    description alone: building 1,000 members takes gigabytes, and 300 levels the whole stack."""
    try:
        count_networks(description.get("layers"))
    except ValueError as error:
        raise ModelFileError(f"{path}: {error}") from None


def _layer_entries(layers: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(position, entry)`` for every layer a description lists, and for the layers of the
    networks inside an ensemble's (``"0.2.1"``: layer 1 of member 2 of layer 0)."""
    for index, entry in enumerate(layers if isinstance(layers, list) else []):
        yield f"{prefix}{index}", entry
        config = entry.get("config") if isinstance(entry, dict) else None
        members = config.get("members") if isinstance(config, dict) else None
        for k, member in enumerate(members if isinstance(members, list) else []):
            yield from _layer_entries(member, f"{prefix}{index}.{k}.")
