"""Turn the benchmark's measurements into benchmarks/RESULTS.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from to_99 import median_epochs

COLUMNS = (
    "barenet",
    "barenet + numba",
    "barenet (reference)",
    "PyTorch",
    "scikit-learn",
    "per-sample loop",
)


def _blas_line(blas: list[dict[str, Any]]) -> str:
    return (
        "; ".join(
            f"{b['internal_api']} {b['version']} ({b['architecture']} kernels, {b['num_threads']} threads)"
            for b in blas
        )
        or "unknown"
    )


def _ratio(
    rows: dict[str, dict[str, Any]], ours: str, theirs: str, key: str = "median_seconds"
) -> str:
    """``ours / theirs`` in bold, or "-" when either did not run."""
    if ours not in rows or theirs not in rows:
        return "-"
    return f"**{rows[ours][key] / rows[theirs][key]:.2f}**"


def _network_name(layers: list[int]) -> str:
    return "-".join(map(str, layers))


def write_report(results: dict[str, Any], path: Path) -> None:
    peak = results["peak_gflops"]
    machine, versions = results["machine"], results["versions"]
    lines = [
        "# barenet speed benchmark",
        "",
        f"Measured on {results['date']} by `python benchmarks/speed.py` (reported, never asserted).",
        "",
        'How to read these tables ("matmul limit", races), earlier runs on machines with AVX-512, '
        "the measurements behind the engine's choices, and what was tried and measured slower: "
        "[NOTES.md](NOTES.md) and [engine-timings.md](engine-timings.md). Memory and time as "
        "the data grows, in every format: [data-memory.md](data-memory.md).",
        "",
        f"- Machine: {_cpu(machine)}, {machine['memory_gib']} GiB.",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".",
        f"- NumPy's BLAS: {_blas_line(results['blas'])}; OPENBLAS_CORETYPE="
        f"{results['OPENBLAS_CORETYPE'] or '(unset)'}.",
        f"- Peak float32 matmul rate measured through NumPy: {peak:.0f} GFLOP/s.",
        f"- Each contender trains in its own process; contenders take turns one whole epoch at a "
        f"time (1 warm-up epoch, then {results['epochs']} timed); the figure is the median. Same "
        "data (60,000 MNIST images), same network, batch 128, Adam (lr 1e-3), float32, He-normal "
        "init (scikit-learn keeps its own). The per-sample loop and barenet `batch_size=1` use "
        "SGD at 0.01, are timed on 6,000 samples and scaled to 60,000.",
        "",
        "## Epoch time (seconds, median)",
        "",
        "| network | matmul limit | "
        + " | ".join(COLUMNS)
        + " | barenet / PyTorch | barenet + numba / PyTorch | reference / PyTorch |",
        "|---|---|" + "---|" * len(COLUMNS) + "---|---|---|",
    ]
    for network in results["networks"]:
        rows = {row["contender"]: row for row in network["rows"]}
        cells = [f"{rows[c]['median_seconds']:.2f}" if c in rows else "-" for c in COLUMNS]
        ours = ("barenet", "barenet + numba", "barenet (reference)")
        ratios = [_ratio(rows, name, "PyTorch") for name in ours]
        limit = network["flops"] / (peak * 1e9)
        lines.append(
            f"| {_network_name(network['layers'])} | {limit:.2f} | "
            + " | ".join(cells + ratios)
            + " |"
        )
    lines += [
        "",
        "## Detail",
        "",
        "| network | contender | samples/s | GFLOP/s | of peak | peak RSS (MB) | test accuracy after "
        f"{results['epochs'] + 1} epochs |",
        "|---|---|---|---|---|---|---|",
    ]
    for network in results["networks"]:
        for row in network["rows"]:
            seconds = row["median_seconds"]
            rate = network["flops"] / seconds / 1e9
            lines.append(
                f"| {_network_name(network['layers'])} | {row['contender']} | {60000 / seconds:,.0f} | "
                f"{rate:.0f} | {rate / peak:.0%} | {row['peak_rss_mb']:.0f} | {row['accuracy']:.2%} |"
            )
    if results.get("cnn"):
        lines += _cnn_section(results["cnn"], peak)
        if results.get("to_99"):
            lines += _to_99_section(results["to_99"], results["cnn"])
    lines += _blas_variant_section(results)
    extras = results["extras"]
    fast, train = extras["time_to_98"], extras["train_mlp"]
    lines += [
        "",
        "## Other measurements",
        "",
        f"- Time to 98.0% test accuracy, barenet's fast recipe (784-800-10, Adam 2e-3 with cosine "
        f"decay over 6 epochs, batch 256; test checks not timed): **{fast['seconds']:.1f} s** "
        f"({fast['epochs']} epochs, {fast['accuracy']:.2%}).",
    ]
    for name, timing in extras["prediction"].items():
        lines.append(
            f"- Prediction, {name}: 10,000 test images in **{timing['batch_10000_ms']:.1f} ms**; "
            f"one image in **{timing['one_image_us']:.0f} µs** (in-process, median)."
        )
    lines.append(
        f"- `barenet train --preset mlp` ({train['epochs']} epochs): peak RSS **{train['peak_rss_mb']:.0f} MB**, "
        f"{train['seconds']:.0f} s in all, {train['test_accuracy']:.2%} test accuracy."
    )
    if results.get("load"):
        load = results["load"]
        lines += [
            "",
            "## Serving: `barenet serve` under load",
            "",
            "`benchmarks/load.py`: the server on a loopback port; one client sending 200 requests "
            "one after another (the latency of one call), then 8 client threads sending 800, "
            "each time after 20 warm-up requests. A request is what the page sends: a 280x280 "
            "canvas PNG as a data URL (MNIST test digits). Latency is per request, as a client "
            "sees it, including PNG decoding and preprocessing; `/api/explain` adds every "
            "layer's output, the backward pass for the saliency and a larger answer.",
            "",
            _measured_on(load) + ".",
            "",
            "| model | endpoint | clients | requests | answers/s | p50 latency (ms) | "
            "p99 latency (ms) | answer size (kB) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for run in load["runs"]:
            lines.append(
                f"| {run['model']} | /{run['endpoint']} | {run['clients']} | {run['requests']} | "
                f"{run['predictions_per_second']:.0f} | {run['p50_ms']:.1f} | "
                f"{run['p99_ms']:.1f} | {run['answer_kb']:.1f} |"
            )
    if results.get("page"):
        lines += _page_section(results["page"])
    if results.get("profile"):
        lines += _profile_section(results["profile"])
    # Sections measured by hand (accuracy.md: the preset runs) or by benchmarks/reading.py.
    for section in ("accuracy.md", "reading.md"):
        if (path.parent / section).exists():
            lines += ["", (path.parent / section).read_text().rstrip()]
    path.write_text("\n".join(lines) + "\n")


def _time_to(target: float, row: dict[str, Any]) -> str:
    """Training seconds (every epoch, the warm-up included) until the test accuracy first
    reaches ``target``, or how many epochs it did not in."""
    spent = 0.0
    pairs = zip(row["epoch_seconds"], row["accuracies"], strict=True)
    for epoch, (seconds, accuracy) in enumerate(pairs, 1):
        spent += seconds
        if accuracy >= target:
            return f"{spent:.0f} s ({epoch} epochs)"
    return f"not in {len(row['accuracies'])} epochs"


def _cnn_section(cnn: dict[str, Any], peak: float) -> list[str]:
    """The CNN against PyTorch, as the machine is, with OPENBLAS_CORETYPE flipped and held to
    AVX2: epoch time, prediction time and time to 99%, with the ratios."""
    lines = [
        "",
        f"## CNN: {cnn['architecture']}",
        "",
        "Batch 128, Adam at 1e-3, float32, no padding, same turn-taking as above "
        f"(1 warm-up epoch, then {cnn['epochs']} timed). barenet's Conv2D is im2col + one matrix "
        "product (the engine: im2row with 8 channels or more), and its recipe pools before the "
        "ReLU (the same function, see `build_model`); the engine shares each batch among "
        "threads, one per core, each with one-thread BLAS (`barenet.engine.sharding`); "
        '"barenet CNN" is the `numpy` engine, "+ numba" the `numba` one (the default with '
        'the `fast` extra), "(reference)" the textbook alone. PyTorch uses its oneDNN '
        "convolutions with 2 threads. Prediction: the 10,000 test images (barenet's `predict`, batches of 1,000 "
        "for PyTorch), median of 5. Time to 99%: training seconds, the warm-up epoch included, "
        "until the test accuracy (checked after every epoch, not timed) first reaches 99.0%: "
        "one run each, so it moves with the seed (over seeds: below). GFLOP/s: the network's training FLOPs, every "
        "multiply-add of the dense products as PyTorch computes them, over the epoch's seconds; "
        "the numba kernels' backward pass of the second convolution leaves out the terms whose "
        "gradient is zero (the max pooling after it passes a gradient to one position in four), "
        "so theirs is the rate it would take to compute them all in that time.",
        "",
        '"AVX2 only" imitates a machine without AVX-512 on this one: `OPENBLAS_CORETYPE=Haswell` '
        "for NumPy, `ONEDNN_MAX_CPU_ISA=AVX2` and `ATEN_CPU_CAPABILITY=avx2` for PyTorch. "
        "`OPENBLAS_CORETYPE` set or unset changes NumPy's kernels alone (PyTorch does not use "
        "OpenBLAS): with `Haswell` on a machine with AVX-512, NumPy's products run on AVX2 while "
        "PyTorch's run on AVX-512, the setting of a machine where that variable is set.",
        "",
        *([f"{_measured_on(cnn)}.", ""] if "machine" in cnn else []),
        "| setting | contender | epoch seconds (median) | GFLOP/s | of peak | predict 10,000 "
        "(s) | time to 99% | accuracy per epoch | peak RSS (MB) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    ratios = []
    for setting in cnn["settings"]:
        rows = {row["contender"]: row for row in setting["rows"]}
        for row in rows.values():
            rate = cnn["flops"] / row["median_seconds"] / 1e9
            per_epoch = ", ".join(f"{a:.2%}" for a in row["accuracies"])
            lines.append(
                f"| {setting['label']} | {row['contender']} | {row['median_seconds']:.1f} | "
                f"{rate:.0f} | {rate / peak:.0%} | {row['predict_seconds']:.2f} | "
                f"{_time_to(0.99, row)} | {per_epoch} | {row['peak_rss_mb']:.0f} |"
            )
        shared = setting.get("threads")
        threads = f"; barenet's batches shared by {shared} threads" if shared else ""
        for ours in ("barenet CNN", "barenet CNN + numba", "barenet CNN (reference)"):
            if ours in rows:
                shards = "; one thread, no shards" if "reference" in ours else threads
                ratios.append(
                    f"- {ours}, {setting['label']} ({_blas_line(setting['blas'])}{shards}): "
                    f"training {_ratio(rows, ours, 'PyTorch CNN')}, prediction "
                    f"{_ratio(rows, ours, 'PyTorch CNN', 'predict_seconds')} "
                    + ("(no target)." if "reference" in ours else "(targets <= 1.0).")
                )
    return [*lines, "", "barenet / PyTorch:", "", *ratios]


def _to_99_section(to_99: dict[str, Any], cnn: dict[str, Any]) -> list[str]:
    """Epochs to 99% per seed and their median, and that median times each setting's epoch."""
    runs, most = to_99["runs"], to_99["max_epochs"]
    seeds = len(next(iter(runs.values())))
    labels = [setting["label"] for setting in cnn["settings"]]
    lines = [
        "",
        "### Epochs to 99%, over seeds",
        "",
        f"`benchmarks/to_99.py`: the same CNN and recipe with seeds 0-{seeds - 1} (initial "
        "weights and shuffling), each trained until its test accuracy first reaches "
        f'{to_99["target"]:.1%} (at most {most} epochs; "-" did not). barenet trains with its '
        "numba kernels (the same numbers but for rounding). The time to 99% of each setting is "
        "the median count times that setting's median epoch seconds in the race above.",
        "",
        *([f"{_measured_on(to_99)}.", ""] if "machine" in to_99 else []),
        "| contender | epochs per seed | median | "
        + " | ".join(f"time to 99%, {label}" for label in labels)
        + " |",
        "|---|---|---|" + "---|" * len(labels),
    ]
    counts = {name: median_epochs(seed_runs, most) for name, seed_runs in runs.items()}
    for setting_row in cnn["settings"][0]["rows"]:
        name = setting_row["contender"]
        # barenet's counts (made with its numba engine) stand for each of its contenders.
        counted = "barenet CNN" if name.startswith("barenet") else name
        if counted not in runs:
            continue
        per_seed = ", ".join(str(run["epochs"] or "-") for run in runs[counted])
        times = []
        for setting in cnn["settings"]:  # the reference engine raced in the first setting only
            row = next((r for r in setting["rows"] if r["contender"] == name), None)
            seconds = None if row is None else counts[counted] * row["median_seconds"]
            times.append("-" if seconds is None else f"{seconds:.0f} s")
        lines.append(f"| {name} | {per_seed} | {counts[counted]:g} | {' | '.join(times)} |")
    return lines


