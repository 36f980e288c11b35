"""Benchmark of the dataset stage: assembly, memory, layout, sampler, and the training step it feeds.

Run (about 3-5 minutes on 2 cores, ~4 GB of scratch disk)::

    python benchmarks/dataset.py                 # everything
    python benchmarks/dataset.py --no-train      # skip the TensorFlow training-step figure

Prints, in one run:

- assembly throughput (records/s) of ``build_dataset`` beside the raw decode rate
  of the same partitions (reading ``windows.npy`` rows into memory);
- peak resident memory of a build of N_small vs N_large records (each build in
  a fresh process; it must not grow with the dataset);
- the storage layouts compared on the small set (chunk/shard/codec: build
  rate, compression ratio, sampler windows/s through zarr-python) — the figures
  behind the default layout documented in ``seisembed.dataset.build``;
- sampler throughput: L=10 x K=8 batches (windows/s) from the large store through
  zarr-python (read-ahead and serial) and from the in-memory cache
  (``sampling.cache: memory``); targets >= 3,000 and >= 20,000 windows/s;
- the training step time of a paper-size keras-tcn model (50 filters, kernel 16,
  2 stacks, dilations 2, 4, 16, 256; batch of 100 windows) on this machine.

Windows are seismogram-like synthetic data (``seisembed.dataset.testing``); the
partition files are in the page cache when read (as they are right after the
waveform stage), so the figures are CPU-bound rates.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUILD_CHILD = r"""
import json, sys, time

from seisembed.provenance import peak_rss_mb as peak_mb

from seisembed.dataset.build import build_dataset
from seisembed.config import default_config
root, out, overrides = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
config = default_config()
config["dataset"]["held_out_stations"]["count"] = 5
config["dataset"].update(overrides)
import xarray, zarr, dask.array  # count library imports in the baseline
base = peak_mb()
t = time.perf_counter()
result = build_dataset(root, out, config, threads=2)
elapsed = time.perf_counter() - t
print(json.dumps({"records": len(result.frame), "windows_in": int(result.inputs["windows_in"]), "seconds": elapsed,
                  "maxrss_mb": peak_mb(), "rss_after_imports_mb": base}))
"""


def make_inputs(root: Path, n_records: int, seed: int) -> int:
    """Write waveform partitions with about ``n_records`` windows; return the exact count."""
    from seisembed.dataset.testing import synthetic_metadata, write_partitions

    n_events = max(30, int(n_records / 19))  # ~19 records per event (8..30)
    meta = synthetic_metadata(n_events, n_stations=120, records_per_event=(8, 30), seed=seed, box_events=5)
    write_partitions(root, meta, seed=seed)
    return len(meta)


def raw_decode_rate(root: Path) -> float:
    """Records/s of reading every partition's ``windows.npy`` rows (512 at a time) into memory."""
    from seisembed.dataset.inputs import iter_blocks, open_partition

    start, n = time.perf_counter(), 0
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        part, _ = open_partition(folder)
        for _, block in iter_blocks(part, 512):
            n += len(block)
            float(block[:, 0, 0].sum())
    return n / (time.perf_counter() - start)


def build(root: Path, out: Path, overrides: dict | None = None) -> dict:
    """Run one build in a fresh process; return its figures."""
    shutil.rmtree(out, ignore_errors=True)
    proc = subprocess.run(
        [sys.executable, "-c", BUILD_CHILD, str(root), str(out), json.dumps(overrides or {})],
        capture_output=True,
        text=True,
    )
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def store_ratio(store: Path) -> float:
    """Raw float32 bytes / stored bytes of the ``waveform`` array."""
    from seisembed.dataset.store import open_waveforms

    array = open_waveforms(store)
    stored = sum(f.stat().st_size for f in (store / "waveform").rglob("*") if f.is_file())
    return array.nbytes / stored


def sampler_rate(store: Path, batches: int, **kwargs) -> float:
    """Windows/s of L=10 x K=8 batches (after one warm-up batch; a memory cache is filled before timing)."""
    from seisembed.train.sampler import TripletSampler

    with TripletSampler(
        store, "train", events_per_batch=10, records_per_event=8, seed=1, batches_per_epoch=batches + 1, **kwargs
    ) as sampler:
        sampler.batch(0, 0)
        start = time.perf_counter()
        n = sum(len(sampler.batch(0, i)[0]) for i in range(1, batches + 1))
        return n / (time.perf_counter() - start)


