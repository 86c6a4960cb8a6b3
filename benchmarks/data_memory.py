"""Memory and time of ``barenet train --data`` as the data grows, in every format, and a data set
larger than a memory limit training through a memory map.

    python -u benchmarks/data_memory.py                        # 60k, 300k and 1M images
    python -u benchmarks/data_memory.py --sizes 60000 300000   # a shorter run
    python -u benchmarks/data_memory.py --beyond-memory 0      # without the memory-limit run

Writes benchmarks/data-memory.md. The data sets are MNIST's training digits repeated (reading and
memory do not depend on the pixels; the accuracy is not the point), generated once into
``--folder`` in each format (IDX plain and gzip, CSV plain and gzip, npz) and kept there for the
next run. Every measurement is a process of its own, its peak resident memory taken from
``getrusage``: loading the data as ``barenet train`` does (``load_digit_data`` and the checksum
it records), then ``barenet train --preset quick --epochs 1`` (784-256-10, Adam, batch 64).

The larger-than-memory run puts ``barenet train`` in a cgroup-v1 memory group with a limit below
the data's size (as root, where ``/sys/fs/cgroup/memory`` is writable; skipped elsewhere):
``ulimit -v`` counts a mapped file whole, so only a real memory limit shows what a memory map
does. Reported, never asserted.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from barenet.datasets import load_mnist

HERE = Path(__file__).resolve().parent
FORMATS = ("IDX", "IDX gzip", "CSV", "CSV gzip", "npz")
CHUNK = 60_000  # images generated at a time: MNIST's training set, once over

# Runs the command given as arguments, then prints its peak resident memory (KB), its CPU
# seconds and its output as JSON: a process of its own, so no other child counts.
MEASURE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rss_kb": usage.ru_maxrss, "cpu_s": usage.ru_utime + usage.ru_stime,
                  "wall_s": time.perf_counter() - started, "rc": done.returncode,
                  "out": done.stdout, "err": done.stderr[-2000:]}))
"""

# What ``barenet train --data`` does before training: load the data and take its checksum.
LOAD = """
import json, sys, time
from barenet.digits.data import load_digit_data
started = time.perf_counter()
data = load_digit_data(sys.argv[1])
data.checksum()
print(json.dumps({"seconds": time.perf_counter() - started, "train": len(data.x_train)}))
"""