def _blas_variant_section(results: dict[str, Any]) -> list[str]:
    """The MLPs with OPENBLAS_CORETYPE as set and flipped, beside PyTorch, in one race."""
    variant = results["blas_variant"]
    as_is = results["OPENBLAS_CORETYPE"] or "(unset)"
    flipped = variant["OPENBLAS_CORETYPE"] or "(unset)"
    lines = [
        "",
        f"## The MLPs with OPENBLAS_CORETYPE={as_is} and ={flipped}",
        "",
        f"BLAS with OPENBLAS_CORETYPE={flipped}: {_blas_line(variant['blas'])}; peak matmul "
        f"{variant['peak_gflops']:.0f} GFLOP/s. barenet with each setting and PyTorch (which "
        "does not use OpenBLAS) take turns epoch by epoch in one race (median seconds):",
        "",
        "| network | barenet | PyTorch | barenet / PyTorch |",
        "|---|---|---|---|",
    ]
    names = {"as is": as_is, "flipped": flipped}
    for network in variant["networks"]:
        torch = network.get("PyTorch")
        torch_cell = f"{torch:.2f}" if torch else "-"
        for key in ("as is", "flipped", "as is + numba", "flipped + numba"):
            if key not in network:
                continue
            setting, _, numba = key.partition(" + ")
            label = f"OPENBLAS_CORETYPE={names[setting]}" + (" + numba" if numba else "")
            ratio = f"**{network[key] / torch:.2f}**" if torch else "-"
            lines.append(
                f"| {_network_name(network['layers'])} | {label}: {network[key]:.2f} | "
                f"{torch_cell} | {ratio} |"
            )
    return lines


