"""Exercises on the convolution layer: its forward pass (a cross-correlation, as in every
framework) and its three gradients, with stride and zero padding.

The right answers come from ``barenet.conv.Conv2D`` and from central differences. The mistakes
are computed with ``correlate`` and ``correlate_backward`` below: the same maths as the textbook,
written as a loop over the kernel's positions, so that a kernel can be flipped or the padding
left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from barenet.conv import Conv2D
from barenet.exercises.spec import Case, Exercise, Mistake, Section, case, central_differences

CONVOLUTION = Section(7, "A convolution is one matrix product")
BACKWARD = Section(7, "Backward: three correlations")

# label, x (N, C, H, W), w (F, C, K, K), stride, padding, dtype, checked by central differences
SHAPES = (
    ("a batch of one image", (1, 1, 5, 5), (2, 1, 3, 3), 1, 0, np.float64, False),
    ("2 images of 3 channels, 6x5 pixels", (2, 3, 6, 5), (4, 3, 3, 3), 1, 1, np.float32, False),
    ("2 images of 7x7 pixels", (2, 2, 7, 7), (3, 2, 3, 3), 2, 0, np.float64, False),
    ("an image of 2 channels, 6x8 pixels", (1, 2, 6, 8), (3, 2, 3, 3), 2, 1, np.float64, False),
    ("an image of 2 channels, 4x5 pixels", (1, 2, 4, 5), (2, 2, 3, 3), 1, 1, np.float64, True),
)


def padded(x: np.ndarray, padding: int) -> np.ndarray:
    """``x`` with ``padding`` zeros around each image: ``(N, C, H + 2p, W + 2p)``."""
    return np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))


def windows(
    shape: tuple[int, ...], kernel: tuple[int, ...], stride: int
) -> Iterator[tuple[int, int, tuple[slice, ...]]]:
    """For each kernel position (u, v), the index of the pixels it meets in every window."""
    oh, ow = ((size - k) // stride + 1 for size, k in zip(shape[2:], kernel, strict=True))
    for u in range(kernel[0]):
        for v in range(kernel[1]):
            rows, columns = slice(u, u + stride * oh, stride), slice(v, v + stride * ow, stride)
            yield u, v, (slice(None), slice(None), rows, columns)


def correlate(x: np.ndarray, w: np.ndarray, stride: int = 1, padding: int = 0) -> np.ndarray:
    """``y[n, f, i, j] = sum over c, u, v of w[f, c, u, v] * x[n, c, s i + u, s j + v]``, ``x``
    padded: ``(N, F, OH, OW)``, no bias."""
    x = padded(x, padding)
    y: Any = 0.0
    for u, v, pixels in windows(x.shape, w.shape[2:], stride):
        y = y + np.einsum("nchw,fc->nfhw", x[pixels], w[:, :, u, v])
    return y


def correlate_backward(
    dy: np.ndarray, x: np.ndarray, w: np.ndarray, stride: int, padding: int, crop: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """``(dx, dw)`` of ``correlate``; ``crop`` False keeps the padding's border in ``dx``."""
    x = padded(x, padding)
    dx, dw = np.zeros_like(x), np.zeros(w.shape)
    for u, v, pixels in windows(x.shape, w.shape[2:], stride):
        dw[:, :, u, v] = np.einsum("nfhw,nchw->fc", dy, x[pixels])
        dx[pixels] += np.einsum("nfhw,fc->nchw", dy, w[:, :, u, v])
    if crop:
        dx = dx[:, :, padding : dx.shape[2] - padding, padding : dx.shape[3] - padding]
    return dx, dw


def flipped(w: np.ndarray) -> np.ndarray:
    """The kernel rotated by 180 degrees, as a true convolution uses it."""
    return w[:, :, ::-1, ::-1]


def textbook_conv(w: np.ndarray, b: np.ndarray, stride: int, padding: int) -> Conv2D:
    """barenet's Conv2D holding ``w`` (F, C, K, K) and ``b`` (F,) themselves (not copies)."""
    filters, channels, kernel, _ = w.shape
    layer = Conv2D(
        channels, filters, kernel, stride=stride, padding=padding, rng=np.random.default_rng(0)
    )
    layer.params["weight"], layer.params["bias"] = w, b
    return layer


