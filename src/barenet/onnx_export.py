"""Export a ``Sequential`` to ONNX, so that it runs wherever ONNX runs (onnxruntime on a server,
in a browser, on a phone).

Each barenet layer becomes the ONNX operator that computes the same function, in the same
NCHW layout, with its weights as initializers: Dense -> Gemm, Conv2D -> Conv, MaxPool2D ->
MaxPool, AvgPool2D -> AveragePool, BatchNorm -> BatchNormalization (inference statistics),
Rescaling -> Mul and Add, Flatten -> Flatten, Reshape -> Reshape, Dropout -> Identity, the
activations to theirs, and an Ensemble to each member's graph, then Mean and Log. The graph takes
what the model takes (for the digit models: raw pixels, 0..255, the scaling inside) with a
dynamic batch axis.

The ``onnx`` package (the ``onnx`` extra) is imported only here, only when exporting: the library
itself needs NumPy alone. The graph is built with ``onnx.helper`` and checked with
``onnx.checker`` (full check, shapes inferred) before it is written, atomically.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from barenet.activations import Activation, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from barenet.atomic import atomic_open
from barenet.conv import AvgPool2D, Conv2D, MaxPool2D
from barenet.ensemble import Ensemble
from barenet.layers import Dense, Dropout, Flatten, Layer, Rescaling, Reshape
from barenet.normalization import BatchNorm1d, BatchNorm2d

OPSET = 17
INPUT_NAME = "input"
BATCH = "batch"


class _Graph:
    """Nodes and weights gathered layer by layer; each layer reads ``self.current``."""

    def __init__(self, helper: Any, numpy_helper: Any, dtype: np.dtype) -> None:
        self.helper, self.numpy_helper, self.dtype = helper, numpy_helper, dtype
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.current = INPUT_NAME

    def weight(self, name: str, value: np.ndarray) -> str:
        array = np.asarray(value, self.dtype if value.dtype.kind == "f" else value.dtype)
        self.initializers.append(self.numpy_helper.from_array(array, name))
        return name

    def add(self, op: str, name: str, inputs: list[str], **attributes: Any) -> None:
        output = f"{name}.output"
        self.nodes.append(
            self.helper.make_node(op, [self.current, *inputs], [output], name=name, **attributes)
        )
        self.current = output


def _dense(graph: _Graph, name: str, layer: Dense) -> None:
    inputs = [graph.weight(f"{name}.weight", layer.params["weight"])]
    if layer.use_bias:
        inputs.append(graph.weight(f"{name}.bias", layer.params["bias"]))
    graph.add("Gemm", name, inputs)  # x @ W (+ b): W is (in_features, out_features)


def _conv(graph: _Graph, name: str, layer: Conv2D) -> None:
    inputs = [graph.weight(f"{name}.weight", layer.params["weight"])]
    if layer.use_bias:
        inputs.append(graph.weight(f"{name}.bias", layer.params["bias"]))
    k, s, p = layer.kernel_size, layer.stride, layer.padding
    graph.add("Conv", name, inputs, kernel_shape=[k, k], strides=[s, s], pads=[p, p, p, p])


def _pool(graph: _Graph, name: str, layer: MaxPool2D | AvgPool2D) -> None:
    op = "MaxPool" if isinstance(layer, MaxPool2D) else "AveragePool"
    k, s = layer.pool_size, layer.stride
    graph.add(op, name, [], kernel_shape=[k, k], strides=[s, s])  # floor, as barenet: ceil_mode 0


def _batch_norm(graph: _Graph, name: str, layer: BatchNorm1d | BatchNorm2d) -> None:
    arrays = [
        ("scale", layer.params["weight"]),
        ("shift", layer.params["bias"]),
        ("mean", layer.buffers["running_mean"]),
        ("var", layer.buffers["running_var"]),
    ]
    inputs = [graph.weight(f"{name}.{key}", value) for key, value in arrays]
    graph.add("BatchNormalization", name, inputs, epsilon=layer.eps)


def _rescaling(graph: _Graph, name: str, layer: Rescaling) -> None:
    graph.add("Mul", f"{name}.scale", [graph.weight(f"{name}.scale", np.array(layer.scale))])
    if layer.offset:
        graph.add("Add", f"{name}.offset", [graph.weight(f"{name}.offset", np.array(layer.offset))])


def _reshape(graph: _Graph, name: str, layer: Reshape) -> None:
    shape = np.array([0, *layer.target_shape], np.int64)  # 0: keep the batch size
    graph.add("Reshape", name, [graph.weight(f"{name}.shape", shape)])


def _simple(op: str, **attributes: Any) -> Callable[[_Graph, str, Any], None]:
    return lambda graph, name, layer: graph.add(op, name, [], **attributes)


CONVERTERS: dict[type[Layer], Callable[[_Graph, str, Any], None]] = {
    Dense: _dense,
    Conv2D: _conv,
    MaxPool2D: _pool,
    AvgPool2D: _pool,
    BatchNorm1d: _batch_norm,
    BatchNorm2d: _batch_norm,
    Rescaling: _rescaling,
    Reshape: _reshape,
    Flatten: _simple("Flatten", axis=1),
    Dropout: _simple("Identity"),  # inference: dropout passes its input on
    ReLU: _simple("Relu"),
    Sigmoid: _simple("Sigmoid"),
    Tanh: _simple("Tanh"),
    Softmax: _simple("Softmax", axis=-1),
}


def _ensemble(graph: _Graph, name: str, layer: Ensemble) -> None:
    """Each member's graph from the shared input, then ``log(mean of their probabilities)``."""
    shared, outputs = graph.current, []
    for k, member in enumerate(layer.members):
        graph.current = shared
        for i, member_layer in enumerate(member):
            _convert(graph, f"{name}.{k}.{i}", member_layer)
        outputs.append(graph.current)
    mean = f"{name}.mean"
    graph.nodes.append(graph.helper.make_node("Mean", outputs, [mean], name=mean))
    graph.current = mean
    graph.add("Log", f"{name}.log", [])


