"""A person's image of a digit -> a 28x28 array that looks like an MNIST digit.

MNIST digits are light ink on black, size-normalised to fit a 20x20 box (keeping the aspect
ratio) and placed so that their centre of mass sits at the centre of a 28x28 field. This module
does the same to any image Pillow can read: it flattens transparency onto white, finds the ink
(``ink.find_ink``: darker or lighter than the paper, under any lighting, ruled lines removed),
crops to it, scales and centres it.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from barenet.atomic import atomic_open
from barenet.digits.ink import find_ink, ink_box
from barenet.digits.ink import stroke_width as stroke_width_of

FIELD = 28  # the MNIST canvas, in pixels
BOX = 20  # the longer side of the digit inside it
MAX_PIXELS = 40_000_000  # refuse larger images before decoding them (decompression bombs)
INK_FRACTION = 0.2  # pixels fainter than this share of the strongest ink are not part of it
CORE_PERCENTILE = 90  # ink this strong or stronger counts as the full pen's
MIN_CONTRAST = 24  # grey levels between paper and ink below which an image counts as blank
MNIST_STROKE = 2.5  # typical pen width of an MNIST digit, in pixels of the 20 px box
# The formats barenet reads, and no others: Pillow is never asked to identify anything else, so
# no other decoder (nor an external program, as Ghostscript is for EPS) ever sees user bytes.
FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF")
FORMAT_NAMES = "PNG, JPEG, BMP, GIF, WebP or TIFF"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


class ImageError(ValueError):
    """An image file cannot be read as a digit (not an image, blank, too large)."""


class NotAnImageError(ImageError):
    """The bytes are not an image format Pillow can read."""


class ImageTooLargeError(ImageError):
    """The image has more pixels than allowed (checked before decoding it)."""


class BlankImageError(ImageError):
    """The image holds no ink: blank, or almost no contrast."""


def _pillow() -> Any:
    try:
        from PIL import Image, ImageOps, UnidentifiedImageError
    except ImportError:
        raise ImageError("Reading image files needs Pillow: pip install 'barenet[cli]'") from None
    return Image, ImageOps, UnidentifiedImageError


def open_grayscale(
    source: str | Path | BinaryIO, max_pixels: int = MAX_PIXELS, name: str | None = None
) -> np.ndarray:
    """Read an image (a file, or bytes in a file object) as grey levels ``(H, W)`` float32 in
    0..255, transparency flattened onto white. ``name`` is what error messages call it."""
    Image, ImageOps, UnidentifiedImageError = _pillow()
    if isinstance(source, (str, Path)):
        source = Path(source)
    path = name or str(source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source, formats=FORMATS) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise ImageTooLargeError(
                        f"{path}: {width}x{height} is {width * height / 1e6:.3g} megapixels, "
                        f"over the limit of {max_pixels / 1e6:.3g}; scale the image down first."
                    )
                image.seek(0)  # the first frame of an animated GIF or WebP
                image = ImageOps.exif_transpose(image)  # phone photos carry their rotation
                return _to_gray(image, Image)
    except ImageError:
        raise
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise ImageError(f"{path} is a folder, not an image file.") from None
    except UnidentifiedImageError:
        raise NotAnImageError(f"{path} is not a {FORMAT_NAMES} image.") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageTooLargeError(
            f"{path} is too large to decode safely ({error}); scale it down first."
        ) from None
    except PermissionError:
        raise ImageError(f"{path} cannot be read: permission denied.") from None
    except Exception as error:  # decoders meet hostile bytes: whatever they raise is one error
        raise ImageError(
            f"{path}: the image data is damaged or truncated ({type(error).__name__}: {error})."
        ) from None


def _to_gray(image: Any, Image: Any) -> np.ndarray:
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16-bit or float greyscale
        values = np.nan_to_num(np.asarray(image, dtype=np.float32), nan=0, posinf=0, neginf=0)
        span = float(values.max() - values.min()) or 1.0
        return (values - values.min()) * (255.0 / span)
    rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    flattened = Image.alpha_composite(white, rgba).convert("L")
    return np.asarray(flattened, dtype=np.float32)


def to_mnist(gray: np.ndarray, name: str = "image") -> np.ndarray:
    """Turn a greyscale image ``(H, W)`` into an MNIST-style digit ``(28, 28)`` uint8.

    Crop to the ink's bounding box, scale the longer side to 20 px keeping the aspect ratio,
    stretch the ink to full brightness, and place the centre of mass at the centre of 28x28.
    """
    Image, _, _ = _pillow()
    ink = find_ink(gray)
    strongest = float(ink.max()) if ink.size else 0.0
    if strongest < MIN_CONTRAST:
        raise BlankImageError(
            f"{name}: no ink found; the image is blank or has almost no contrast."
        )
    mask = ink > INK_FRACTION * strongest
    rows, cols = ink_box(mask)
    core = float(np.percentile(ink[mask], CORE_PERCENTILE))  # a stroke's middle, not a hot pixel
    digit = np.where(mask, np.minimum(ink * (255.0 / core), 255.0), 0.0)[rows, cols]  # (h, w)
    digit = _thicken_thin_strokes(digit)
    height, width = digit.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))  # Pillow wants (w, h)
    resized = np.asarray(
        Image.fromarray(digit.astype(np.float32), mode="F").resize(size, Image.Resampling.LANCZOS)
    )
    resized = np.clip(resized, 0, None)
    resized *= 255.0 / max(float(resized.max()), 1e-6)  # shrinking fades what is left
    return _centre_by_mass(resized)


def stroke_width(ink: np.ndarray) -> float:
    """Estimated pen width in pixels of ink ``(H, W)`` in 0..255 (``ink.stroke_width`` of the
    pixels above half strength)."""
    return stroke_width_of(ink > 127)


def _thicken_thin_strokes(digit: np.ndarray) -> np.ndarray:
    """Widen a thin pen line to MNIST's (about 2.5 px in the 20 px box) before shrinking.

    A 1-pixel line drawn on a 400-pixel canvas would otherwise fade to a faint hairline. Works
    at 4x the final size, where a max filter (a dilation) is cheap.
    """
    Image, _, _ = _pillow()
    from PIL import ImageFilter

    working = 4 * BOX
    height, width = digit.shape
    if max(height, width) > working:
        factor = working / max(height, width)
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        digit = np.asarray(
            Image.fromarray(digit.astype(np.float32), mode="F").resize(size, Image.Resampling.BOX)
        )
        digit = digit * (255.0 / max(float(digit.max()), 1e-6))
    target = MNIST_STROKE * max(digit.shape) / BOX
    missing = target - stroke_width(digit)
    if missing < 1:
        return digit
    size = 2 * round(missing / 2) + 1  # an odd filter size grows the stroke by size - 1
    image = Image.fromarray(np.clip(digit, 0, 255).astype(np.uint8), mode="L")
    return np.asarray(image.filter(ImageFilter.MaxFilter(size)), dtype=np.float32)


def _centre_by_mass(digit: np.ndarray) -> np.ndarray:
    """Paste ``digit (h, w)`` into a 28x28 field with its centre of mass at the centre."""
    height, width = digit.shape
    total = float(digit.sum())
    centre_row = float((digit.sum(axis=1) * np.arange(height)).sum() / total)
    centre_col = float((digit.sum(axis=0) * np.arange(width)).sum() / total)
    # Where the top-left corner goes so that the mass centre lands on pixel (14, 14), where it
    # sits in MNIST (measured: mean 13.99, 14.00)...
    top = round(FIELD / 2 - centre_row)
    left = round(FIELD / 2 - centre_col)
    # ...but never so far that the digit would leave the field.
    top = min(max(top, 0), FIELD - height)
    left = min(max(left, 0), FIELD - width)
    field = np.zeros((FIELD, FIELD), np.float32)
    field[top : top + height, left : left + width] = digit
    return np.clip(np.round(field), 0, 255).astype(np.uint8)


def load_digit(
    source: str | Path | BinaryIO, max_pixels: int = MAX_PIXELS, name: str | None = None
) -> np.ndarray:
    """Read an image of one handwritten digit (a file, or bytes in a file object) as an
    MNIST-style ``(28, 28)`` uint8 array. ``name`` is what error messages call it."""
    name = name or str(source)
    return to_mnist(open_grayscale(source, max_pixels, name), name=name)


def save_preview_png(digit: np.ndarray, path: str | Path) -> None:
    """Write a ``(28, 28)`` uint8 digit as a greyscale PNG, atomically."""
    Image, _, _ = _pillow()
    with atomic_open(path) as handle:
        Image.fromarray(digit, mode="L").save(handle, format="PNG")
