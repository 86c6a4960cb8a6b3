"""Looking inside a model: every layer's output for an input, and a saliency map.

A saliency map (Simonyan, Vedaldi & Zisserman, 2014) shows which inputs would change the answer
most: the gradient of one class's score with respect to the input,

    S = d s_c(x) / d x,

computed by the model's own backward pass, the chain rule through every layer as in training,
started from the one-hot vector ``e_c`` instead of a loss gradient. The score ``s_c`` is the
class's logit: the input of a final Softmax, Sigmoid or Tanh (a probability depends on every
class's score, and a saturated output would hide the gradient), or the output itself when the
model ends without one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from barenet.layers import Layer
from barenet.model import Sequential
from barenet.training import check_inputs


@dataclass(frozen=True)
class LayerOutput:
    """One layer of a model and what it computed for each input.

    Shape:
        - values: ``(N, *shape)``, e.g. ``(N, 32, 24, 24)`` for 32 feature maps.
    """

    index: int
    layer: Layer
    values: np.ndarray

    @property
    def name(self) -> str:
        """The layer's label, e.g. ``"Conv2D(1->32, 5x5)"``."""
        return self.layer.label()

    @property
    def kind(self) -> str:
        """The layer's class name, e.g. ``"Conv2D"``."""
        return type(self.layer).__name__

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of one sample's output."""
        return tuple(self.values.shape[1:])


@dataclass(frozen=True)
class Explanation:
    """What ``explain`` found for N inputs.

    Shape:
        - inputs: ``(N, *input_shape)``, the inputs in the model's dtype.
        - layers: one ``LayerOutput`` per layer, in order; the last holds the model's output.
        - probabilities: ``(N, C)``, as ``Sequential.predict_proba`` gives them.
        - targets: ``(N,)``, the class ``c`` whose score was differentiated for each input.
        - scores: ``(N,)``, that score ``s_c(x)``.
        - saliency: ``(N, *input_shape)``, ``d s_c / d x``.
    """

    inputs: np.ndarray
    layers: list[LayerOutput]
    probabilities: np.ndarray
    targets: np.ndarray
    scores: np.ndarray
    saliency: np.ndarray


def explain(
    model: Sequential, X: np.ndarray, target: int | np.ndarray | None = None
) -> Explanation:
    """Every layer's output for ``X``, and the gradient of a class score with respect to ``X``.

    The model runs in inference mode (dropout off, batch norm with its running statistics), so
    the outputs are the ones ``predict`` computes. The backward pass writes the layers' gradient
    arrays, as a training step does: call this between training steps, not inside one.

    Args:
        model: any barenet model whose output is ``(N, classes)``.
        X: ``(N, *input_shape)``, any numeric dtype (converted to the model's, as in ``predict``).
        target: the class whose score to differentiate: one class for every input, one per
            input ``(N,)``, or None for each input's most probable class.

    Raises:
        ValueError: an empty model, inputs the layers cannot take, or a target out of range.
    """
    if not model.layers:
        raise ValueError("explain() needs a model with layers.")
    values = model.as_batch(check_inputs(X))
    inputs = values.astype(model.dtype, copy=False)  # raw pixels too, in the model's dtype
    outputs = []
    for index, layer in enumerate(model.layers):
        values = layer.forward(values, training=False)
        outputs.append(LayerOutput(index, layer, values))
    if values.ndim != 2:
        raise ValueError(
            f"explain() expected a model whose output is (N, classes). Received: {values.shape}"
        )
    squashed = len(model.layers) > 1 and model.head.squash is not None
    scored = model.layers[:-1] if squashed else model.layers
    scores = outputs[len(scored) - 1].values  # (N, C)
    probabilities = model.probabilities(values)
    targets = _targets(target, probabilities)
    rows = np.arange(len(scores))
    gradient = np.zeros_like(scores)
    gradient[rows, targets] = 1  # d s_c / d scores: the one-hot e_c
    for layer in reversed(scored):
        gradient = layer.backward(gradient)
    return Explanation(inputs, outputs, probabilities, targets, scores[rows, targets], gradient)


def _targets(target: int | np.ndarray | None, probabilities: np.ndarray) -> np.ndarray:
    """The class to explain for each of the N inputs, ``(N,)``, checked against C classes."""
    count, classes = probabilities.shape
    if target is None:
        return probabilities.argmax(axis=1)
    targets = np.asarray(target)
    if not np.issubdtype(targets.dtype, np.integer) or targets.ndim > 1:
        raise ValueError(
            f"explain() expected target to be a class number or one per input. Received: {target!r}"
        )
    targets = np.broadcast_to(targets, (count,)) if targets.ndim == 0 else targets
    if len(targets) != count:
        raise ValueError(f"explain() received {len(targets)} targets for {count} inputs.")
    if targets.min() < 0 or targets.max() >= classes:
        raise ValueError(f"explain() expected targets in 0..{classes - 1}. Received: {target!r}")
    return targets.astype(np.int64)