def _convert(graph: _Graph, name: str, layer: Layer) -> None:
    """Add the nodes that compute ``layer`` (named ``name``, e.g. ``"layers.3"``) to ``graph``."""
    where = name.removeprefix("layers.")  # "2", or "0.1.2" inside an ensemble
    if isinstance(layer, LeakyReLU):
        graph.add("LeakyRelu", name, [], alpha=layer.negative_slope)
    elif isinstance(layer, Ensemble):
        _ensemble(graph, name, layer)
    elif type(layer) in CONVERTERS:
        CONVERTERS[type(layer)](graph, name, layer)
    elif isinstance(layer, Activation):
        raise ValueError(
            f"Layer {where}, a custom Activation(fn, derivative), cannot be exported to ONNX: its "
            "function is Python code. Use a built-in activation (relu, leaky_relu, sigmoid, "
            "tanh, softmax) in models you export."
        )
    else:
        exportable = ["LeakyReLU", "Ensemble", *(cls.__name__ for cls in CONVERTERS)]
        raise ValueError(
            f"Layer {where} ({type(layer).__name__}) has no ONNX export. Exportable layers: "
            f"{', '.join(sorted(exportable))}."
        )


def to_onnx_bytes(model: Any, input_shape: tuple[int, ...] | None = None) -> bytes:
    """The ONNX model of ``model`` (a ``Sequential``), checked, as bytes.

    The graph's input ``"input"`` is ``(batch, *input_shape)`` in the model's float dtype; its
    output is ``"probabilities"`` when the model ends in Softmax, ``"output"`` otherwise, shaped
    ``(batch, outputs)``.

    Raises:
        ValueError: a layer that cannot be exported, or no input shape known.
        ImportError: the ``onnx`` package is missing (``pip install "barenet[onnx]"``).
    """
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise ImportError(
            'Exporting to ONNX needs the onnx package: pip install "barenet[onnx]"'
        ) from None
    shape = tuple(input_shape or model.input_shape or ())
    if not shape:
        raise ValueError("export_onnx() needs an input_shape: the model has not seen data.")
    graph = _Graph(helper, numpy_helper, model.dtype)
    for index, layer in enumerate(model.layers):
        _convert(graph, f"layers.{index}", layer)
    element = helper.np_dtype_to_tensor_dtype(model.dtype)
    output = "probabilities" if isinstance(model.layers[-1], Softmax) else "output"
    graph.nodes.append(helper.make_node("Identity", [graph.current], [output], name=output))
    outputs = model.output_size(shape)
    proto = helper.make_model(
        helper.make_graph(
            graph.nodes,
            "barenet",
            [helper.make_tensor_value_info(INPUT_NAME, element, [BATCH, *shape])],
            [helper.make_tensor_value_info(output, element, [BATCH, outputs])],
            graph.initializers,
        ),
        producer_name="barenet",
        opset_imports=[helper.make_opsetid("", OPSET)],
    )
    proto.doc_string = "Exported by barenet: " + ", ".join(layer.label() for layer in model.layers)
    onnx.checker.check_model(proto, full_check=True)
    return bytes(proto.SerializeToString())


def export_onnx(model: Any, path: str | Path, input_shape: tuple[int, ...] | None = None) -> Path:
    """Write ``model`` to ``path`` as ONNX, atomically; returns the path (see ``to_onnx_bytes``)."""
    data = to_onnx_bytes(model, input_shape)
    with atomic_open(path, "wb") as handle:
        handle.write(data)
    return Path(path)