def training_step_seconds(store: Path, steps: int) -> tuple[float, int] | None:
    """Seconds per training step (batch of 100 windows) of a paper-size keras-tcn model, and its parameter count."""
    try:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras
        from tcn import TCN
    except ImportError:
        return None
    from seisembed.train.sampler import TripletSampler

    inputs = keras.Input((7200, 3))
    hidden = TCN(nb_filters=50, kernel_size=16, nb_stacks=2, dilations=[2, 4, 16, 256], return_sequences=False)(inputs)
    outputs = keras.layers.UnitNormalization()(keras.layers.Dense(32)(hidden))
    model = keras.Model(inputs, outputs)

    def batch_hard(y_true, y_pred, margin=0.2):
        ops = keras.ops
        y = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        dot = ops.matmul(y_pred, ops.transpose(y_pred))
        dist = ops.sqrt(ops.maximum(2.0 - 2.0 * dot, 1e-12))
        same = ops.cast(ops.equal(y[:, None], y[None, :]), "float32")
        hardest_pos = ops.max(dist * same, axis=1)
        hardest_neg = ops.min(dist + 4.0 * same, axis=1)
        return ops.mean(ops.maximum(hardest_pos - hardest_neg + margin, 0.0))

    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=batch_hard)
    with TripletSampler(
        store, "train", events_per_batch=10, records_per_event=10, seed=1, batches_per_epoch=steps + 1
    ) as sampler:
        x, y = sampler.batch(0, 0)
        model.train_on_batch(x, y)  # compile + first step
        start = time.perf_counter()
        for i in range(1, steps + 1):
            x, y = sampler.batch(0, i)
            model.train_on_batch(x, y)
        return (time.perf_counter() - start) / steps, model.count_params()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=5000, help="records of the small set (default %(default)s)")
    parser.add_argument("--large", type=int, default=20000, help="records of the large set (default %(default)s)")
    parser.add_argument("--batches", type=int, default=60, help="sampler batches timed (default %(default)s)")
    parser.add_argument("--steps", type=int, default=2, help="training steps timed (default %(default)s)")
    parser.add_argument("--no-train", action="store_true", help="skip the training-step figure")
    parser.add_argument("--no-layouts", action="store_true", help="skip the layout comparison")
    parser.add_argument("--workdir", default=None, help="scratch folder (default: a temporary one, removed)")
    args = parser.parse_args(argv)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="seisembed-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict = {"cpu_count": os.cpu_count()}
    try:
        print(f"# seisembed dataset benchmark ({os.cpu_count()} CPUs), scratch {work}", flush=True)
        sizes = {}
        for label, n in (("small", args.small), ("large", args.large)):
            t = time.perf_counter()
            sizes[label] = make_inputs(work / f"waveforms-{label}", n, seed=1 if label == "small" else 2)
            print(f"generated {sizes[label]:,} {label} input windows in {time.perf_counter() - t:.0f} s", flush=True)

        print("\n## Assembly (build_dataset, default layout, 2 threads)")
        print(
            f"{'set':>6} {'windows':>8} {'raw decode rec/s':>17} {'assembly rec/s':>15} {'peak RSS MB':>12} {'RSS after imports MB':>21}"
        )
        for label in ("small", "large"):
            root = work / f"waveforms-{label}"
            raw = raw_decode_rate(root)
            fig = build(root, work / f"{label}.zarr")
            rate = fig["windows_in"] / fig["seconds"]
            results[f"assembly_{label}"] = {**fig, "raw_decode_rec_s": raw, "assembly_rec_s": rate}
            print(
                f"{label:>6} {fig['windows_in']:>8,} {raw:>17,.0f} {rate:>15,.0f} {fig['maxrss_mb']:>12,.0f} {fig['rss_after_imports_mb']:>21,.0f}",
                flush=True,
            )

        if not args.no_layouts:
            print("\n## Layouts on the small set (chunk traces / shard traces / codec), sampler through zarr-python")
            print(
                f"{'layout':>16} {'ratio':>6} {'build rec/s':>12} {'sampler win/s':>14} {'files per 100k traces':>22}"
            )
            layouts = [
                (16, 0, "lz4"),
                (8, 0, "lz4"),
                (4, 0, "lz4"),
                (32, 0, "lz4"),
                (16, 256, "lz4"),
                (4, 256, "lz4"),
                (16, 0, "zstd"),
                (16, 0, "none"),
            ]
            for chunk, shard, codec in layouts:
                store = work / f"layout-{chunk}-{shard}-{codec}.zarr"
                overrides = {
                    "chunk_traces": chunk,
                    "shard_traces": shard,
                    "compressor": codec,
                    "compression_level": 3 if codec == "zstd" else 5,
                }
                fig = build(work / "waveforms-small", store, overrides)
                rate = sampler_rate(store, args.batches // 2)
                name = f"{chunk}/{shard or '-'}/{codec}"
                files = 100_000 // (shard or chunk)
                results.setdefault("layouts", {})[name] = {
                    "ratio": store_ratio(store),
                    "build_rec_s": fig["windows_in"] / fig["seconds"],
                    "sampler_win_s": rate,
                    "files_per_100k": files,
                }
                print(
                    f"{name:>16} {store_ratio(store):>6.2f} {fig['windows_in'] / fig['seconds']:>12,.0f} "
                    f"{rate:>14,.0f} {files:>22,}",
                    flush=True,
                )
                shutil.rmtree(store, ignore_errors=True)

        store = work / "large.zarr"
        print("\n## Sampler, L=10 x K=8 from the large store (default layout)")
        for name, kwargs in (
            ("zarr-python, read-ahead 2 threads", {"prefetch": 2, "threads": 2}),
            ("zarr-python, read-ahead 4 threads", {"prefetch": 4, "threads": 4}),
            ("zarr-python, serial", {"prefetch": 0}),
            ("memory cache, read-ahead 2 threads", {"prefetch": 2, "threads": 2, "cache": "memory"}),
            ("memory cache, serial", {"prefetch": 0, "cache": "memory"}),
        ):
            rate = sampler_rate(store, args.batches, **kwargs)
            results.setdefault("sampler", {})[name] = rate
            print(f"{name:>36}: {rate:>8,.0f} windows/s = {rate / 80:>6.1f} batches/s", flush=True)
        print("targets: >= 3,000 windows/s streamed from the store, >= 20,000 from memory")

        if not args.no_train:
            print("\n## Training step of the paper-size keras-tcn model (100 windows/step, CPU)")
            step = training_step_seconds(store, args.steps)
            if step is None:
                print("keras/tensorflow/keras-tcn not installed: skipped (pip install -e .[train])")
            else:
                seconds, params = step
                results["train_step_s"] = seconds
                print(
                    f"{params:,} parameters: {seconds:.2f} s/step = {100 / seconds:,.1f} windows/s consumed; sampler headroom x{results['sampler']['zarr-python, read-ahead 2 threads'] / (100 / seconds):,.0f}"
                )
        print("\n" + json.dumps(results, default=float))
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