def forward_reference(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1, padding: int = 0
) -> np.ndarray:
    return textbook_conv(w, b, stride, padding).forward(x)


def backward_reference(
    dy: np.ndarray, x: np.ndarray, w: np.ndarray, stride: int = 1, padding: int = 0
) -> tuple[np.ndarray, ...]:
    layer = textbook_conv(w, np.zeros(len(w), w.dtype), stride, padding)
    layer.forward(x, training=True)
    dx = layer.backward(dy)
    return dx, layer.grads["weight"], layer.grads["bias"]


def backward_numerical(
    dy: np.ndarray, x: np.ndarray, w: np.ndarray, stride: int = 1, padding: int = 0
) -> dict[str, Any]:
    b = np.zeros(len(w))
    layer = textbook_conv(w, b, stride, padding)

    def total() -> float:
        return float(np.sum(layer.forward(x) * dy))

    return central_differences(total, {"dx": x, "dw": w, "db": b})


def options(stride: int, padding: int) -> dict[str, int]:
    """The keyword arguments that differ from the defaults (stride 1, no padding)."""
    given = {"stride": (stride, 1), "padding": (padding, 0)}
    return {name: value for name, (value, default) in given.items() if value != default}


def forward_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for label, x_shape, w_shape, stride, padding, dtype, _ in SHAPES:
        x, w = (rng.normal(size=shape).astype(dtype) for shape in (x_shape, w_shape))
        arguments = {"x": x, "w": w, "b": rng.normal(size=w_shape[0]).astype(dtype)}
        extra = options(stride, padding)
        cases.append(case(label, dtype, forward_reference, ("y",), arguments, extra))
    return cases


def backward_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for label, x_shape, w_shape, stride, padding, dtype, checked in SHAPES:
        x, w = (rng.normal(size=shape).astype(dtype) for shape in (x_shape, w_shape))
        dy = rng.normal(size=correlate(x, w, stride, padding).shape).astype(dtype)
        numerical = backward_numerical if checked else None
        extra = options(stride, padding)
        arguments = {"dy": dy, "x": x, "w": w}
        outputs = ("dx", "dw", "db")
        cases.append(case(label, dtype, backward_reference, outputs, arguments, extra, numerical))
    return cases


def with_bias(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int, padding: int) -> Any:
    return correlate(x, w, stride, padding) + b[:, None, None]


CROSS_CORRELATION = (
    "barenet's Conv2D, like every framework's, computes a cross-correlation: "
    "y[n, f, i, j] = b[f] + sum of w[f, c, u, v] * x[n, c, s*i + u, s*j + v], the kernel "
    "as it is"
)
FORWARD_MISTAKES = (
    Mistake(
        "padding-ignored",
        "y",
        "the padding ignored",
        "Pad each image with p = padding zeros on every side first, np.pad(x, ((0, 0), (0, 0), "
        "(p, p), (p, p))); the output is then (H + 2p - K) // stride + 1 pixels high.",
        lambda x, w, b, stride=1, padding=0: with_bias(x, w, b, stride, 0),
        CONVOLUTION,
    ),
    Mistake(
        "kernel-flipped",
        "y",
        "the kernel flipped (a true convolution)",
        CROSS_CORRELATION + ", never rotated.",
        lambda x, w, b, stride=1, padding=0: with_bias(x, flipped(w), b, stride, padding),
        CONVOLUTION,
    ),
    Mistake(
        "stride-ignored",
        "y",
        "the stride ignored",
        "Windows start every s = stride pixels: output pixel (i, j) reads x[..., s*i + u, "
        "s*j + v], and the output is (H + 2p - K) // stride + 1 pixels high.",
        lambda x, w, b, stride=1, padding=0: with_bias(x, w, b, 1, padding),
        CONVOLUTION,
    ),
    Mistake(
        "bias-forgotten",
        "y",
        "the bias forgotten",
        "Each filter f adds its bias b[f] to every pixel of its output map: "
        "y + b[None, :, None, None].",
        lambda x, w, b, stride=1, padding=0: correlate(x, w, stride, padding),
        CONVOLUTION,
    ),
)