def _cpu(machine: dict[str, Any]) -> str:
    """``CPU (family F, model M), N cores (AVX-512: yes; vector flags: avx avx2 ...)``."""
    numbers = (
        f" (family {machine['family']}, model {machine['model']})" if machine.get("family") else ""
    )
    flags = machine.get("vector_flags")
    listed = f"; vector flags: {' '.join(flags)}" if flags else ""
    avx512 = "yes" if machine["avx512"] else "no"
    return f"{machine['cpu']}{numbers}, {machine['cores']} cores (AVX-512: {avx512}{listed})"


def _measured_on(section: dict[str, Any]) -> str:
    """``Measured on DATE: CPU, cores (AVX-512); NumPy's BLAS: ...; OPENBLAS_CORETYPE=...``."""
    machine = section["machine"]
    return (
        f"Measured on {section['date']}: {_cpu(machine)}; NumPy's BLAS: "
        f"{_blas_line(section['blas'])}; "
        f"OPENBLAS_CORETYPE={section['OPENBLAS_CORETYPE'] or '(unset)'}"
    )


def _page_section(page: dict[str, Any]) -> list[str]:
    machine = page["machine"]
    lines = [
        "",
        "## The drawing page while drawing",
        "",
        "`benchmarks/page.py`: `barenet serve` on loopback and Debian's Chromium (headless, "
        'Playwright) at 1280x900 tracing 10 MNIST test digits stroke by stroke, with "Inside '
        'the network" open, so every answer comes from `/api/explain` and redraws every layer. '
        "The page times itself (User Timing): the round trip from sending the drawing to the "
        "parsed answer, and the time to draw all layers; long tasks are main-thread tasks over "
        "50 ms, counted by a PerformanceObserver.",
        "",
        f"Measured on {page['date']}: {machine['cpu']}, {machine['cores']} cores, browser and "
        "server on the same cores.",
        "",
        "| model | digits read right | answers per digit | round trip p50 / p95 (ms) | "
        "drawing the layers p50 / p95 (ms) | long tasks (longest) |",
        "|---|---|---|---|---|---|",
    ]
    for run in page["runs"]:
        lines.append(
            f"| {run['model']} | {run['correct']}/{run['digits']} | "
            f"{run['answers_per_digit']:.0f} | {run['round_trip_p50_ms']:.0f} / "
            f"{run['round_trip_p95_ms']:.0f} | {run['render_p50_ms']:.1f} / "
            f"{run['render_p95_ms']:.1f} | {run['long_tasks']} ({run['longest_task_ms']:.0f} ms) |"
        )
    return lines


