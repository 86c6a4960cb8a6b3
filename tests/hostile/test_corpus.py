"""A generated corpus of bombs and disguised files, each read in a fresh process whose peak
memory is measured: every one is refused with its family's error, and none makes the reader
allocate what the file claims (a few kilobytes on disk claiming gigabytes)."""

import gzip
import io
import json
import struct
import subprocess
import sys
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

import barenet as bn

PEAK_GROWTH_MB = 250  # above the reader's own baseline, for the whole corpus


def png_claiming(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (8, 8), 255).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def npy_claiming(shape: tuple[int, ...]) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "<f4", "fortran_order": False, "shape": shape}
    )
    return buffer.getvalue() + bytes(64)


def zeros_gz(header: bytes, megabytes: int, trailer: bytes = b"") -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    parts = [compressor.compress(header)]
    parts += [compressor.compress(trailer or bytes(2**20)) for _ in range(megabytes)]
    return b"".join([*parts, compressor.flush()])


def build_corpus(folder) -> dict[str, tuple[str, str]]:
    """name -> (reader, expected error class); the files are written into ``folder``."""
    corpus: dict[str, tuple[str, str]] = {}

    def add(name: str, data: bytes, reader: str, error: str) -> None:
        (folder / name).write_bytes(data)
        corpus[name] = (reader, error)

    add("bomb.png", png_claiming(100_000, 100_000), "image", "ImageError")
    add(
        "postscript.png",
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 9 9\n",
        "image",
        "ImageError",
    )
    icon = io.BytesIO()
    Image.new("RGB", (256, 256)).save(icon, format="ICO")
    add("icon.png", icon.getvalue(), "image", "ImageError")
    idx_header = bytes([0, 0, 8, 3]) + struct.pack(">III", 2, 28, 28)
    add("train-images-idx3-ubyte.gz", zeros_gz(idx_header, 300), "idx", "DataError")
    add("huge-images-idx3-ubyte.gz",
        gzip.compress(bytes([0, 0, 8, 3]) + struct.pack(">III", 10**6, 10**4, 10**4)),
        "idx", "DataError")  # fmt: skip
    add("one-line.csv.gz", zeros_gz(b"", 300, trailer=b"1," * 2**19), "csv", "DataError")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as npz:
        for key in ("x_train", "y_train", "x_test", "y_test"):
            npz.writestr(f"{key}.npy", npy_claiming((10**6, 28, 28)))
    add("claims.npz", archive.getvalue(), "npz", "DataError")
    model = bn.Sequential([bn.Dense(4, 3)]).compile("cross_entropy")
    buffer = io.BytesIO()
    model.save(folder / "small.npz")
    with zipfile.ZipFile(folder / "small.npz") as source, zipfile.ZipFile(buffer, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "__barenet__.npy":
                description = json.loads(str(np.load(io.BytesIO(data))))
                description["layers"][0]["config"].update(in_features=20000, out_features=20000)
                stored = io.BytesIO()
                np.save(stored, np.array(json.dumps(description)))
                data = stored.getvalue()
            target.writestr(name, data)
    add("huge-layer.npz", buffer.getvalue(), "model", "ModelFileError")
    add("pickle.npz", b"\x80\x04\x95" + bytes(40), "model", "ModelFileError")
    return corpus


READER = """
import json, resource, sys
from pathlib import Path
import barenet as bn
from barenet.datasets import DataError
from barenet.datasets.csvdata import read_digit_csv
from barenet.datasets.idx import read_idx
from barenet.datasets.npz import load_npz
from barenet.digits.imaging import ImageError, load_digit

readers = {"image": load_digit, "idx": lambda p: read_idx(p, 3), "csv": read_digit_csv,
           "npz": load_npz, "model": bn.load_model}
errors = {"ImageError": ImageError, "DataError": DataError, "ModelFileError": bn.ModelFileError}
folder, corpus = Path(sys.argv[1]), json.loads(sys.argv[2])
peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
baseline, report = peak(), {}
for name, (reader, error) in corpus.items():
    try:
        readers[reader](folder / name)
        report[name] = "accepted"
    except errors[error]:
        report[name] = "refused"
    report[name] += f" (peak {peak() - baseline:.0f} MB above the baseline)"
print(json.dumps({"report": report, "growth": peak() - baseline}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss is in kB on Linux")
def test_every_bomb_is_refused_in_bounded_memory(tmp_path):
    corpus = build_corpus(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", READER, str(tmp_path), json.dumps(corpus)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    for name, line in outcome["report"].items():
        print(f"{name}: {line}")
        assert line.startswith("refused"), (name, line)
    assert outcome["growth"] < PEAK_GROWTH_MB
