"""Benchmark of the evaluation stage: vectorised cross-correlation vs a per-pair ObsPy loop.

Run (a minute on 2 cores)::

    python benchmarks/evaluate.py                     # synthetic records
    python benchmarks/evaluate.py --store results/dataset/waveforms.zarr

Prints, measured in one run: pairs/s of :func:`seisembed.evaluate.association_baselines.cross_correlation_scores`
(3 components, 1-8 Hz, +-2 s) beside a loop calling ``obspy.signal.cross_correlation.correlate``
on the same band-passed records and pairs (target >= 20x), checks that both give the same
scores, and times the association statistics (threshold + event bootstrap, 1,000 replicates,
50,000 pairs) without the embedding.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def records(store: str | None, n: int) -> np.ndarray:
    if store:
        from seisembed.dataset.store import open_waveforms

        return np.asarray(open_waveforms(store)[:n], dtype=np.float32)
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 3, 7200)).astype(np.float32)


def obspy_loop(windows: np.ndarray, first: np.ndarray, second: np.ndarray, lag: int, per_pair: bool) -> np.ndarray:
    """Peak |cc| per pair with ObsPy's ``correlate``; ``per_pair``: filter both records for every pair
    (a loop over pairs as one would write it), else filter every record once first."""
    from obspy.signal.cross_correlation import correlate
    from scipy import signal

    sos = signal.butter(4, [1.0, 8.0], btype="bandpass", fs=40.0, output="sos")
    x = None if per_pair else signal.sosfiltfilt(sos, windows.astype(np.float64), axis=-1)
    out = np.empty(len(first))
    for k, (a, b) in enumerate(zip(first, second)):
        if per_pair:
            ra, rb = (signal.sosfiltfilt(sos, windows[i].astype(np.float64), axis=-1) for i in (a, b))
        else:
            ra, rb = x[a], x[b]
        out[k] = np.mean([np.abs(correlate(ra[c], rb[c], lag, demean=True, normalize="naive")).max() for c in range(3)])
    return out


def whole_evaluation(w: np.ndarray, rng) -> dict[str, float]:
    """Seconds of each evaluation step without the embedding, at 50,000 pairs per split."""
    import pandas as pd

    from seisembed.evaluate.association_baselines import SpectralLDA, cross_correlation_scores, spectral_features
    from seisembed.evaluate.discrimination import discrimination_trials
    from seisembed.evaluate.stats import best_threshold, summarise_split

    n_pairs, times = 50_000, {}
    first, second = rng.integers(len(w), size=(2, 2 * n_pairs))
    start = time.perf_counter()
    cc = cross_correlation_scores(w, first, second, rate_hz=40.0, band_hz=(1.0, 8.0), max_lag_s=2.0)
    times["cross-correlation"] = time.perf_counter() - start
    start = time.perf_counter()
    spec = {
        "rate_hz": 40.0,
        "p_sample": 1200,
        "windows_s": [[0, 11], [11, 60], [60, 150]],
        "n_bands": 20,
        "band_hz": (0.5, 19.0),
    }
    features = spectral_features(w, **spec)
    z = SpectralLDA(32).fit(features, np.arange(len(w)) // 5).transform(features)
    lda = -np.linalg.norm(z[first] - z[second], axis=1)
    times["spectral LDA"] = time.perf_counter() - start
    start = time.perf_counter()
    matched = np.r_[np.ones(n_pairs // 2, bool), np.zeros(n_pairs - n_pairs // 2, bool)]
    clusters = first[:n_pairs] // 5
    for scores in (cc, lda, -rng.random(2 * n_pairs)):
        threshold = best_threshold(np.nan_to_num(scores[n_pairs:]), matched)
        for part in (slice(0, n_pairs), slice(n_pairs, None)):
            summarise_split(np.nan_to_num(scores[part]), matched, clusters, threshold, 1000, seed=1)
    times["statistics"] = time.perf_counter() - start
    start = time.perf_counter()
    n = 2600
    emb = rng.normal(size=(n, 32))
    frame = pd.DataFrame(emb / np.linalg.norm(emb, axis=1, keepdims=True), columns=[f"emb_{k:02d}" for k in range(32)])
    frame["split"] = np.array(["train", "val", "test"])[np.arange(n) % 3]
    frame["source_type"] = np.where(rng.random(n) < 0.18, "explosion", "earthquake")
    for protocol in ("symmetric", "authors"):
        for k in (1, 3, 10):
            discrimination_trials(frame, k, protocol, 1000, seed=1)
    times["discrimination"] = time.perf_counter() - start
    times["total"] = sum(times.values())
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default=None, help="dataset store to take records from (default: synthetic)")
    parser.add_argument("--records", type=int, default=400)
    parser.add_argument("--pairs", type=int, default=4000, help="pairs for the vectorised method")
    parser.add_argument("--loop-pairs", type=int, default=300, help="pairs for the ObsPy loops")
    args = parser.parse_args(argv)
    from seisembed.evaluate.association_baselines import cross_correlation_scores
    from seisembed.evaluate.stats import best_threshold, summarise_split

    w = records(args.store, args.records)
    rng = np.random.default_rng(1)
    first, second = rng.integers(len(w), size=(2, args.pairs))
    start = time.perf_counter()
    fast = cross_correlation_scores(w, first, second, rate_hz=40.0, band_hz=(1.0, 8.0), max_lag_s=2.0)
    fast_rate = args.pairs / (time.perf_counter() - start)
    n = args.loop_pairs
    start = time.perf_counter()
    slow = obspy_loop(w, first[:n], second[:n], 80, per_pair=False)
    slow_rate = n / (time.perf_counter() - start)
    start = time.perf_counter()
    naive = obspy_loop(w, first[:n], second[:n], 80, per_pair=True)
    naive_rate = n / (time.perf_counter() - start)
    agree = float(max(np.nanmax(np.abs(slow - fast[:n])), np.nanmax(np.abs(naive - fast[:n]))))
    print(
        f"cross-correlation: vectorised {fast_rate:,.0f} pairs/s; ObsPy loop with records filtered once "
        f"{slow_rate:,.1f} pairs/s = {fast_rate / slow_rate:,.1f}x; ObsPy loop filtering per pair {naive_rate:,.1f} "
        f"pairs/s = {fast_rate / naive_rate:,.1f}x (target >= 20x); largest score difference {agree:.2e}"
    )
    m = 50_000
    score = rng.normal(size=m) + np.r_[np.ones(m // 2), np.zeros(m - m // 2)]
    matched = np.r_[np.ones(m // 2, bool), np.zeros(m - m // 2, bool)]
    clusters = rng.integers(2000, size=m)
    start = time.perf_counter()
    threshold = best_threshold(score, matched)
    summarise_split(score, matched, clusters, threshold, 1000, seed=1)
    stats_s = time.perf_counter() - start
    print(
        f"association statistics, 50,000 pairs, 1,000 event-bootstrap replicates: {stats_s:.1f} s per method and split"
    )
    whole = whole_evaluation(w, rng)
    print(
        "whole evaluation without embedding, 50,000 test pairs (+ 50,000 val pairs for the thresholds), 3 methods, "
        "1,000 replicates, 2 x 3 x 1,000 discrimination trials: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in whole.items())
        + " (target <= 30 s)"
    )
    print(
        json.dumps(
            {
                "cc_vectorised_pairs_s": fast_rate,
                "cc_obspy_loop_prefiltered_pairs_s": slow_rate,
                "cc_obspy_loop_per_pair_pairs_s": naive_rate,
                "speedup_prefiltered": fast_rate / slow_rate,
                "speedup_per_pair": fast_rate / naive_rate,
                "max_difference": agree,
                "stats_seconds": stats_s,
                "whole_evaluation_seconds": whole,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
