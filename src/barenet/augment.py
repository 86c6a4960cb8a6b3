"""Training-time image augmentation: small random shifts, rotations and scalings, vectorized.

Every image in a batch gets its own random affine map; all of them are applied at once by
computing, for every output pixel, where it comes from in the source image, and reading that
point with bilinear interpolation (zeros outside the image). ``fit`` calls an augmentation with
its own generator, so the same seed gives the same run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from barenet.configurable import Configurable


class RandomAffine(Configurable):
    """Rotate, scale and shift each image by random amounts, uniformly drawn.

    Args:
        max_shift: largest shift in pixels, along each axis.
        max_rotation: largest rotation in degrees, either way.
        max_scale: largest relative change of size (0.1 = 90% to 110%).

    Shape:
        - images: ``(N, H, W)`` or ``(N, C, H, W)``, any numeric dtype (uint8 pixels included)
        - Returns: the same shape, float32 (values stay on the input's scale).
    """

    def __init__(
        self, max_shift: float = 2.0, max_rotation: float = 10.0, max_scale: float = 0.1
    ) -> None:
        for name, value in (
            ("max_shift", max_shift),
            ("max_rotation", max_rotation),
            ("max_scale", max_scale),
        ):
            if not value >= 0:
                raise ValueError(f"RandomAffine expected {name} >= 0. Received: {value!r}")
        if max_scale >= 1:
            raise ValueError(f"RandomAffine expected max_scale < 1. Received: {max_scale!r}")
        self.max_shift, self.max_rotation, self.max_scale = max_shift, max_rotation, max_scale

    def __call__(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if images.ndim not in (3, 4):
            raise ValueError(
                f"RandomAffine expected images of shape (N, H, W) or (N, C, H, W), got "
                f"{images.shape}."
            )
        n, h, w = len(images), images.shape[-2], images.shape[-1]
        angle = np.deg2rad(rng.uniform(-self.max_rotation, self.max_rotation, n))
        zoom = rng.uniform(1 - self.max_scale, 1 + self.max_scale, n)
        shift = rng.uniform(-self.max_shift, self.max_shift, (2, n))
        # Inverse map, output -> source, about the image centre: p_src = R(-a) (p - c - t) / s + c
        cy, cx = (h - 1) / 2, (w - 1) / 2
        rows, cols = np.mgrid[0:h, 0:w].astype(np.float32)  # (H, W) each
        y = rows - cy - shift[0, :, None, None]  # (N, H, W)
        x = cols - cx - shift[1, :, None, None]
        cos = (np.cos(angle) / zoom)[:, None, None]
        sin = (np.sin(angle) / zoom)[:, None, None]
        src_y = cos * y - sin * x + cy
        src_x = sin * y + cos * x + cx
        return bilinear(images, src_y.astype(np.float32), src_x.astype(np.float32))

    def get_config(self) -> dict[str, Any]:
        return {
            "max_shift": self.max_shift,
            "max_rotation": self.max_rotation,
            "max_scale": self.max_scale,
        }


def bilinear(images: np.ndarray, src_y: np.ndarray, src_x: np.ndarray) -> np.ndarray:
    """Read each image at fractional coordinates, with zeros outside it.

    Shape:
        - images: ``(N, H, W)`` or ``(N, C, H, W)``
        - src_y, src_x: ``(N, H, W)``, the source row and column of every output pixel
        - Returns: float32, the shape of ``images``.
    """
    n, h, w = len(images), images.shape[-2], images.shape[-1]
    channels = images.shape[1] if images.ndim == 4 else 1
    # A one-pixel frame of zeros lets every read that lands outside use the same code path.
    framed = np.zeros((n, channels, h + 2, w + 2), np.float32)
    framed[:, :, 1:-1, 1:-1] = images.reshape(n, channels, h, w)
    flat = framed.reshape(n, channels, -1)
    y0 = np.floor(src_y)
    x0 = np.floor(src_x)
    fy, fx = src_y - y0, src_x - x0  # weights of the far neighbours
    # Framed coordinates, clipped so that anything outside reads the zero frame.
    r0 = np.clip(y0 + 1, 0, h + 1).astype(np.intp)
    r1 = np.clip(y0 + 2, 0, h + 1).astype(np.intp)
    c0 = np.clip(x0 + 1, 0, w + 1).astype(np.intp)
    c1 = np.clip(x0 + 2, 0, w + 1).astype(np.intp)
    stride = w + 2

    def read(r: np.ndarray, c: np.ndarray) -> np.ndarray:
        index = (r * stride + c).reshape(n, 1, -1)  # (N, 1, H*W), shared by the channels
        return np.take_along_axis(flat, np.broadcast_to(index, (n, channels, h * w)), axis=2)

    top = read(r0, c0) * (1 - fx).reshape(n, 1, -1) + read(r0, c1) * fx.reshape(n, 1, -1)
    bottom = read(r1, c0) * (1 - fx).reshape(n, 1, -1) + read(r1, c1) * fx.reshape(n, 1, -1)
    out = top * (1 - fy).reshape(n, 1, -1) + bottom * fy.reshape(n, 1, -1)
    return out.reshape(images.shape).astype(np.float32, copy=False)
