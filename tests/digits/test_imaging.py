"""Own images -> the 28x28 the network sees: MNIST digits rendered back, drawings, bad files."""

import contextlib
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from barenet.datasets import load_mnist
from barenet.digits.imaging import ImageError, load_digit, stroke_width, to_mnist


@pytest.fixture(scope="module")
def test_digits():
    _, (x_test, y_test) = load_mnist()
    return x_test[:60], y_test[:60]


def render(digit, rng, dark_ink, scale=10, canvas=(600, 400)):
    """Blow a 28x28 digit up and paste it somewhere off-centre on a large canvas."""
    big = Image.fromarray(digit).resize((28 * scale, 28 * scale), Image.Resampling.BILINEAR)
    image = Image.new("L", canvas, 0)
    image.paste(
        big,
        (
            int(rng.integers(0, canvas[0] - 28 * scale)),
            int(rng.integers(0, canvas[1] - 28 * scale)),
        ),
    )
    pixels = np.asarray(image)
    return 255 - pixels if dark_ink else pixels


def save_variant(pixels, variant, folder):
    if variant == "jpeg":
        path = folder / "digit.jpg"
        Image.fromarray(pixels).convert("RGB").save(path, quality=85)
    elif variant == "rgba":  # dark ink as opacity over a transparent background
        rgba = np.zeros((*pixels.shape, 4), np.uint8)
        rgba[..., :3] = 30
        rgba[..., 3] = 255 - pixels
        path = folder / "digit.png"
        Image.fromarray(rgba, "RGBA").save(path)
    else:
        path = folder / "digit.png"
        Image.fromarray(pixels).save(path)
    return path


@pytest.mark.parametrize("variant", ["light-on-dark", "dark-on-light", "jpeg", "rgba"])
def test_rendered_mnist_digits_read_as_the_originals(variant, test_digits, shipped_model, tmp_path):
    images, _ = test_digits
    rng = np.random.default_rng(5)
    seen = []
    for digit in images:
        pixels = render(digit, rng, dark_ink=variant != "light-on-dark")
        seen.append(load_digit(save_variant(pixels, variant, tmp_path)))
    original = shipped_model.predict_classes(images)
    recovered = shipped_model.predict_classes(np.stack(seen))
    assert (original == recovered).sum() >= 58, f"{(original != recovered).sum()} of 60 differ"


def test_output_looks_like_mnist(test_digits):
    digit = to_mnist(
        render(test_digits[0][3], np.random.default_rng(0), dark_ink=True).astype(np.float32)
    )
    assert digit.shape == (28, 28) and digit.dtype == np.uint8 and digit.max() == 255
    rows, cols = np.nonzero(digit > 0.2 * 255)
    assert (
        18 <= max(np.ptp(rows), np.ptp(cols)) + 1 <= 21
    )  # the 20 px box, give or take antialiasing
    mass = digit.astype(float)
    centre = [(mass.sum(axis=1 - axis) * np.arange(28)).sum() / mass.sum() for axis in (0, 1)]
    np.testing.assert_allclose(centre, [14, 14], atol=0.6)


def draw(strokes, width, mode="RGB"):
    image = Image.new(mode, (400, 400), "white")
    pen = ImageDraw.Draw(image)
    for kind, points in strokes:
        if kind == "line":
            pen.line(points, fill="black", width=width)
        else:
            pen.ellipse(points, outline="black", width=width)
    return image


DRAWINGS = {
    7: [("line", [(100, 80), (300, 80), (170, 340)])],
    1: [("line", [(200, 60), (200, 340)])],
    0: [("ellipse", [(120, 60), (280, 340)])],
    4: [("line", [(250, 340), (250, 60), (110, 250), (300, 250)])],
}


@pytest.mark.parametrize("width", [3, 12, 30])
@pytest.mark.parametrize("label", sorted(DRAWINGS))
def test_drawn_digits_are_read(label, width, shipped_model, tmp_path):
    path = tmp_path / "drawing.png"
    draw(DRAWINGS[label], width).save(path)
    assert shipped_model.predict_classes(load_digit(path)[np.newaxis])[0] == label


def test_thin_strokes_are_thickened_to_mnist_width(tmp_path):
    path = tmp_path / "thin.png"
    draw(DRAWINGS[4], 2).save(path)
    digit = load_digit(path)
    assert 1.8 <= stroke_width(digit.astype(np.float32)) <= 4.0


def test_stroke_width_estimate():
    canvas = np.zeros((100, 100), np.float32)
    canvas[10:90, 40:46] = 255  # a bar 6 pixels wide
    assert stroke_width(canvas) == pytest.approx(6, rel=0.15)