def digits(count: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """MNIST's training images and labels repeated to ``count``, 60,000 at a time."""
    (x, y), _ = load_mnist()
    for start in range(0, count, CHUNK):
        rows = min(CHUNK, count - start)
        yield x[:rows], y[:rows]


def idx_header(shape: tuple[int, ...]) -> bytes:
    return bytes([0, 0, 8, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def write_idx_folder(folder: Path, count: int, compressed: bool) -> None:
    """train-* with ``count`` images, t10k-* with MNIST's 10,000 test images."""
    suffix = ".gz" if compressed else ""
    opener = gzip.open if compressed else open
    _, (x_test, y_test) = load_mnist()
    with (
        opener(folder / f"train-images-idx3-ubyte{suffix}", "wb") as images,
        opener(folder / f"train-labels-idx1-ubyte{suffix}", "wb") as labels,
    ):
        images.write(idx_header((count, 28, 28)))
        labels.write(idx_header((count,)))
        for x, y in digits(count):
            images.write(x.tobytes())
            labels.write(y.tobytes())
    for name, array in (("images-idx3", x_test), ("labels-idx1", y_test)):
        with opener(folder / f"t10k-{name}-ubyte{suffix}", "wb") as handle:
            handle.write(idx_header(array.shape) + array.tobytes())


def write_csv(path: Path, count: int, compressed: bool) -> None:
    """A Kaggle-layout CSV: a header, then ``label,pixel0,...`` rows (text made from a table of
    the 256 numbers' bytes, 60,000 rows at a time)."""
    cells = [str(value).encode() for value in range(256)]
    opener = gzip.open if compressed else open
    with opener(path, "wb") as handle:
        handle.write(b"label," + b",".join(b"pixel%d" % i for i in range(784)) + b"\n")
        for x, y in digits(count):
            rows = np.column_stack([y, x.reshape(len(x), 784)]).tolist()
            handle.write(b"\n".join(b",".join([cells[v] for v in row]) for row in rows) + b"\n")


def write_npz(path: Path, count: int) -> None:
    (x, y), (x_test, y_test) = load_mnist()
    x_train, y_train = np.resize(x, (count, 28, 28)), np.resize(y, count)
    with open(path, "wb") as handle:
        np.savez(handle, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def data_set(folder: Path, kind: str, count: int) -> Path:
    """The data set of ``count`` images in format ``kind``, generated on first use (under a
    temporary name, renamed when whole, so an interrupted run leaves no half file)."""
    names = {"IDX": "idx", "IDX gzip": "idx-gz", "CSV": "csv", "CSV gzip": "csv.gz", "npz": "npz"}
    stem = f"{count}-{names[kind]}"
    path = folder / (stem if kind.startswith("IDX") else f"digits-{count}.{names[kind]}")
    if path.exists():
        return path
    started = time.perf_counter()
    partial = path.with_name(f".partial-{path.name}")
    if kind.startswith("IDX"):
        partial.mkdir(exist_ok=True)
        write_idx_folder(partial, count, compressed=kind == "IDX gzip")
    elif kind.startswith("CSV"):
        write_csv(partial, count, compressed=kind == "CSV gzip")
    else:
        write_npz(partial, count)
    partial.rename(path)
    print(f"  generated {path.name} in {time.perf_counter() - started:.0f} s", flush=True)
    return path


def size_on_disk(path: Path) -> int:
    files = path.rglob("*") if path.is_dir() else [path]
    return sum(file.stat().st_size for file in files if file.is_file())


def measured(command: list[str], env: dict[str, str], cgroup: Path | None = None) -> dict:
    """Run ``command`` under MEASURE (in ``cgroup`` when given); its figures and output."""

    def enter_cgroup() -> None:
        if cgroup is not None:
            (cgroup / "cgroup.procs").write_text(str(os.getpid()))

    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *command],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        preexec_fn=enter_cgroup,  # the child enters the group before it starts the command
    )
    result = json.loads(done.stdout)
    if result["rc"]:
        raise RuntimeError(f"{command[-1]}: exit status {result['rc']}\n{result['err']}")
    return result


def load_and_train(
    path: Path, work: Path, cgroup: Path | None = None, repeats: int = 1
) -> dict[str, Any]:
    """Peak memory and seconds of loading ``path`` as ``barenet train`` does, then of whole
    one-epoch ``barenet train`` runs on it: the highest peak of the ``repeats`` runs, and the
    seconds of the fastest (the one least slowed by other work on the machine)."""
    env = {**os.environ, "BARENET_DATA_CACHE": str(work / "cache")}
    load = measured([sys.executable, "-c", LOAD, str(path)], env, cgroup)
    loaded = json.loads(load["out"])
    runs = []
    for _ in range(repeats):
        before = os.getloadavg()[0]
        train = measured(
            [sys.executable, "-m", "barenet", "train", "--preset", "quick", "--epochs", "1",
             "--data", str(path), "--out", str(work / "model.npz"), "--json"],
            env,
            cgroup,
        )  # fmt: skip
        runs.append({**train, **json.loads(train["out"]), "load_average": before})
    fastest = min(runs, key=lambda run: run["train_seconds"])
    return {
        "load_seconds": loaded["seconds"],
        "load_peak_mib": load["rss_kb"] / 1024,
        "train_peak_mib": max(run["rss_kb"] for run in runs) / 1024,
        "train_seconds": fastest["train_seconds"],
        "train_images": loaded["train"],
        "us_per_image": fastest["train_seconds"] / loaded["train"] * 1e6,
        "run_seconds": fastest["wall_s"],
        "cpu_seconds": fastest["cpu_s"],
        "test_accuracy": fastest["test_accuracy"],
        "load_average": fastest["load_average"],
        "all_us_per_image": [run["train_seconds"] / loaded["train"] * 1e6 for run in runs],
    }


def memory_group(limit_bytes: int) -> Path | None:
    """A new cgroup-v1 memory group below this process's, limited to ``limit_bytes``; None
    where cgroups are not writable (the caller says so)."""
    try:
        line = next(
            line
            for line in Path("/proc/self/cgroup").read_text().splitlines()
            if line.split(":")[1] == "memory"
        )
        group = Path("/sys/fs/cgroup/memory", line.split(":", 2)[2].lstrip("/"))
        mine = group / f"barenet-data-memory-{os.getpid()}"
        mine.mkdir()
        (mine / "memory.limit_in_bytes").write_text(str(limit_bytes))
        return mine
    except (OSError, StopIteration, IndexError) as error:
        print(f"  no memory limit can be imposed here ({error}): skipped", flush=True)
        return None


def evict(path: Path) -> None:
    """Drop ``path``'s pages from the page cache, so the limited run reads them itself (a page
    cached earlier is charged to the group that read it, not to the limited one)."""
    for file in path.rglob("*") if path.is_dir() else [path]:
        if file.is_file():
            descriptor = os.open(file, os.O_RDONLY)
            os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(descriptor)


def beyond_memory(folder: Path, count: int, limit_mib: int, work: Path) -> list[dict[str, Any]]:
    """``barenet train`` on ``count`` images, more bytes than a memory limit of ``limit_mib``:
    a plain IDX folder (memory-mapped), the same gzipped (converted into the data cache under
    the limit, then mapped), and the plain folder again without a limit, for comparison."""
    runs = []
    for kind, limit in (("IDX", limit_mib), ("IDX gzip", limit_mib), ("IDX", None)):
        path = data_set(folder, kind, count)
        group = memory_group(limit * 2**20) if limit else None
        if limit and group is None:
            return []
        evict(path)
        for entry in (work / "cache").glob("*"):  # the conversion runs under the limit too
            subprocess.run(["rm", "-rf", str(entry)], check=True)
        print(f"  {kind}, {count:,} images, limit {limit or 'none'} MiB", flush=True)
        try:
            run = load_and_train(path, work, group)
            if group is not None:
                run["group_peak_mib"] = (
                    int((group / "memory.max_usage_in_bytes").read_text()) / 2**20
                )
        finally:
            if group is not None:
                group.rmdir()
        runs.append({"format": kind, "images": count, "limit_mib": limit,
                     "bytes": size_on_disk(path), **run})  # fmt: skip
        print(f"    {json.dumps(runs[-1])}", flush=True)
    return runs


def machine() -> str:
    """The CPU model, its vector flags, cores and memory, and NumPy's BLAS (as engine_gains)."""
    from engine_gains import machine as cpu_and_blas

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu_and_blas()}; {memory:.0f} GiB of memory"


def mib(value: float) -> str:
    return f"{value:,.0f}"


def report(rows: list[dict], beyond: list[dict], started: float, repeats: int) -> str:
    minutes = (time.perf_counter() - started) / 60
    lines = [
        "# Memory and time as the data grows",
        "",
        f"Measured on {datetime.date.today()} by `python benchmarks/data_memory.py` (reported, "
        f"never asserted), in {minutes:.0f} minutes.",
        "",
        f"- Machine: {machine()}.",
        "- Data: MNIST's training digits repeated to the size, with MNIST's 10,000 test digits "
        "(IDX, npz); a CSV holds out its last 1/7 as the test set, so it trains on 6/7 of it "
        "(and its test accuracy counts digits it trained on: only the IDX and npz rows' are "
        "real).",
        "- **load**: `load_digit_data` and the checksum `barenet train` records, in a process of "
        "its own; **train**: a whole `barenet train --preset quick --epochs 1` (784-256-10, "
        "Adam, batch 64) in another; peaks are resident memory (`getrusage`), memory-mapped "
        "pages included; us/image is the epoch's seconds over its training images, in the "
        f"fastest of {repeats} train runs (the highest peak).",
        "- Other work ran on the machine meanwhile (the load average is the 1-minute average "
        "before the run, on 2 cores): the seconds include that contention; memory does not.",
        "",
        "| format | images | on disk (MB) | load (s) | load peak (MiB) | train peak (MiB) "
        "| us/image | run (s) | test accuracy | load average |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['format']} | {row['images']:,} | {row['bytes'] / 1e6:,.0f} "
            f"| {row['load_seconds']:.1f} | {mib(row['load_peak_mib'])} "
            f"| {mib(row['train_peak_mib'])} | {row['us_per_image']:.1f} "
            f"| {row['run_seconds']:.0f} | {row['test_accuracy']:.2%} | {row['load_average']:.1f} |"
        )
    if beyond:
        lines += beyond_section(beyond)
    return "\n".join(lines) + "\n"


def beyond_section(runs: list[dict]) -> list[str]:
    lines = [
        "",
        "## Larger than memory",
        "",
        "`barenet train` in a cgroup-v1 memory group whose limit is below the data's size "
        "(resident memory and page cache together; no swap). A plain IDX folder is "
        "memory-mapped, and advised random access because it does not fit; the gzipped folder "
        "is decompressed into the data cache by the first load (its load seconds), under the "
        "same limit, then mapped. The last row is the plain folder without a limit.",
        "",
        "| format | images | data (MB) | limit (MiB) | load (s) | train peak (MiB) "
        "| group peak (MiB) | us/image | run (s) | test accuracy | load average |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        limit = f"{run['limit_mib']:,}" if run["limit_mib"] else "none"
        group = mib(run["group_peak_mib"]) if "group_peak_mib" in run else "-"
        lines.append(
            f"| {run['format']} | {run['images']:,} | {run['bytes'] / 1e6:,.0f} | {limit} "
            f"| {run['load_seconds']:.1f} | {mib(run['train_peak_mib'])} | {group} "
            f"| {run['us_per_image']:.1f} | {run['run_seconds']:.0f} "
            f"| {run['test_accuracy']:.2%} | {run['load_average']:.1f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[60_000, 300_000, 1_000_000])
    parser.add_argument("--formats", nargs="+", default=list(FORMATS), choices=FORMATS)
    parser.add_argument("--beyond-memory", type=int, default=2_500_000, metavar="IMAGES",
                        help="images of the larger-than-memory run (0: none)")  # fmt: skip
    parser.add_argument("--limit-mib", type=int, default=1024, help="its memory limit")
    parser.add_argument("--repeats", type=int, default=2, help="train runs of each data set")
    parser.add_argument(
        "--folder", type=Path, default=Path(tempfile.gettempdir()) / "barenet-data-memory"
    )
    parser.add_argument("--out", type=Path, default=HERE / "data-memory.md")
    args = parser.parse_args()
    started = time.perf_counter()
    args.folder.mkdir(parents=True, exist_ok=True)
    print(machine(), flush=True)
    rows = []
    with tempfile.TemporaryDirectory(dir=args.folder) as work:
        for count in args.sizes:
            for kind in args.formats:
                path = data_set(args.folder, kind, count)
                print(f"{kind}, {count:,} images", flush=True)
                run = load_and_train(path, Path(work), repeats=args.repeats)
                rows.append({"format": kind, "images": count, "bytes": size_on_disk(path), **run})
                print(f"  {json.dumps(rows[-1])}", flush=True)
        beyond = []
        if args.beyond_memory:
            print("Larger than memory", flush=True)
            beyond = beyond_memory(args.folder, args.beyond_memory, args.limit_mib, Path(work))
    text = report(rows, beyond, started, args.repeats)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
