"""Benchmark of similarity search and of ``seisembed embed``.

Run (a few minutes on 2 cores; the 1M-vector HNSW build is most of it)::

    python benchmarks/search.py                            # 10k, 100k, 1M vectors
    python benchmarks/search.py --sizes 10000 100000       # quicker
    python benchmarks/search.py --embed                    # + seisembed embed on the default archive

Search: synthetic unit vectors shaped like an archive's embeddings (32-d, events of
``--per-event`` records scattered around an event direction, so neighbours are
meaningful), ``--queries`` query records drawn from the archive. For each size it
prints, measured in one run: exact search (scikit-learn brute force, what ``seisembed
similar`` uses by default) queries/s; the FAISS HNSW index's build seconds, queries/s
and recall@10 against the exact answer (the share of the exact 10 nearest records the
approximate search returns), at ``ef_search`` 32, 64 and 128.

``--embed``: windows/s of ``seisembed embed``'s path (SDS archive -> QC -> window ->
embedding) on the default study's archive with the default run's model: cutting and
embedding timed apart, for ``--records`` picks of the catalogue.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def archive(n: int, dim: int, per_event: int, seed: int = 0, spread: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """``n`` unit vectors (float32) in events of ``per_event`` records, and their event ids."""
    rng = np.random.default_rng(seed)
    events = np.arange(n) // per_event
    centres = rng.normal(size=(events[-1] + 1, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = centres[events] + (spread / np.sqrt(dim)) * rng.normal(size=(n, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), events


def search_figures(n: int, dim: int, per_event: int, n_queries: int, threads: int) -> dict:
    import faiss
    from sklearn.neighbors import NearestNeighbors

    x, _ = archive(n, dim, per_event)
    rng = np.random.default_rng(1)
    q = x[rng.choice(n, n_queries, replace=False)]
    nn = NearestNeighbors(n_neighbors=10, algorithm="brute", metric="euclidean", n_jobs=threads).fit(x)
    t = time.perf_counter()
    _, exact = nn.kneighbors(q)
    exact_s = time.perf_counter() - t
    faiss.omp_set_num_threads(threads)
    index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_L2)
    index.hnsw.efConstruction = 200
    t = time.perf_counter()
    index.add(x)
    build_s = time.perf_counter() - t
    out = {
        "vectors": n,
        "dim": dim,
        "queries": n_queries,
        "exact_queries_per_s": round(n_queries / exact_s, 1),
        "hnsw_build_s": round(build_s, 1),
        "hnsw": {},
    }
    for ef in (32, 64, 128):
        index.hnsw.efSearch = ef
        t = time.perf_counter()
        _, approx = index.search(q, 10)
        s = time.perf_counter() - t
        recall = float(np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact)]))
        out["hnsw"][f"ef_search={ef}"] = {
            "queries_per_s": round(n_queries / s, 1),
            "recall_at_10": round(recall, 4),
            "speed_up_vs_exact": round(exact_s / s, 1),
        }
    print(json.dumps(out), flush=True)
    return out


def embed_figures(records: int, model: str, config: str) -> dict:
    from seisembed.config import load_config
    from seisembed.use.embedder import Embedder
    from seisembed.use.picks import read_picks
    from seisembed.waveforms.sds import SDSSource

    cfg = load_config(config)
    synthetic = cfg["synthetic"]["output_dir"]
    picks = read_picks("results/catalog/arrivals.parquet").head(records)
    embedder = Embedder.load(model)
    source = SDSSource(f"{synthetic}/sds", f"{synthetic}/stations.xml")
    t = time.perf_counter()
    windows, _, qc = embedder.cut_windows(picks, source)
    cut_s = time.perf_counter() - t
    embedder.embed_windows(windows[:8])  # warm-up (graph tracing), untimed
    t = time.perf_counter()
    embedder.embed_windows(windows)
    emb_s = time.perf_counter() - t
    out = {
        "picks": int(len(picks)),
        "windows": int(len(windows)),
        "cut_windows_per_s": round(len(picks) / cut_s, 1),
        "embed_windows_per_s": round(len(windows) / emb_s, 1),
        "end_to_end_windows_per_s": round(len(windows) / (cut_s + emb_s), 1),
        "qc": qc["qc_status"].value_counts().to_dict(),
    }
    print(json.dumps(out), flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--dim", type=int, default=32, help="embedding length (the presets' 32)")
    parser.add_argument("--per-event", type=int, default=8, help="records per event")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--embed", action="store_true", help="also time seisembed embed on the default archive")
    parser.add_argument("--records", type=int, default=1500, help="picks to embed with --embed")
    parser.add_argument("--model", default="results/model/model.keras")
    parser.add_argument("--configfile", default="config.yaml")
    args = parser.parse_args(argv)
    for n in args.sizes:
        search_figures(n, args.dim, args.per_event, args.queries, args.threads)
    if args.embed:
        embed_figures(args.records, args.model, args.configfile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