BACKWARD_MISTAKES = (
    Mistake(
        "padding-kept",
        "dx",
        "the padding's border left on dx",
        "The gradient is computed for the padded image; the zeros added around it are no "
        "input, so cut them off: dx_padded[:, :, p:H + p, p:W + p], the shape of x.",
        lambda dy, x, w, stride=1, padding=0: correlate_backward(
            dy, x, w, stride, padding, crop=False
        )[0],
        BACKWARD,
    ),
    Mistake(
        "kernel-flipped-the-wrong-way",
        "dx",
        "the kernel flipped the wrong way in dx",
        "dx spreads each dy back through the kernel as the forward pass read it: "
        "dx[n, c, s*i + u, s*j + v] += w[f, c, u, v] * dy[n, f, i, j]. As a 'full' "
        "correlation of dy, that uses the kernel rotated by 180 degrees, not as it is.",
        lambda dy, x, w, stride=1, padding=0: correlate_backward(
            dy, x, flipped(w), stride, padding
        )[0],
        BACKWARD,
    ),
    Mistake(
        "weight-gradient-flipped",
        "dw",
        "the weight gradient flipped",
        "dw[f, c, u, v] = sum of dy[n, f, i, j] * x[n, c, s*i + u, s*j + v], the same "
        "pixels the forward pass read: a cross-correlation of x with dy, never rotated.",
        lambda dy, x, w, stride=1, padding=0: flipped(
            correlate_backward(dy, x, w, stride, padding)[1]
        ),
        BACKWARD,
    ),
    Mistake(
        "channels-swapped",
        "dw",
        "the weight gradient's in and out channels swapped",
        "dw has the shape of w, (F, C, K, K): filters first, then input channels.",
        lambda dy, x, w, stride=1, padding=0: correlate_backward(dy, x, w, stride, padding)[
            1
        ].transpose(1, 0, 2, 3),
        BACKWARD,
    ),
    Mistake(
        "bias-summed-over-every-axis",
        "db",
        "the bias gradient summed over every axis",
        "Each filter has its own bias, added at every pixel of every image: sum over the "
        "batch and the pixels, db = dy.sum(axis=(0, 2, 3)), shape (F,).",
        lambda dy, x, w, stride=1, padding=0: dy.sum(),
        BACKWARD,
    ),
    Mistake(
        "bias-summed-over-the-batch-only",
        "db",
        "the bias gradient not summed over the pixels",
        "The bias b[f] is added at every output pixel, so each pixel's gradient adds up "
        "too: db = dy.sum(axis=(0, 2, 3)), shape (F,).",
        lambda dy, x, w, stride=1, padding=0: dy.sum(axis=0),
        BACKWARD,
    ),
    Mistake(
        "bias-summed-over-the-pixels-only",
        "db",
        "the bias gradient not summed over the batch",
        "Every image uses the same biases, so their gradients add up: "
        "db = dy.sum(axis=(0, 2, 3)), shape (F,).",
        lambda dy, x, w, stride=1, padding=0: dy.sum(axis=(2, 3)),
        BACKWARD,
    ),
)

EXERCISES = (
    Exercise(
        name="conv2d_forward",
        arguments=("x", "w", "b"),
        options={"stride": 1, "padding": 0},
        outputs=("y",),
        returns="y (N, F, OH, OW), OH = (H + 2 padding - KH) // stride + 1",
        description="a convolution layer's output (a cross-correlation), x (N, C, H, W)",
        section=CONVOLUTION,
        make_cases=forward_cases,
        mistakes=FORWARD_MISTAKES,
    ),
    Exercise(
        name="conv2d_backward",
        arguments=("dy", "x", "w"),
        options={"stride": 1, "padding": 0},
        outputs=("dx", "dw", "db"),
        returns="(dx, dw, db), the shapes of x, w (F, C, KH, KW) and b (F,)",
        description="the gradients of a convolution layer from dy = dL/dy",
        section=BACKWARD,
        make_cases=backward_cases,
        mistakes=BACKWARD_MISTAKES,
    ),
)
