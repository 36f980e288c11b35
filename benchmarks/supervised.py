"""Benchmark of the supervised classifiers' inputs: SVM-36 features and SRSpec-CNN spectrograms.

Run (under a minute on 2 cores, after the default run built the store)::

    python benchmarks/supervised.py                                 # the default test split
    python benchmarks/supervised.py --store results/dataset/waveforms.zarr --split val
    python benchmarks/supervised.py --synthetic 2000                # no store needed

Prints, measured in one run on the same in-memory windows: seconds and ms per window of
the vectorised SVM-36 features (:func:`seisembed.evaluate.supervised.svm_features`,
target: the whole default test split in <= 10 s on 2 cores) beside a per-record,
per-band, per-window loop written the obvious way (ObsPy ``Trace.filter`` and NumPy
sums), checking both give the same features; and the SRSpec spectrograms' seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from seisembed.config import validate_config


def load(store: str | None, split: str, synthetic: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Windows ``(n, 3, samples)``, P samples, distances (deg) and the sampling rate."""
    if synthetic:
        rng = np.random.default_rng(0)
        x = rng.normal(size=(synthetic, 3, 7200)).astype(np.float32)
        return x, np.full(synthetic, 1200), rng.uniform(0.5, 30, synthetic), 40.0
    from seisembed.dataset.store import open_waveforms, read_traces
    from seisembed.evaluate.supervised import store_metadata

    meta = store_metadata(store)
    positions = np.flatnonzero(meta["split"].to_numpy() == split)
    x = read_traces(open_waveforms(store), positions)
    return (
        x,
        meta["trace_p_arrival_sample"].to_numpy()[positions],
        meta["path_ep_distance_deg"].to_numpy()[positions],
        meta.attrs["sampling_rate_hz"],
    )


def loop_features(x, p_sample, distance, rate: float, svm: dict, n: int) -> np.ndarray:
    """The same features for the first ``n`` records, one record, band and window at a time (ObsPy filters)."""
    from obspy import Trace

    from seisembed.evaluate.supervised import svm_windows
    from seisembed.traveltimes import TravelTimeTable

    times = TravelTimeTable.load().lookup(distance[:n], np.full(n, svm["source_depth_km"]))
    bounds = svm_windows(p_sample[:n], times["ts_s"] - times["tp_s"], rate_hz=rate, n_samples=x.shape[-1],
                         window_min_s=svm["window_min_s"], window_max_s=svm["window_max_s"],
                         min_window_s=svm["min_window_s"])  # fmt: skip
    out = np.full((n, 4 * len(svm["bands_hz"])), np.nan)
    for i in range(n):
        for b, (lo, hi) in enumerate(svm["bands_hz"]):
            energy = 0.0
            filtered = []
            for c in range(3):
                tr = Trace(x[i, c].astype(np.float64) - x[i, c].mean(), header={"sampling_rate": rate})
                tr.filter("bandpass", freqmin=lo, freqmax=hi, corners=svm["filter_order"], zerophase=True)
                filtered.append(tr.data)
            energy = sum(f**2 for f in filtered)
            for w in range(4):
                s, e = bounds["start"][i, w], bounds["end"][i, w]
                if not bounds["missing"][i, w]:
                    out[i, w * len(svm["bands_hz"]) + b] = np.log10(energy[s:e].mean() + 1e-30)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default="results/dataset/waveforms.zarr", help="dataset store (%(default)s)")
    parser.add_argument("--split", default="test", help="split to time (%(default)s)")
    parser.add_argument("--synthetic", type=int, default=0, help="time N random records instead of a store")
    parser.add_argument("--loop-records", type=int, default=40, help="records for the per-record loop (%(default)s)")
    args = parser.parse_args(argv)

    from seisembed.evaluate.supervised import spectrograms, svm_features
    from seisembed.traveltimes import TravelTimeTable

    ev = validate_config({})["evaluate"]
    x, p_sample, distance, rate = load(args.store, args.split, args.synthetic)
    table = TravelTimeTable.load()
    t0 = time.perf_counter()
    feats = svm_features(x, p_sample, distance, rate_hz=rate, svm=ev["svm"], table=table)
    vector_s = time.perf_counter() - t0
    n_loop = min(args.loop_records, len(x))
    t0 = time.perf_counter()
    looped = loop_features(x, p_sample, distance, rate, ev["svm"], n_loop)
    loop_s = time.perf_counter() - t0
    np.testing.assert_allclose(feats["features"][:n_loop], looped, atol=2e-3, equal_nan=True)
    t0 = time.perf_counter()
    for s in range(0, len(x), 256):
        spectrograms(x[s : s + 256], rate_hz=rate, srspec=ev["srspec"])
    spec_s = time.perf_counter() - t0
    result = {
        "records": int(len(x)),
        "source": f"synthetic {args.synthetic}" if args.synthetic else f"{args.store} split {args.split}",
        "svm36_features_s": round(vector_s, 3),
        "svm36_features_ms_per_window": round(1e3 * vector_s / len(x), 3),
        "svm36_loop_ms_per_window": round(1e3 * loop_s / n_loop, 3),
        "speed_up_vs_loop": round((loop_s / n_loop) / (vector_s / len(x)), 1),
        "target_whole_split_s": 10.0,
        "within_target": bool(vector_s <= 10.0),
        "records_with_missing_window": int(feats["missing"].any(axis=1).sum()),
        "srspec_spectrograms_s": round(spec_s, 3),
        "srspec_spectrograms_ms_per_window": round(1e3 * spec_s / len(x), 3),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