@pytest.mark.parametrize("mode", ["1", "L", "P", "LA", "RGB", "I;16"])
def test_image_modes(mode, tmp_path, shipped_model):
    image = draw(DRAWINGS[7], 20, mode="L")
    if mode == "I;16":
        image = Image.fromarray(np.asarray(image).astype(np.uint16) * 257)
    else:
        image = image.convert(mode)
    suffix = ".gif" if mode == "P" else ".png"
    image.save(tmp_path / f"seven{suffix}")
    digit = load_digit(tmp_path / f"seven{suffix}")
    assert shipped_model.predict_classes(digit[np.newaxis])[0] == 7


def test_bmp_and_webp(tmp_path):
    for suffix in (".bmp", ".webp"):
        draw(DRAWINGS[1], 20).save(tmp_path / f"one{suffix}")
        assert load_digit(tmp_path / f"one{suffix}").max() == 255


def test_blank_image_is_an_error(tmp_path):
    Image.new("RGB", (200, 200), "white").save(tmp_path / "blank.png")
    with pytest.raises(ImageError, match="blank.png: no ink found"):
        load_digit(tmp_path / "blank.png")


def test_not_an_image(tmp_path):
    (tmp_path / "notes.png").write_text("this is not a picture")
    with pytest.raises(
        ImageError, match="notes.png is not a PNG, JPEG, BMP, GIF, WebP or TIFF image"
    ):
        load_digit(tmp_path / "notes.png")
    with pytest.raises(ImageError, match="no such file"):
        load_digit(tmp_path / "missing.png")


def test_truncated_image(tmp_path):
    draw(DRAWINGS[7], 10).save(tmp_path / "seven.png")
    data = (tmp_path / "seven.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="cut.png: the image data is damaged or truncated"):
        load_digit(tmp_path / "cut.png")


def png_claiming_size(width: int, height: int) -> bytes:
    """A valid little PNG whose header claims another size: a decompression bomb's disguise."""
    import io

    buffer = io.BytesIO()
    Image.new("L", (8, 8), 255).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    ihdr = 8 + 8  # signature, then length and type of the IHDR chunk
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr - 4 : ihdr + 13]))
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


def test_huge_images_are_refused_before_decoding(tmp_path):
    (tmp_path / "large.png").write_bytes(png_claiming_size(8_000, 6_000))
    with pytest.raises(ImageError, match="8000x6000 is 48 megapixels, over the limit of 40"):
        load_digit(tmp_path / "large.png")
    (tmp_path / "huge.png").write_bytes(png_claiming_size(10_000, 10_000))  # Pillow's own guard
    with pytest.raises(
        ImageError,
        match=r"huge.png is too large to decode safely \(Image size \(100000000 pixels\)",
    ):
        load_digit(tmp_path / "huge.png")


EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 28 28\nnewpath 4 4 moveto 24 24 lineto stroke\n"


def test_only_the_documented_formats_reach_a_decoder(tmp_path, monkeypatch):
    # EPS would be handed to Ghostscript, an external program; ICO decodes before any size check.
    from PIL import EpsImagePlugin

    def never(*_args, **_kwargs):
        raise AssertionError("an EPS decoder was asked to look at the file")

    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", never)
    (tmp_path / "drawing.png").write_bytes(EPS)
    with pytest.raises(ImageError, match="is not a PNG, JPEG, BMP, GIF, WebP or TIFF image"):
        load_digit(tmp_path / "drawing.png")
    Image.new("RGB", (64, 64), "white").save(tmp_path / "icon.ico")
    with pytest.raises(ImageError, match="is not a PNG"):
        load_digit(tmp_path / "icon.ico")


def test_a_float_tiff_holding_nan_is_read(tmp_path):
    values = np.zeros((40, 40), np.float32)
    values[10:30, 18:22] = 1.0
    values[0, 0] = np.nan
    Image.fromarray(values, mode="F").save(tmp_path / "nan.tif")
    digit = load_digit(tmp_path / "nan.tif")
    assert digit.shape == (28, 28) and digit.max() == 255


@pytest.mark.parametrize("cut", [30, 60, 200])
def test_cut_or_mutated_images_are_one_error(cut, tmp_path):
    image = Image.new("RGB", (120, 120), "white")
    ImageDraw.Draw(image).line([(20, 20), (100, 100)], fill="black", width=9)
    for kind in ("PNG", "JPEG"):
        path = tmp_path / f"cut.{kind.lower()}"
        image.save(path, format=kind)
        data = bytearray(path.read_bytes())
        path.write_bytes(bytes(data[:cut]))
        with pytest.raises(ImageError, match="cut"):
            load_digit(path)
        data[cut : cut + 40] = bytes(40)  # a mutated middle
        path.write_bytes(bytes(data))
        with contextlib.suppress(ImageError):  # some still decode; none raises another error
            load_digit(path)
