"""The answer of ``POST /api/explain``: what each layer computed for one digit, as JSON.

The page draws every layer from these numbers and writes each unit's formula with them filled in,
so a layer's entry carries its configuration and its per-unit parameters (a bias per unit, batch
norm's scale, shift and statistics per channel) beside its values.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import orjson

from barenet.ensemble import Ensemble
from barenet.explaining import Explanation, LayerOutput
from barenet.layers import Dense

PIXELS = 28 * 28
TOP_UNITS = 8  # weight images shown for a dense first layer


def rounded(values: np.ndarray, digits: int = 4) -> np.ndarray:
    """``values`` in float64, to ``digits`` significant digits of the array's largest magnitude:
    a picture needs no more, and the answer stays a few hundred kB. (Rounded float32 would still
    print long decimals.) orjson writes the array itself as nested lists, without the Python
    floats that ``tolist`` would make of every value first."""
    values = np.asarray(values, np.float64)
    largest = float(np.abs(values).max()) if values.size else 0.0
    decimals = digits - 1 - math.floor(math.log10(largest)) if largest > 0 else 0
    return np.round(values, decimals)


def layer_view(output: LayerOutput) -> dict[str, Any]:
    """One layer's entry: name, kind, per-sample shape, values, config and per-unit parameters."""
    layer = output.layer
    per_unit = {
        name: [float(f"{value:.6g}") for value in array.tolist()]  # a few hundred numbers
        for name, array in [*layer.params.items(), *layer.buffers.items()]
        if array.ndim == 1 and not isinstance(layer, Ensemble)  # an ensemble's are its members'
    }
    return {
        "name": output.name,
        "kind": output.kind,
        "shape": list(output.shape),
        "values": rounded(output.values[0]),
        "config": layer.get_config(),
        "parameters": per_unit,
    }


def top_units(output: LayerOutput, count: int = TOP_UNITS) -> list[dict[str, Any]]:
    """The ``count`` units of a dense layer over the 28x28 pixels that fired most, each with its
    weights as a 28x28 image: the pattern of ink that unit responds to."""
    assert isinstance(output.layer, Dense)
    values = output.values[0]
    strongest = np.argsort(values, kind="stable")[::-1][:count]
    weight = output.layer.params["weight"]  # (784, units)
    return [
        {
            "unit": int(unit),
            "value": float(np.round(values[unit], 4)),
            "weights": rounded(weight[:, unit].reshape(28, 28)),
        }
        for unit in strongest
    ]


def first_dense_over_pixels(explanation: Explanation) -> int | None:
    """The index of the first layer with parameters when it is a Dense layer reading the 784
    pixels themselves (an MLP's first layer); None otherwise (a CNN's is a convolution)."""
    output = next((out for out in explanation.layers if out.layer.params), None)
    if output is None or not isinstance(output.layer, Dense):
        return None
    return output.index if output.layer.in_features == PIXELS else None


def explanation_json(explanation: Explanation, is_digit: bool) -> bytes:
    """The JSON body answering ``/api/explain`` for one digit (explanations of N = 1), with the
    digit detector's verdict."""
    layers = [layer_view(output) for output in explanation.layers]
    dense = first_dense_over_pixels(explanation)
    if dense is not None:
        layers[dense]["top_units"] = top_units(explanation.layers[dense])
    answer = {
        "digit": int(explanation.probabilities[0].argmax()),
        "probabilities": [round(float(p), 6) for p in explanation.probabilities[0]],
        "input28": explanation.inputs[0].astype(np.uint8),
        "is_digit": is_digit,
        "target": int(explanation.targets[0]),
        "score": round(float(explanation.scores[0]), 4),
        "layers": layers,
        "saliency": rounded(explanation.saliency[0]),
    }
    return orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY)
