"""Training-time image augmentation: random moves of the pixels, vectorized over the batch.

Each augmentation here is a *pixel map*: for every output pixel of every image it says where in
the source image to read, and the image is read there with bilinear interpolation (zeros outside
it). ``RandomAffine`` draws one rotation, scaling and shift per image; ``ElasticDistortion`` draws
a smooth random displacement per pixel (Simard et al., 2003). Several maps combine by adding their
displacements, so the image is still read, and blurred, only once. ``fit`` calls an augmentation
with its own generator, so the same seed gives the same run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from barenet.configurable import Configurable, lookup

Coordinates = tuple[np.ndarray, np.ndarray]  # source rows and columns, each (N, H, W) float32


def pixel_grid(h: int, w: int) -> Coordinates:
    """The row and column of every pixel: two ``(H, W)`` float32 arrays (the identity map)."""
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float32)
    return rows, cols


class PixelMap(Configurable):
    """Base class: an augmentation that moves pixels. A subclass draws, per image, where each
    output pixel reads from (``source_coordinates``); calling it reads the images there.

    Shape:
        - images: ``(N, H, W)`` or ``(N, C, H, W)``, any numeric dtype (uint8 pixels included)
        - Returns: the same shape, float32 (values stay on the input's scale); the channels of
          an image move together.
    """

    def source_coordinates(self, n: int, h: int, w: int, rng: np.random.Generator) -> Coordinates:
        """Where each output pixel of ``n`` images of ``h x w`` reads from: ``(N, H, W)`` each."""
        raise NotImplementedError

    def __call__(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if images.ndim not in (3, 4):
            raise ValueError(
                f"{type(self).__name__} expected images of shape (N, H, W) or (N, C, H, W), got "
                f"{images.shape}."
            )
        n, h, w = len(images), images.shape[-2], images.shape[-1]
        return bilinear(images, *self.source_coordinates(n, h, w, rng))


class RandomAffine(PixelMap):
    """Rotate, scale and shift each image by random amounts, uniformly drawn.

    Args:
        max_shift: largest shift in pixels, along each axis.
        max_rotation: largest rotation in degrees, either way.
        max_scale: largest relative change of size (0.1 = 90% to 110%).

    Shape: see ``PixelMap``.
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

    def source_coordinates(self, n: int, h: int, w: int, rng: np.random.Generator) -> Coordinates:
        angle = np.deg2rad(rng.uniform(-self.max_rotation, self.max_rotation, n))
        zoom = rng.uniform(1 - self.max_scale, 1 + self.max_scale, n)
        shift = rng.uniform(-self.max_shift, self.max_shift, (2, n))
        # Inverse map, output -> source, about the image centre: p_src = R(-a) (p - c - t) / s + c
        cy, cx = (h - 1) / 2, (w - 1) / 2
        rows, cols = pixel_grid(h, w)
        y = rows - cy - shift[0, :, None, None]  # (N, H, W)
        x = cols - cx - shift[1, :, None, None]
        cos = (np.cos(angle) / zoom)[:, None, None]
        sin = (np.sin(angle) / zoom)[:, None, None]
        src_y = cos * y - sin * x + cy
        src_x = sin * y + cos * x + cx
        return src_y.astype(np.float32), src_x.astype(np.float32)

    def get_config(self) -> dict[str, Any]:
        return {
            "max_shift": self.max_shift,
            "max_rotation": self.max_rotation,
            "max_scale": self.max_scale,
        }


def gaussian_matrix(size: int, sigma: float) -> np.ndarray:
    """``G`` with ``G @ v`` = ``v`` convolved with a Gaussian of standard deviation ``sigma``
    (zeros beyond the ends): ``G[i, j] = g(i - j) / sum_t g(t)``, ``g(t) = exp(-t^2 / 2 sigma^2)``.

    Shape: ``(size, size)`` float32.
    """
    offsets = np.arange(size)[:, None] - np.arange(size)[None, :]
    kernel = np.exp(-(offsets.astype(np.float64) ** 2) / (2 * sigma**2))
    reach = np.arange(-(size - 1), size, dtype=np.float64)
    return (kernel / np.exp(-(reach**2) / (2 * sigma**2)).sum()).astype(np.float32)


class ElasticDistortion(PixelMap):
    """Simard's elastic distortion: every pixel moves by its own random amount, smooth in space.

    A field of independent displacements ``U(-1, 1)``, one per pixel and axis, is smoothed with
    a Gaussian of standard deviation ``sigma`` pixels and scaled by ``alpha``: each output pixel
    ``p`` reads the source at ``p + alpha (G_sigma * U)(p)``. Small ``sigma`` gives random noise;
    large ``sigma`` a near-uniform shift; Simard et al. (2003) used ``sigma = 4``, ``alpha = 34``
    on 28x28 digits (shifts of about 1.4 pixels, standard deviation). The smoothing is two
    matrix products per field (``G_rows @ U @ G_cols^T``), for the whole batch at once.

    Args:
        alpha: strength, in pixels per unit of smoothed field.
        sigma: smoothness, in pixels.

    Shape: see ``PixelMap``.
    """

    def __init__(self, alpha: float = 34.0, sigma: float = 4.0) -> None:
        if not alpha >= 0:
            raise ValueError(f"ElasticDistortion expected alpha >= 0. Received: {alpha!r}")
        if not sigma > 0:
            raise ValueError(f"ElasticDistortion expected sigma > 0. Received: {sigma!r}")
        self.alpha, self.sigma = alpha, sigma

    def source_coordinates(self, n: int, h: int, w: int, rng: np.random.Generator) -> Coordinates:
        field = rng.uniform(-1, 1, (2, n, h, w)).astype(np.float32)  # dy and dx of every pixel
        smooth = gaussian_matrix(h, self.sigma) @ field @ gaussian_matrix(w, self.sigma).T
        rows, cols = pixel_grid(h, w)
        return rows + np.float32(self.alpha) * smooth[0], cols + np.float32(self.alpha) * smooth[1]

    def get_config(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "sigma": self.sigma}


class Combined(PixelMap):
    """Several pixel maps at once: their displacements (source minus output position) add up,
    and the image is read once. ``Combined([RandomAffine(), ElasticDistortion()])`` distorts
    each image elastically on top of its own random rotation, scaling and shift.

    Shape: see ``PixelMap``.
    """

    def __init__(self, maps: Sequence[PixelMap]) -> None:
        if not maps or not all(isinstance(m, PixelMap) for m in maps):
            raise ValueError(f"Combined expected one or more pixel maps. Received: {maps!r}")
        self.maps = list(maps)

    def source_coordinates(self, n: int, h: int, w: int, rng: np.random.Generator) -> Coordinates:
        rows, cols = pixel_grid(h, w)
        src_y, src_x = rows.copy(), cols.copy()
        for pixel_map in self.maps:
            y, x = pixel_map.source_coordinates(n, h, w, rng)
            src_y, src_x = src_y + (y - rows), src_x + (x - cols)
        return src_y, src_x

    def __repr__(self) -> str:
        return f"Combined({self.maps!r})"


AUGMENTATIONS: dict[str, type[PixelMap]] = {
    "affine": RandomAffine,
    "elastic": ElasticDistortion,
}
NO_AUGMENTATION = "none"


def augmentation_names() -> list[str]:
    """Every name ``get_augmentation`` takes: ``none``, each one, and the pairs joined by ``+``."""
    names = list(AUGMENTATIONS)
    pairs = [f"{a}+{b}" for i, a in enumerate(names) for b in names[i + 1 :]]
    return [NO_AUGMENTATION, *names, *pairs]


def get_augmentation(name: str) -> PixelMap | None:
    """The augmentation a name gives, with its default strengths: ``"affine"``, ``"elastic"``,
    ``"affine+elastic"`` (both, combined), or None for ``"none"``."""
    if name == NO_AUGMENTATION:
        return None
    maps = [lookup(AUGMENTATIONS, part, "augmentation")() for part in name.split("+")]
    return maps[0] if len(maps) == 1 else Combined(maps)


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
