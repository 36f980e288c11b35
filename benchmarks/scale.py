"""Benchmark of the Dask path: dataset assembly and embedding on 1 and 2 LocalCluster workers.

Run (about 10 minutes on 2 cores, ~5 GB of scratch disk)::

    python benchmarks/scale.py                          # 5k and 50k windows, 1 and 2 workers
    python benchmarks/scale.py --sizes 5000 20000       # quicker

Prints, measured in one run on the same synthetic partitions (seismogram-like windows of
7200 x 3 samples, ``seisembed.dataset.testing``):

- assembly (``build_dataset`` with ``dask.local_workers`` = 1, 2; and in-process threads)
  records/s, and each worker's peak resident memory (VmHWM, read on the workers after the
  build): it must stay flat as the store grows from the smallest to the largest size;
- embedding of the smallest store (``embed_store`` with ``dask.local_workers`` = 1, 2;
  the demo model, untrained: the speed does not depend on the weights) windows/s and
  worker peak memory.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dataset import make_inputs  # noqa: E402  (benchmarks/dataset.py: the same synthetic partitions)

from seisembed.provenance import peak_rss_mb  # noqa: E402


def _worker_peaks(workers: int, run) -> tuple[float, list[float]]:
    """Seconds of ``run(dask_section)`` on a fresh LocalCluster and its workers' peak RSS (MB)."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, memory_limit="6GiB", dashboard_address=None)
    client = Client(cluster)
    try:
        start = time.perf_counter()
        run({"scheduler_address": cluster.scheduler_address})
        seconds = time.perf_counter() - start
        peaks = sorted(client.run(peak_rss_mb).values())
    finally:
        client.close()
        cluster.close()
    return seconds, [round(p) for p in peaks]


def assembly(root: Path, out: Path, workers: int | None) -> dict:
    from seisembed.config import default_config
    from seisembed.dataset.build import build_dataset

    config = default_config()
    config["dataset"]["held_out_stations"]["count"] = 5
    shutil.rmtree(out, ignore_errors=True)
    if workers is None:
        start = time.perf_counter()
        result = build_dataset(root, out, config, threads=2)
        return {
            "records": len(result.frame),
            "workers": "in-process (2 threads)",
            "seconds": time.perf_counter() - start,
        }
    box = {}

    def run(section):
        config["dask"] = section
        box["result"] = build_dataset(root, out, config)

    seconds, peaks = _worker_peaks(workers, run)
    return {"records": len(box["result"].frame), "workers": workers, "seconds": seconds, "worker_peak_mb": peaks}


def embedding(store: Path, model: Path, workers: int) -> dict:
    from seisembed.evaluate.association import embed_store

    box = {}

    def run(section):
        box["frame"] = embed_store(store, model, batch=256, dask_config={**section, "embed_block_traces": 1024})

    seconds, peaks = _worker_peaks(workers, run)
    n = len(box["frame"])
    return {
        "windows": n,
        "workers": workers,
        "seconds": round(seconds, 1),
        "windows_per_s": round(n / seconds, 1),
        "worker_peak_mb": peaks,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 50000], help="windows per store")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--scratch", help="scratch folder (default: a temporary one, removed after)")
    args = parser.parse_args(argv)
    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="seisembed-scale-"))
    try:
        smallest = None
        for size in sorted(args.sizes):
            root = scratch / f"wf-{size}"
            n = make_inputs(root, size, seed=size)
            for workers in [None, *args.workers]:
                fig = assembly(root, scratch / f"store-{size}.zarr", workers)
                fig["records_per_s"] = round(fig["records"] / fig["seconds"], 1)
                fig["seconds"] = round(fig["seconds"], 1)
                print(json.dumps({"assembly": {"windows_in": n, **fig}}), flush=True)
            if smallest is None:
                smallest = scratch / f"store-{size}.zarr"
            else:
                shutil.rmtree(scratch / f"store-{size}.zarr", ignore_errors=True)
            shutil.rmtree(root, ignore_errors=True)
        from seisembed.config import section
        from seisembed.train.model import build_model

        model = scratch / "demo.keras"
        build_model(section("model", {}), n_samples=7200, seed=0).save(model)
        for workers in args.workers:
            print(json.dumps({"embedding": embedding(smallest, model, workers)}), flush=True)
    finally:
        if not args.scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
