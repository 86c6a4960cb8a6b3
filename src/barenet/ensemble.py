"""An ensemble: K trained networks that answer together by averaging their class probabilities.

    p(x) = (1/K) sum_k p_k(x),        p_k = softmax(z_k(x)), z_k: member k's scores (logits)

``Ensemble`` is a layer holding the K members; it outputs ``log p(x)``, and ``ensemble()`` puts a
``Softmax`` after it. Since ``softmax(log p) = p / sum(p) = p``, the pair gives the averaged
probabilities back exactly, and cross-entropy computed from the scores ``log p`` is
``-log p_y``: an ensemble is trained-model-shaped, so predicting, evaluating, saving, loading,
explaining and exporting take it like any ``Sequential``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from barenet.activations import Softmax, log_softmax, logsumexp
from barenet.layers import Layer
from barenet.losses import CrossEntropy

if TYPE_CHECKING:  # model.py imports this module (to check files); ensemble() only builds one
    from barenet.model import Sequential

# Each network is held in memory and run on every input: 1,000 small ones took 3.3 GiB.
MAX_NETWORKS = 20
# An ensemble of ensembles of ensembles, as `barenet ensemble` makes when given ensemble files;
# deeper, a file's nesting would exhaust Python's stack when it is built.
MAX_NESTING = 3


class Ensemble(Layer):
    """The logarithm of the averaged class probabilities of K member networks.

    Forward, with ``log p_k = log_softmax(z_k)`` for each member:
    ``y = log p = logsumexp_k(log p_k) - log K``, stable however confident a member is.

    Backward, from ``dy = dLoss/dy``: with ``w_k = p_k / (K p)`` (member k's share of the
    averaged probability of each class; ``sum_k w_k = 1``), each member's scores get
    ``dz_k = w_k * dy - p_k * sum_c(w_kc dy_c)`` (the chain rule through the log, the mean and the
    member's softmax), which goes back through the member's layers; ``dx`` is the sum over the
    members.

    Args:
        members: K lists of layers, each one network from raw input to a final ``Softmax`` (the
            layers of a trained classifier, e.g. ``model.layers``); at most ``MAX_NETWORKS``
            networks in all, nested ensembles' included, nested at most ``MAX_NESTING`` deep.

    Shape:
        - x: ``(N, *input_shape)``, what every member takes
        - Returns: ``(N, C)``, ``log p``; every member must give C classes.
    """

    def __init__(self, members: Sequence[Sequence[Layer]]) -> None:
        super().__init__()
        if not members:
            raise ValueError("Ensemble expected at least one member network. Received none.")
        for index, member in enumerate(members):
            if not member or not all(isinstance(layer, Layer) for layer in member):
                raise ValueError(f"Ensemble member {index} is not a list of layers.")
            if not isinstance(member[-1], Softmax):
                raise ValueError(
                    f"Ensemble member {index} ends in {type(member[-1]).__name__}; an ensemble "
                    "averages probabilities, so every member must end in Softmax."
                )
        self.members = [list(member) for member in members]
        count_networks([self.describe()])  # the bounds a model file is held to
        self._gather()
        self._log_p_members: np.ndarray | None = None  # (K, N, C): each member's log p_k
        self._log_p: np.ndarray | None = None  # (N, C): the output, log p

    def _gather(self) -> None:
        """Expose the members' arrays as this layer's own, ``"k.i.name"`` (member k, layer i):
        the same arrays, so saving, loading and optimizers see the members' weights."""
        named = [
            (f"{k}.{i}", layer)
            for k, member in enumerate(self.members)
            for i, layer in enumerate(member)
        ]
        self.params = {f"{n}.{key}": v for n, layer in named for key, v in layer.params.items()}
        self.grads = {f"{n}.{key}": v for n, layer in named for key, v in layer.grads.items()}
        self.buffers = {f"{n}.{key}": v for n, layer in named for key, v in layer.buffers.items()}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        log_probabilities = []
        for member in self.members:
            scores = x
            for layer in member[:-1]:  # up to the member's Softmax: its scores z_k
                scores = layer.forward(scores, training)
            log_probabilities.append(log_softmax(scores))
        stacked = np.stack(log_probabilities)  # (K, N, C)
        self._log_p_members = stacked
        self._log_p = logsumexp(stacked, axis=0) - np.log(len(self.members)).astype(x.dtype)
        return self._log_p

    def backward(self, dy: np.ndarray) -> np.ndarray:
        assert self._log_p_members is not None and self._log_p is not None, "backward first"
        count = len(self.members)
        dx: np.ndarray | None = None
        for member, log_p_k in zip(self.members, self._log_p_members, strict=True):
            share = np.exp(log_p_k - self._log_p - np.log(count))  # w_k = p_k / (K p)
            weighted = share * dy
            dz = weighted - np.exp(log_p_k) * weighted.sum(axis=1, keepdims=True)
            for layer in reversed(member[:-1]):
                dz = layer.backward(dz)
            dx = dz if dx is None else dx + dz
        assert dx is not None
        self._gather()  # the members' layers set new gradient arrays
        return dx

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        shapes = []
        for member in self.members:
            shape = tuple(input_shape)
            for layer in member:
                shape = layer.output_shape(shape)
            shapes.append(shape)
        if len(set(shapes)) > 1:
            raise ValueError(f"Ensemble members give outputs of different shapes: {shapes}.")
        return shapes[0]

    def astype(self, dtype: npt.DTypeLike) -> Ensemble:
        for member in self.members:
            for layer in member:
                layer.astype(dtype)
        self._gather()
        return self

    def label(self) -> str:
        return f"Ensemble({len(self.members)} networks)"

    def get_config(self) -> dict[str, Any]:
        return {"members": [[layer.describe() for layer in member] for member in self.members]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Ensemble:
        return cls([[Layer.from_description(e) for e in member] for member in config["members"]])

    def __repr__(self) -> str:
        return f"Ensemble({len(self.members)} members)"


def count_networks(layers: Any, depth: int = 0) -> int:
    """The networks in the ensembles of a model description's list of ``layers`` (0 if none);
    a member that holds ensembles counts as the networks inside them.

    Raises:
        ValueError: more than ``MAX_NETWORKS`` networks, or ensembles nested more than
            ``MAX_NESTING`` deep; found from the description alone, before anything is built,
            and before going any deeper, so no description can exhaust memory or the stack.
    """
    networks = 0
    for entry in layers if isinstance(layers, list) else []:
        members = _members_of(entry)
        if members is None:
            continue
        if depth == MAX_NESTING:
            raise ValueError(
                f"Ensembles nest at most {MAX_NESTING} deep (an ensemble of ensembles of "
                "ensembles), and these nest deeper: combine their networks in fewer levels."
            )
        for member in members if isinstance(members, list) else []:
            networks += count_networks(member, depth + 1) or 1
            if networks > MAX_NETWORKS:
                raise ValueError(
                    f"An ensemble holds at most {MAX_NETWORKS} networks (those of nested "
                    "ensembles included), and this one holds more: combine fewer models."
                )
    return networks


def _members_of(entry: Any) -> Any:
    """The ``members`` of an ensemble's description; None for any other layer's."""
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        return None
    kind = Layer.registry.get(entry["class"]) if isinstance(entry.get("class"), str) else None
    return entry["config"].get("members") if kind and issubclass(kind, Ensemble) else None


def ensemble(models: Sequence[Sequential]) -> Sequential:
    """One model that averages the probabilities of ``models``: ``[Ensemble, Softmax]``.

    The models keep their layers (shared, not copied). It predicts, evaluates, saves and loads
    like any model; its metadata is left for the caller to fill in.

    Raises:
        ValueError: no models, or models that do not fit together (a member not ending in
            Softmax, different dtypes, input shapes or numbers of classes).
    """
    if not models:
        raise ValueError("ensemble() needs at least one model.")
    first = models[0]
    for index, model in enumerate(models):
        if model.dtype != first.dtype:
            raise ValueError(
                f"Model {index} computes in {model.dtype}, model 0 in {first.dtype}; an ensemble's "
                "members share one dtype."
            )
        if model.input_shape != first.input_shape:
            raise ValueError(
                f"Model {index} takes inputs of shape {model.input_shape}, model 0 "
                f"{first.input_shape}; an ensemble's members take the same inputs."
            )
    combined = type(first)(
        [Ensemble([model.layers for model in models]), Softmax()], dtype=first.dtype.name
    )
    combined.loss = CrossEntropy(from_logits=True)
    combined.input_shape = first.input_shape
    if first.input_shape is not None:
        classes = {model.output_size() for model in models}
        if len(classes) > 1:
            raise ValueError(
                f"The models give different numbers of classes ({sorted(classes)}); an "
                "ensemble averages the probabilities of the same classes."
            )
    return combined
