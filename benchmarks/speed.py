"""Speed benchmark: barenet against PyTorch (CPU), scikit-learn and a per-sample NumPy loop.

    python benchmarks/speed.py                 # everything; writes benchmarks/RESULTS.md
    python benchmarks/speed.py --epochs 2 --quick

Each contender trains in its own worker process; the parent asks them for one whole epoch at a
time, in turn (A B C A B C ...), so their BLAS thread pools never run at once. Figures are
reported, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.util
import itertools
import json
import multiprocessing as mp
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ARCHITECTURES = [(784, 128, 64, 10), (784, 800, 10), (784, 512, 512, 10)]
SAMPLES = 60_000
# The engine a barenet worker runs (``barenet.engine``): "numpy" for the plain contenders (the
# default where Numba is not installed), "numba" for the "+ numba" ones, the default where it is.
ENGINE_VARIABLE = "BARENET_BENCHMARK_ENGINE"
# The flags of /proc/cpuinfo that name vector instruction sets (AVX2, FMA, AVX-512's parts, AMX).
VECTOR_FLAG_PREFIXES = ("avx", "fma", "amx")


def with_numba(
    contender: str,
    layers: Sequence[int],
    env: dict[str, str | None] | None = None,
    label: str | None = None,
) -> list[Worker]:
    """``contender`` (a barenet one) with the numba kernels, when Numba is installed."""
    if importlib.util.find_spec("numba") is None:
        print("note: numba is not installed; the '+ numba' contenders are left out", flush=True)
        return []
    env = {**(env or {}), ENGINE_VARIABLE: "numba"}
    return [Worker(contender, layers, env=env, label=label or f"{contender} + numba")]


def with_reference(
    contender: str, layers: Sequence[int], env: dict[str, str | None] | None = None
) -> list[Worker]:
    """``contender`` (a barenet one) on the textbook alone, the "reference" engine: reported
    beside the others, with no target."""
    env = {**(env or {}), ENGINE_VARIABLE: "reference"}
    return [Worker(contender, layers, env=env, label=f"{contender} (reference)")]


def training_flops(layers: Sequence[int], samples: int = SAMPLES) -> float:
    """FLOPs of one training epoch: per layer 2*in*out each for the forward product, the weight
    gradient and (except the first layer, whose input needs none) the input gradient."""
    total = 0
    for index, (fan_in, fan_out) in enumerate(itertools.pairwise(layers)):
        total += 2 * fan_in * fan_out * (2 if index == 0 else 3)
    return float(total * samples)


def peak_matmul_gflops() -> float:
    """The best float32 matrix-product rate NumPy reaches here, over a few square sizes."""
    best = 0.0
    for n in (1024, 2048, 3072):
        a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
        b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
        a @ b  # warm-up
        seconds = min(_timed(lambda a=a, b=b: a @ b) for _ in range(5))
        best = max(best, 2 * n**3 / seconds / 1e9)
    return best


def _timed(function: Any) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def _worker(connection: Connection, contender: str, layers: Sequence[int]) -> None:
    """Serve one contender: build it, then run commands from the parent until 'stop'."""
    sys.path.insert(0, str(HERE))
    from cnn_contenders import BarenetCNN, TorchCNN
    from contenders import CONTENDERS

    every = {**CONTENDERS, BarenetCNN.name: BarenetCNN, TorchCNN.name: TorchCNN}
    import barenet

    barenet.engine.use(os.environ.get(ENGINE_VARIABLE, "numpy"))
    subject = every[contender](layers)
    connection.send("ready")
    while (command := connection.recv()) != "stop":
        if command == "epoch":
            connection.send(subject.train_epoch())
        elif command == "accuracy":
            connection.send(subject.accuracy())
        elif command == "predict":
            connection.send(_timed(subject.predict_classes))
        elif command == "rss":
            connection.send(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        elif command == "blas":
            connection.send(_blas_info())
        elif command == "threads":  # how many threads share each of barenet's batches
            connection.send(subject.threads() if hasattr(subject, "threads") else None)
        elif command == "peak":
            connection.send(peak_matmul_gflops())


@contextlib.contextmanager
def environment(**changes: str | None) -> Iterator[None]:
    """Set (or, with None, unset) environment variables for the workers started inside."""
    saved = {key: os.environ.get(key) for key in changes}
    for key, value in changes.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class Worker:
    """A contender in its own process, started with ``env`` changes to the environment."""

    def __init__(
        self,
        contender: str,
        layers: Sequence[int],
        env: dict[str, str | None] | None = None,
        label: str | None = None,
    ) -> None:
        self.name = label or contender
        self.connection, child = mp.get_context("spawn").Pipe()
        self.process = mp.get_context("spawn").Process(
            target=_worker, args=(child, contender, layers)
        )
        with environment(**(env or {})):  # a spawned child takes the environment at its start
            self.process.start()
        assert self.connection.recv() == "ready"

    def ask(self, command: str) -> Any:
        self.connection.send(command)
        return self.connection.recv()

    def stop(self) -> None:
        self.connection.send("stop")
        self.process.join()


def _blas_info() -> list[dict[str, Any]]:
    from threadpoolctl import threadpool_info

    keys = ("internal_api", "version", "architecture", "num_threads", "filepath")
    return [{key: info.get(key) for key in keys} for info in threadpool_info()]


def race(
    layers: Sequence[int],
    contenders: Sequence[str | Worker],
    epochs: int,
    *,
    predictions: int = 0,
    accuracy_every_epoch: bool = False,
) -> list[dict[str, Any]]:
    """Train every contender for 1 + ``epochs`` epochs, taking turns epoch by epoch; then, with
    ``predictions``, time that many predictions of the 10,000 test images each, taking turns.
    With ``accuracy_every_epoch``, the test accuracy after every epoch (not timed)."""
    workers = [c if isinstance(c, Worker) else Worker(c, layers) for c in contenders]
    seconds: dict[str, list[float]] = {worker.name: [] for worker in workers}
    accuracies: dict[str, list[float]] = {worker.name: [] for worker in workers}
    for _ in range(1 + epochs):  # the first is a warm-up: caches, thread pools, allocator
        for worker in workers:
            seconds[worker.name].append(worker.ask("epoch"))
            if accuracy_every_epoch:
                accuracies[worker.name].append(worker.ask("accuracy"))
    predict_seconds: dict[str, list[float]] = {worker.name: [] for worker in workers}
    for _ in range(predictions):
        for worker in workers:
            predict_seconds[worker.name].append(worker.ask("predict"))
    results = []
    for worker in workers:
        timed = seconds[worker.name][1:]
        row = {
            "contender": worker.name,
            "median_seconds": statistics.median(timed),
            "seconds": timed,
            "accuracy": worker.ask("accuracy"),
            "peak_rss_mb": worker.ask("rss"),
        }
        if accuracy_every_epoch:  # every epoch, the warm-up included: it trains too
            row["epoch_seconds"], row["accuracies"] = seconds[worker.name], accuracies[worker.name]
        if predictions:
            row["predict_seconds"] = statistics.median(predict_seconds[worker.name])
        results.append(row)
        worker.stop()
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per contender")
    parser.add_argument(
        "--cnn-epochs", type=int, default=5, help="timed epochs of the CNN (after 1 warm-up)"
    )
    parser.add_argument("--quick", action="store_true", help="skip the full `barenet train` run")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument(
        "--only",
        choices=["cnn", "to99", "load", "page", "profile"],
        help="re-measure only this part, keeping the other figures in results.json",
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    from extras import measure_extras
    from report import write_report

    if args.only:
        results = json.loads((HERE / "results.json").read_text())
        if args.only == "cnn":
            results["cnn"] = measure_cnn(args.cnn_epochs)
        elif args.only == "to99":
            results["to_99"] = measure_to_99()
        elif args.only == "load":
            results["load"] = measure_serving()
        elif args.only == "profile":
            results["profile"] = measure_profile()
        else:
            results["page"] = measure_pages()
        (HERE / "results.json").write_text(json.dumps(results, indent=1))
        write_report(results, args.out)
        print(f"wrote {args.out}")
        return

    have_torch = _importable("torch")
    have_sklearn = _importable("sklearn")
    results: dict[str, Any] = {"epochs": args.epochs, "date": datetime.date.today().isoformat()}
    probe = Worker("barenet", (784, 10))
    results["blas"], results["peak_gflops"] = probe.ask("blas"), probe.ask("peak")
    probe.stop()
    results["networks"] = []
    for layers in ARCHITECTURES:
        contenders: list[str | Worker] = ["barenet", *with_numba("barenet", layers)]
        contenders += with_reference("barenet", layers)
        contenders += ["PyTorch"] * have_torch + ["scikit-learn"] * have_sklearn
        if layers == ARCHITECTURES[0]:
            contenders += ["per-sample loop", "barenet batch_size=1"]
        names = [c.name if isinstance(c, Worker) else c for c in contenders]
        print(f"{'-'.join(map(str, layers))}: {', '.join(names)}", flush=True)
        rows = race(layers, contenders, args.epochs)
        results["networks"].append(
            {"layers": list(layers), "flops": training_flops(layers), "rows": rows}
        )
        for row in rows:
            print(
                f"  {row['contender']:<22} {row['median_seconds']:.3f} s/epoch  {row['accuracy']:.4f}",
                flush=True,
            )

    # barenet as the environment has it against barenet with OPENBLAS_CORETYPE flipped and
    # PyTorch, taking turns like the contenders above.
    current, flipped = os.environ.get("OPENBLAS_CORETYPE"), flipped_coretype()
    probe = Worker("barenet", (784, 10), env=flipped)
    variant = {"OPENBLAS_CORETYPE": flipped["OPENBLAS_CORETYPE"], "blas": probe.ask("blas")}
    variant["peak_gflops"] = probe.ask("peak")
    probe.stop()
    variant["networks"] = []
    for layers in ARCHITECTURES:
        trio = [
            Worker("barenet", layers, label="as is"),
            Worker("barenet", layers, env=flipped, label="flipped"),
            *with_numba("barenet", layers, label="as is + numba"),
            *with_numba("barenet", layers, flipped, label="flipped + numba"),
        ] + ([Worker("PyTorch", layers)] if have_torch else [])
        rows = {row["contender"]: row["median_seconds"] for row in race(layers, trio, args.epochs)}
        variant["networks"].append({"layers": list(layers), **rows})
    results["blas_variant"] = variant
    results["cnn"] = measure_cnn(args.cnn_epochs) if have_torch else None
    print("epochs to 99% over seeds: the CNN in barenet and PyTorch", flush=True)
    results["to_99"] = measure_to_99() if have_torch else None
    results["OPENBLAS_CORETYPE"] = current
    results["extras"] = measure_extras(full_train=not args.quick)
    results["load"] = measure_serving()
    results["page"] = measure_pages()
    results["profile"] = measure_profile()
    results["versions"] = _versions(have_torch, have_sklearn)
    results["machine"] = _machine()
    (HERE / "results.json").write_text(json.dumps(results, indent=1))
    write_report(results, args.out)
    print(f"wrote {args.out}")


# A machine without AVX-512, imitated on one with it: OpenBLAS's Haswell (AVX2) kernels, and
# PyTorch's oneDNN and ATen kernels held to AVX2.
WITHOUT_AVX512 = {
    "OPENBLAS_CORETYPE": "Haswell",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "ATEN_CPU_CAPABILITY": "avx2",
}


def flipped_coretype() -> dict[str, str | None]:
    """``OPENBLAS_CORETYPE`` flipped: unset if set, Haswell (OpenBLAS's AVX2 kernels) if unset."""
    return {"OPENBLAS_CORETYPE": None if os.environ.get("OPENBLAS_CORETYPE") else "Haswell"}


def measure_cnn(epochs: int) -> dict[str, Any]:
    """The CNN in barenet and PyTorch, taking turns epoch by epoch like the MLPs, with the test
    accuracy after every epoch and the time to predict the test set: as the machine is, with
    ``OPENBLAS_CORETYPE`` flipped (NumPy's kernels alone change: PyTorch does not use OpenBLAS)
    and held to AVX2 (``WITHOUT_AVX512``)."""
    from cnn_contenders import cnn_training_flops

    flipped = flipped_coretype()
    flipped_label = f"OPENBLAS_CORETYPE={flipped['OPENBLAS_CORETYPE'] or '(unset)'}"
    settings = []
    for label, env in (("as is", {}), (flipped_label, flipped), ("AVX2 only", WITHOUT_AVX512)):
        workers = [Worker("barenet CNN", (), env=env), *with_numba("barenet CNN", (), env)]
        if not env:  # the textbook alone, once: as the machine is
            workers += with_reference("barenet CNN", ())
        workers.append(Worker("PyTorch CNN", (), env=env))
        print(f"CNN ({label}): {', '.join(w.name for w in workers)}", flush=True)
        blas, threads = workers[0].ask("blas"), workers[0].ask("threads")
        rows = race((), workers, epochs, predictions=5, accuracy_every_epoch=True)
        for row in rows:
            print(
                f"  {row['contender']:<22} {row['median_seconds']:.3f} s/epoch  "
                f"predict {row['predict_seconds']:.3f} s  {row['accuracies']}",
                flush=True,
            )
        settings.append(
            {"label": label, "env": env, "blas": blas, "threads": threads, "rows": rows}
        )
    return {
        "architecture": "conv5x5x32-maxpool-conv5x5x64-maxpool-fc128-fc10",
        "flops": cnn_training_flops(),
        "epochs": epochs,
        "settings": settings,
        **_measured_here(),
    }


def measure_to_99() -> dict[str, Any]:
    """``to_99.py`` in a process of its own: epochs to 99% over seeds, barenet and PyTorch."""
    done = subprocess.run(
        [sys.executable, str(HERE / "to_99.py")], stdout=subprocess.PIPE, check=True, text=True
    )
    return {**json.loads(done.stdout), **_measured_here()}


def _measured_here() -> dict[str, Any]:
    """When and where a part re-measured alone (``--only``) ran: its section says so."""
    return {
        "date": datetime.date.today().isoformat(),
        "machine": _machine(),
        "blas": _blas_info(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
    }


def measure_serving() -> dict[str, Any]:
    """`barenet serve` under load on loopback, with each shipped model, and the machine it ran on
    (`--only load` may run on another machine than the rest of the report)."""
    from load import measure_load

    runs = []
    for model in ("cnn", "mlp"):
        print(f"load test: barenet serve --model {model}", flush=True)
        runs += measure_load(requests=800, clients=8, model=model)
    return {**_measured_here(), "runs": runs}


def measure_profile() -> dict[str, Any]:
    """A CNN training step, layer by layer (profile_cnn.py), beside this machine's peak."""
    from profile_cnn import profile

    print("profile: the benchmark CNN, layer by layer", flush=True)
    measured = {**_measured_here(), "peak_gflops": peak_matmul_gflops(), **profile()}
    if importlib.util.find_spec("numba") is not None:
        import barenet

        print("profile: the same with the numba kernels", flush=True)
        with barenet.engine.using("numba"):
            measured["numba"] = profile()
    return measured


def measure_pages() -> dict[str, Any] | None:
    """The drawing page in Chromium while drawing, with each shipped model (None without
    Playwright and Debian's chromium)."""
    if not (_importable("playwright") and Path("/usr/bin/chromium").exists()):
        return None
    from page import measure_page

    print("drawing page in Chromium: cnn, mlp", flush=True)
    return {
        "date": datetime.date.today().isoformat(),
        "machine": _machine(),
        "runs": [measure_page(model) for model in ("cnn", "mlp")],
    }


def _importable(module: str) -> bool:
    """Whether ``module`` is installed, without importing it: importing PyTorch here would load
    its OpenMP and OpenBLAS into this process, where the load test's clients and the BLAS line
    of every section measured here would see them."""
    if importlib.util.find_spec(module) is None:
        print(f"note: {module} is not installed; its column is left out", flush=True)
        return False
    return True


def _versions(have_torch: bool, have_sklearn: bool) -> dict[str, str]:
    import barenet

    versions = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "barenet": barenet.__version__,
    }
    if have_torch:
        import torch

        versions["torch"] = torch.__version__
    if have_sklearn:
        import sklearn

        versions["scikit-learn"] = sklearn.__version__
    return versions


def _machine() -> dict[str, Any]:
    """The CPU model (with its family and model numbers, which tell processor generations
    apart where the name does not: "AMD EPYC"), cores, memory and its vector instruction sets."""
    model, numbers = platform.processor() or platform.machine(), {}
    cpuinfo = ""
    with contextlib.suppress(OSError):
        cpuinfo = Path("/proc/cpuinfo").read_text().split("\n\n")[0]  # the first core
    flags: list[str] = []
    for line in cpuinfo.splitlines():
        key, _, value = (part.strip() for part in line.partition(":"))
        if key == "model name":
            model = value
        elif key in ("cpu family", "model"):
            numbers[key] = value
        elif key == "flags":
            flags = value.split()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": model,
        "family": numbers.get("cpu family"),
        "model": numbers.get("model"),
        "cores": os.cpu_count(),
        "memory_gib": round(memory),
        "avx512": "avx512f" in flags,
        "vector_flags": [flag for flag in flags if flag.startswith(VECTOR_FLAG_PREFIXES)],
    }


if __name__ == "__main__":
    main()
