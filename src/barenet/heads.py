"""What a model's outputs mean: decided once, from its last layer and its loss.

The last layer may squash the scores (Softmax into probabilities, Sigmoid or Tanh into a range),
and the loss may take the scores before it (a fused output, for a stable and exact gradient).
Training, predictions, accuracy and explanations all read the one ``Head`` this module decides,
so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from barenet.activations import Sigmoid, Softmax, Tanh, softmax
from barenet.layers import Layer
from barenet.losses import BinaryCrossEntropy, CrossEntropy, Loss

# The squashing layers a head knows, by the name it gives them.
SQUASHES: dict[str, type[Layer]] = {"softmax": Softmax, "sigmoid": Sigmoid, "tanh": Tanh}


@dataclass(frozen=True)
class Head:
    """The meaning of a model's outputs.

    Attributes:
        squash: ``"softmax"``, ``"sigmoid"`` or ``"tanh"`` when the last layer is that function,
            else None (the outputs are raw scores).
        fused: True when training feeds the loss the scores before that last layer
            (``CrossEntropy(from_logits=True)`` after Softmax, ``BinaryCrossEntropy(
            from_logits=True)`` after Sigmoid).
        threshold: where a single output switches from class 0 to class 1: halfway between
            the targets it was trained towards (0.5 between barenet's 0/1 targets, whether the
            output is a sigmoid, a tanh or plain; 0 for logits, whose sigmoid crosses 0.5 there).
    """

    squash: str | None = None
    fused: bool = False
    threshold: float = 0.5

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        """Class probabilities ``(N, C)``, rows summing to 1, from the last layer's outputs.

        Softmax outputs already are; raw scores go through softmax; sigmoid outputs, and tanh
        outputs moved to [0, 1] by ``(y + 1) / 2``, are divided by their row's sum (a row of
        zeros becomes uniform). Each keeps the order of a row, so the most probable class is
        the largest output, as ``predict_classes`` has it.
        """
        if self.squash == "softmax":
            return outputs
        if self.squash is None:
            return softmax(outputs)
        scores = (outputs + 1) / 2 if self.squash == "tanh" else outputs
        totals = scores.sum(axis=1, keepdims=True)
        uniform = np.full_like(scores, 1.0 / scores.shape[1])
        return np.divide(scores, totals, out=uniform, where=totals > 0)


def decide_head(last: Layer | None, loss: Loss | None) -> Head:
    """The head of a model whose last layer is ``last`` (None: no layers) trained with ``loss``."""
    squash = next((name for name, cls in SQUASHES.items() if isinstance(last, cls)), None)
    logits = getattr(loss, "from_logits", False)
    fused = (squash == "softmax" and isinstance(loss, CrossEntropy) and logits) or (
        squash == "sigmoid" and isinstance(loss, BinaryCrossEntropy) and logits
    )
    scores_are_logits = squash is None and isinstance(loss, BinaryCrossEntropy) and logits
    threshold = 0.0 if scores_are_logits else 0.5
    return Head(squash, bool(fused), threshold)