def _shared_step(profile: dict[str, Any]) -> str:
    """How long the step takes as ``fit`` runs it by default, each batch shared by threads."""
    if not profile.get("threads") or profile["threads"] < 2:
        return ""
    return (
        f"; with each batch shared by {profile['threads']} threads (fit's default here, "
        f"`barenet.engine.sharding`; the layer times below are the one-thread step's): "
        f"**{profile['shared_step_ms']:.1f} ms**"
    )


def _profile_numba(profile: dict[str, Any]) -> list[str]:
    """The same steps with ``barenet.engine.use("numba")``, when it was measured."""
    if "numba" not in profile:
        return []
    numba = profile["numba"]
    return [
        'With the numba engine (`barenet.engine.use("numba")`: Adam\'s update, max pooling, '
        "the first convolution's weight gradient compiled; the second one's forward product a "
        "block of samples at a time, and its backward pass a compiled loop over the non-zero "
        "entries of its output gradient, which the max pooling after it leaves few): one thread "
        f"**{numba['step_ms']:.1f} ms**, shared by "
        f"{numba['threads']} threads **{numba['shared_step_ms']:.1f} ms**; per layer in the "
        "last column.",
        "",
    ]


def _profile_section(profile: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "## Where a CNN training step goes",
        "",
        "`benchmarks/profile_cnn.py`: the benchmark CNN (conv5x5x32-maxpool-conv5x5x64-maxpool-"
        f"fc128-fc10, Adam, float32) trained on batches of {profile['batch']} MNIST images, "
        f"{profile['steps']} steps after 5 warm-up ones, every layer's forward and backward timed "
        "on its own. FLOPs count 2 per multiply-add (elementwise layers: 1 per output); the "
        "first convolution computes no input gradient. MB: the layer's float32 input and output, "
        "the least it must move.",
        "",
        f"{_measured_on(profile)}. One step on one thread: "
        f"**{profile['step_ms']:.1f} ms**{_shared_step(profile)}. This machine's float32 "
        f"matrix-product peak through NumPy: {profile['peak_gflops']:.0f} GFLOP/s.",
        "",
        *_profile_numba(profile),
        "| layer | pass | ms per step | share of the step | GFLOP | GFLOP/s | % of peak | MB | "
        "ms with numba |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    compiled = {(r["layer"], r["pass"]): r["ms"] for r in profile.get("numba", {}).get("rows", [])}
    for row in sorted(profile["rows"], key=lambda row: -row["ms"]):
        if row["ms"] < 0.05:
            continue
        peak = 100 * row["gflop_per_s"] / profile["peak_gflops"]
        with_numba = compiled.get((row["layer"], row["pass"]))
        lines.append(
            f"| {row['layer']} | {row['pass']} | {row['ms']:.2f} | {100 * row['share']:.1f}% | "
            f"{row['gflops']:.3f} | {row['gflop_per_s']:.1f} | {peak:.0f}% | {row['mb']:.1f} | "
            + (f"{with_numba:.2f} |" if with_numba is not None else "- |")
        )
    lines.append("")
    lines.append("Parts under 0.05 ms per step (reshapes, the small dense layers) are left out.")
    return lines
