"""Benchmark of SeisBench export and import: records/s and peak memory, a real store and a large synthetic one.

Run (2 cores; the 50k-trace store takes ~20 GB of scratch disk and ~15 minutes)::

    python benchmarks/seisbench.py                                   # results/dataset/waveforms.zarr + 50k synthetic
    python benchmarks/seisbench.py STORE --synthetic 20000           # another store, a smaller synthetic one
    python benchmarks/seisbench.py --quick                           # 2k synthetic traces only, about a minute

Prints, for each store (each step in a fresh process, so its peak resident memory is its own):

- export (``seisembed.dataset.seisbench_export.export_seisbench``, buckets of 1024 traces):
  records/s and peak RSS (MB);
- import (``seisembed.dataset.seisbench_import.build_from_seisbench`` of that export, 2
  threads: metadata checks, the scan reading every window once, the Zarr store written
  and hashed): records/s and peak RSS (MB).

Memory must stay bounded by a bucket, not grow with the store: compare the peak RSS of
the small and the large store (both have traces of 3 x 7200 float32 = 86 kB; a bucket of
1024 traces is 88 MB). The synthetic store is built from seismogram-like partitions
(``seisembed.dataset.testing``, as benchmarks/dataset.py) by ``build_dataset``.
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

EXPORT_CHILD = r"""
import json, sys, time
from seisembed.provenance import peak_rss_mb
from seisembed.dataset.seisbench_export import export_seisbench
import h5py, pandas, xarray, zarr  # count library imports in the baseline
store, out, bucket = sys.argv[1], sys.argv[2], int(sys.argv[3])
base = peak_rss_mb()
t = time.perf_counter()
result = export_seisbench(store, out, bucket_size=bucket)
seconds = time.perf_counter() - t
print(json.dumps({"records": result.traces, "seconds": seconds, "maxrss_mb": peak_rss_mb(), "rss_after_imports_mb": base}))
"""

IMPORT_CHILD = r"""
import json, sys, time
from seisembed.provenance import peak_rss_mb
from seisembed.config import default_config
from seisembed.dataset.store import store_attributes
from seisembed.dataset.seisbench_import import build_from_seisbench
import dask.array, h5py, pandas, scipy.signal, xarray, zarr  # count library imports in the baseline
folder, store, out = sys.argv[1], sys.argv[2], sys.argv[3]
attrs = store_attributes(store)
config = default_config()
config["waveforms"].update(
    sampling_rate_hz=attrs["sampling_rate_hz"], window_before_s=attrs["window_before_s"], window_after_s=attrs["window_after_s"]
)
config["dataset"]["source"] = "seisbench"
config["dataset"]["min_records_per_event"] = {"train": 1, "val": 1, "test": 1}
base = peak_rss_mb()
t = time.perf_counter()
result = build_from_seisbench(folder, out, config, threads=2)
seconds = time.perf_counter() - t
print(json.dumps({"records": int(result.inputs["windows_in"]), "kept": len(result.frame), "seconds": seconds,
                  "maxrss_mb": peak_rss_mb(), "rss_after_imports_mb": base}))
"""


def child(code: str, *args: str) -> dict:
    """Run one step in a fresh Python; return its JSON figures."""
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def synthetic_store(work: Path, n_records: int) -> Path:
    """A dataset store of about ``n_records`` seismogram-like traces (built by ``build_dataset``)."""
    from seisembed.config import default_config
    from seisembed.dataset.build import build_dataset
    from seisembed.dataset.testing import synthetic_metadata, write_partitions

    root = work / f"waveforms-{n_records}"
    n_events = max(30, int(n_records / 19))  # ~19 records per event (8..30)
    meta = synthetic_metadata(n_events, n_stations=120, records_per_event=(8, 30), seed=1, box_events=5)
    write_partitions(root, meta, seed=1)
    config = default_config()
    config["dataset"]["held_out_stations"]["count"] = 5
    store = work / f"synthetic-{n_records}.zarr"
    build_dataset(root, store, config, threads=2)
    shutil.rmtree(root)  # the partitions are not needed any more (disk)
    return store


def measure(label: str, store: Path, work: Path, bucket: int) -> dict:
    """Export ``store`` and import the export, each in a fresh process; print and return the figures."""
    folder = work / f"{label}-seisbench"
    export = child(EXPORT_CHILD, str(store), str(folder), str(bucket))
    size_mb = sum(f.stat().st_size for f in folder.iterdir()) / 1e6
    imported = child(IMPORT_CHILD, str(folder), str(store), str(work / f"{label}-imported.zarr"))
    row = {
        "store": str(store),
        "traces": export["records"],
        "seisbench_mb": size_mb,
        "export_rec_s": export["records"] / export["seconds"],
        "export_peak_rss_mb": export["maxrss_mb"],
        "export_rss_after_imports_mb": export["rss_after_imports_mb"],
        "import_rec_s": imported["records"] / imported["seconds"],
        "import_kept": imported["kept"],
        "import_peak_rss_mb": imported["maxrss_mb"],
        "import_rss_after_imports_mb": imported["rss_after_imports_mb"],
    }
    print(
        f"{label:>10} {row['traces']:>8,} {size_mb:>9,.0f} {row['export_rec_s']:>12,.0f} "
        f"{row['export_peak_rss_mb']:>10,.0f} ({row['export_rss_after_imports_mb']:>4,.0f}) "
        f"{row['import_rec_s']:>12,.0f} {row['import_peak_rss_mb']:>10,.0f} ({row['import_rss_after_imports_mb']:>4,.0f})",
        flush=True,
    )
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(work / f"{label}-imported.zarr", ignore_errors=True)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "store",
        nargs="?",
        default="results/dataset/waveforms.zarr",
        help="a dataset store to export and import (default: %(default)s; skipped when absent)",
    )
    parser.add_argument(
        "--synthetic", type=int, default=50_000, help="traces of the synthetic store (0: none; default %(default)s)"
    )
    parser.add_argument("--quick", action="store_true", help="only a 2,000-trace synthetic store (about a minute)")
    parser.add_argument("--bucket-size", type=int, default=1024, help="traces per bucket (default %(default)s)")
    parser.add_argument("--workdir", default=None, help="scratch folder (default: a temporary one, removed)")
    args = parser.parse_args(argv)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="seisembed-bench-seisbench-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict = {"cpu_count": os.cpu_count(), "bucket_size": args.bucket_size, "stores": {}}
    try:
        print(f"# seisembed SeisBench export/import benchmark ({os.cpu_count()} CPUs), scratch {work}", flush=True)
        stores: list[tuple[str, Path]] = []
        if not args.quick and Path(args.store).exists():
            stores.append(("store", Path(args.store)))
        elif not args.quick:
            print(f"{args.store} does not exist: skipped (build it with snakemake --until build_dataset)")
        n = 2000 if args.quick else args.synthetic
        if n:
            t = time.perf_counter()
            stores.append((f"synth-{n // 1000}k", synthetic_store(work, n)))
            print(f"built the synthetic store of ~{n:,} traces in {time.perf_counter() - t:.0f} s", flush=True)
        print(f"\n## Export and import (buckets of {args.bucket_size}); peak RSS MB (after imports MB)")
        print(
            f"{'store':>10} {'traces':>8} {'folder MB':>9} {'export rec/s':>12} {'export RSS':>17} "
            f"{'import rec/s':>12} {'import RSS':>17}"
        )
        for label, store in stores:
            results["stores"][label] = measure(label, store, work, args.bucket_size)
        print("\n" + json.dumps(results, default=float))
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
