"""``Sequential``: a stack of layers with a loss and an optimizer; fit, evaluate and predict.

The training loop itself lives in ``training.py``; saving and loading in ``saving.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from barenet.activations import Sigmoid, Softmax, Tanh, softmax
from barenet.layers import Dense, Layer
from barenet.losses import BinaryCrossEntropy, CrossEntropy, Loss, get_loss
from barenet.optimizers import Optimizer, get_optimizer

if TYPE_CHECKING:
    from barenet.callbacks import Callback
    from barenet.training import Augmentation, History

DTYPES = ("float32", "float64")


class Sequential:
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
        self.dtype = np.dtype(dtype)
        self.layers: list[Layer] = []
        self.loss: Loss | None = None
        self.optimizer: Optimizer | None = None
        self.history: History | None = None
        self.metadata: dict[str, Any] = {}  # free-form: preset, preprocessing, metrics ...
        self.input_shape: tuple[int, ...] | None = None  # per sample, learned from the data
        self.stop_training = False  # set by a callback to end fit() after this epoch
        for layer in layers or ():
            self.add(layer)

    def add(self, layer: Layer) -> Sequential:
        """Append a layer (its parameters are cast to the model's dtype); returns self."""
        if not isinstance(layer, Layer):
            raise ValueError(f"Sequential.add expected a Layer. Received: {layer!r}")
        self.layers.append(layer.astype(self.dtype))
        return self

    def compile(self, loss: str | Loss, optimizer: str | Optimizer = "adam") -> Sequential:
        """Choose the loss and the optimizer, by name or as objects; returns self.

        A final ``Softmax`` trained with ``CrossEntropy(from_logits=True)`` (or a final
        ``Sigmoid`` with ``BinaryCrossEntropy(from_logits=True)``) is fused into the loss: training
        feeds the loss the scores before that layer, so the gradient is the exact, stable
        ``(softmax - onehot) / N``. Predictions still pass through the layer.
        """
        self.loss = get_loss(loss)
        self.optimizer = get_optimizer(optimizer)
        return self

    @property
    def fused_output(self) -> bool:
        """True when the last layer is folded into the loss during training (see ``compile``)."""
        if not self.layers or self.loss is None:
            return False
        last = self.layers[-1]
        return (
            isinstance(last, Softmax)
            and isinstance(self.loss, CrossEntropy)
            and self.loss.from_logits
        ) or (
            isinstance(last, Sigmoid)
            and isinstance(self.loss, BinaryCrossEntropy)
            and self.loss.from_logits
        )

    # -- the two passes ---------------------------------------------------------------------

    def forward(self, X: np.ndarray, training: bool = False, *, logits: bool = False) -> np.ndarray:
        """Run every layer in order. With ``logits=True``, stop before a fused output layer.

        Shape:
            - X: ``(N, *input_shape)`` in the model's dtype.
            - Returns: ``(N, outputs)``.
        """
        layers = self.layers[:-1] if logits and self.fused_output else self.layers
        for layer in layers:
            X = layer.forward(X, training)
        return X

    def backward(
        self, dY: np.ndarray, *, logits: bool = False, input_grad: bool = True
    ) -> np.ndarray:
        """Backpropagate ``dY = dLoss/dOutput`` through every layer in reverse; returns dLoss/dX.

        With ``logits=True``, ``dY`` is the gradient with respect to the scores before a fused
        output layer (what the loss returns during training). With ``input_grad=False`` (as in
        training) it stops at the first layer with parameters and returns an empty array.
        """
        layers = self.layers[:-1] if logits and self.fused_output else self.layers
        if input_grad:
            for layer in reversed(layers):
                dY = layer.backward(dY)
            return dY
        # Training needs only the parameter gradients: stop at the first layer with parameters,
        # which may then skip computing its own input gradient.
        first = next((i for i, layer in enumerate(layers) if layer.params), 0)
        layers[first].needs_input_grad = False
        try:
            for layer in reversed(layers[first:]):
                dY = layer.backward(dY)
        finally:
            layers[first].needs_input_grad = True
        return dY

    def parameters(self) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """Yield ``(name, parameter, gradient)`` for every parameter, e.g. ``"layers.0.weight"``."""
        for index, layer in enumerate(self.layers):
            for key, param in layer.params.items():
                yield f"layers.{index}.{key}", param, layer.grads[key]

    def buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        """Yield ``(name, array)`` for state saved but not trained, e.g. batch-norm statistics."""
        for index, layer in enumerate(self.layers):
            for key, value in layer.buffers.items():
                yield f"layers.{index}.{key}", value

    def state(self) -> Iterator[tuple[str, np.ndarray]]:
        """Every array that defines the model's outputs: parameters, then buffers."""
        yield from ((name, param) for name, param, _ in self.parameters())
        yield from self.buffers()

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

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        *,
        epochs: int,
        batch_size: int | None = 32,
        validation_data: tuple[np.ndarray, np.ndarray] | None = None,
        validation_split: float = 0.0,
        shuffle: bool = True,
        callbacks: Sequence[Callback] = (),
        verbose: int = 1,
        seed: int | None = None,
        steps_per_epoch: int | None = None,
        augment: Augmentation | None = None,
    ) -> History:
        """Train with mini-batches; see ``barenet.training.fit`` for every argument."""
        from barenet.training import fit

        return fit(
            self,
            X,
            y,
            epochs=epochs,
            batch_size=batch_size,
            validation_data=validation_data,
            validation_split=validation_split,
            shuffle=shuffle,
            callbacks=callbacks,
            verbose=verbose,
            seed=seed,
            steps_per_epoch=steps_per_epoch,
            augment=augment,
        )

    def batches(self, X: np.ndarray, batch_size: int) -> Iterator[tuple[slice, np.ndarray]]:
        """Yield ``(slice, batch)`` over X in order, each batch converted to the model's dtype."""
        X = check_inputs(X)
        for start in range(0, len(X), batch_size):
            rows = slice(start, start + batch_size)
            yield rows, self.as_batch(X[rows])

    def as_batch(self, X: np.ndarray) -> np.ndarray:
        """Convert a batch to the model's dtype (no copy when it already is)."""
        return np.ascontiguousarray(X, dtype=self.dtype)

    def predict(self, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """The raw outputs of the last layer, computed in batches.

        Shape:
            - X: ``(N, *input_shape)``; Returns: ``(N, outputs)``.
        """
        parts = [self.forward(batch) for _, batch in self.batches(X, batch_size)]
        if not parts:
            raise ValueError("predict() received no samples (X has length 0).")
        return np.concatenate(parts)

    def predict_proba(self, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Class probabilities ``(N, C)``, rows summing to 1.

        A final Softmax already gives them; scores trained as logits go through softmax; sigmoid
        and tanh outputs (the tutorials' MSE nets) are rescaled to [0, 1] and normalised.
        """
        outputs = self.predict(X, batch_size)
        last = self.layers[-1] if self.layers else None
        if isinstance(last, Softmax):
            return outputs
        if isinstance(last, (Sigmoid, Tanh)):
            scores = (outputs + 1) / 2 if isinstance(last, Tanh) else outputs
            totals = scores.sum(axis=1, keepdims=True)
            uniform = np.full_like(scores, 1.0 / scores.shape[1])
            return np.divide(scores, totals, out=uniform, where=totals > 0)
        return softmax(outputs)

    def predict_classes(self, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Predicted class ids ``(N,)`` (a threshold of 0.5 on single-output models)."""
        outputs = self.predict(X, batch_size)
        if outputs.shape[1] == 1:
            return (outputs[:, 0] > self.decision_threshold).astype(np.int64)
        return outputs.argmax(axis=1)

    @property
    def decision_threshold(self) -> float:
        """Where a single-output model's raw output switches from class 0 to class 1."""
        logits = isinstance(self.loss, BinaryCrossEntropy) and self.loss.from_logits
        return 0.0 if logits and not isinstance(self.layers[-1], Sigmoid) else 0.5

    def evaluate(self, X: np.ndarray, y: np.ndarray, batch_size: int = 1024) -> dict[str, float]:
        """Mean loss and accuracy over (X, y), computed in batches: ``{"loss", "accuracy"}``."""
        from barenet.training import count_correct

        if self.loss is None:
            raise ValueError("evaluate() needs a loss: call model.compile(loss, optimizer) first.")
        y = np.asarray(y)
        check_lengths(X, y)
        total_loss, correct = 0.0, 0
        for rows, batch in self.batches(X, batch_size):
            scores = self.forward(batch, logits=True)
            total_loss += self.loss.forward(scores, y[rows]) * len(scores)
            correct += count_correct(scores, y[rows], self.decision_threshold)
        return {"loss": total_loss / len(X), "accuracy": correct / len(X)}

    # -- description and files ----------------------------------------------------------------

    def summary(self, input_shape: tuple[int, ...] | None = None) -> str:
        """A table of the layers, their output shapes and parameter counts (also printed)."""
        input_shape = input_shape or self.input_shape
        if input_shape is None and self.layers and isinstance(self.layers[0], Dense):
            input_shape = (self.layers[0].in_features,)
        lines = [f"{'#':<4}{'Layer':<14}{'Output shape':<20}{'Params':>10}", "-" * 48]
        X = np.zeros((1, *input_shape), self.dtype) if input_shape is not None else None
        for index, layer in enumerate(self.layers):
            shape = "?"
            if X is not None:
                X = layer.forward(X)
                shape = str((None, *X.shape[1:]))
            count = sum(p.size for p in layer.params.values())
            lines.append(f"{index:<4}{type(layer).__name__:<14}{shape:<20}{count:>10,}")
        total = sum(p.size for _, p, _ in self.parameters())
        lines += ["-" * 48, f"Total parameters: {total:,} ({self.dtype})"]
        text = "\n".join(lines)
        print(text)
        return text

    def save(self, path: str | Path, metadata: dict[str, Any] | None = None) -> Path:
        """Write the model to one ``.npz`` file, atomically; see ``barenet.saving``."""
        from barenet.saving import save_model

        return save_model(self, path, metadata)

    def __repr__(self) -> str:
        inner = ",\n".join(f"  {layer!r}" for layer in self.layers)
        return f"Sequential([\n{inner}\n], dtype={self.dtype.name!r})"


def check_inputs(X: np.ndarray) -> np.ndarray:
    """Return X as an array, or raise ValueError when it is empty, non-numeric or not finite."""
    X = np.asarray(X)
    if X.ndim < 2:
        raise ValueError(f"Expected X of shape (N, features...), got {X.shape}.")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise ValueError(f"Expected numeric X, got dtype {X.dtype}.")
    if np.issubdtype(X.dtype, np.inexact) and not np.isfinite(X).all():
        bad = int((~np.isfinite(X)).sum())
        raise ValueError(f"X contains {bad} NaN or infinite values; clean or impute them first.")
    return X


def check_lengths(X: np.ndarray, y: np.ndarray) -> None:
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)} labels; they must match.")
