"""The runtime table (paper Table VI): milliseconds per window to embed vs to extract features.

Measured in one run, on one machine, on the same in-memory val and test windows (reading
the store is not timed): the trained model's embedding (batches of
``evaluate.embed_batch``, after one warm-up batch), the SVM-36 spectral features and the
SRSpec-CNN spectrograms (:mod:`seisembed.evaluate.supervised`). Each method makes
``evaluate.runtime_repeats`` passes over a split; the fastest is reported (the least
disturbed by other work on the machine). The device is named in the table: the paper's
1.8 ms (embedding, GTX 1080 Ti GPU) vs 7.6 ms (spectral features) came from a GPU and an
unstated CPU; ours from whatever ran the rule.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np

from seisembed import paper
from seisembed.config import validate_config
from seisembed.provenance import describe_device

__all__ = [
    "PAPER_MS_PER_WINDOW",
    "describe_device",
    "measure_runtime",
    "runtime_markdown",
]  # describe_device: from seisembed.provenance

log = logging.getLogger(__name__)

#: the paper's Table VI (seisembed.paper): ms per window, seconds for its val and test windows
PAPER_MS_PER_WINDOW = paper.RUNTIME_MS_PER_WINDOW
PAPER_SECONDS = paper.RUNTIME_SECONDS
TASKS = {
    "embedding": "embed (trained model)",
    "svm36_features": "SVM-36 spectral features",
    "srspec_spectrograms": "SRSpec-CNN spectrograms",
}


def _fastest(function, repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - t0)
    return float(best)


def measure_runtime(store: str | Path, model_path: str | Path, config: dict, threads: int | None = None) -> dict:
    """ms per window of each task on the val and test windows of ``store`` (see the module docstring)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    from seisembed.dataset.store import channels_last, open_waveforms, read_traces
    from seisembed.evaluate.supervised import spectrograms, store_metadata, svm_features
    from seisembed.provenance import provenance
    from seisembed.train.model import load_model
    from seisembed.traveltimes import TravelTimeTable

    config = validate_config(config)
    ev = config["evaluate"]
    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(int(threads))
        except RuntimeError:
            log.debug("TensorFlow is initialised already; thread settings unchanged")
    store = Path(store)
    meta = store_metadata(store)
    rate = meta.attrs["sampling_rate_hz"]
    array = open_waveforms(store)
    model = load_model(
        model_path, n_samples=int(array.shape[-1]), n_channels=int(array.shape[1]), sampling_rate_hz=rate
    )
    table, batch, repeats = TravelTimeTable.load(), int(ev["embed_batch"]), int(ev["runtime_repeats"])
    device = describe_device(tf)
    results: dict = {}
    for split in ("val", "test"):
        positions = np.flatnonzero(meta["split"].to_numpy() == split)
        if not len(positions):
            log.warning("split '%s' has no records: no runtime measured", split)
            continue
        x = read_traces(array, positions)
        xl = channels_last(x)
        p_sample = meta["trace_p_arrival_sample"].to_numpy()[positions]
        dist = meta["path_ep_distance_deg"].to_numpy()[positions]

        def embed(xl=xl):
            # as seisembed.Embedder embeds: the compiled predict step, one call per batch
            for start in range(0, len(xl), batch):
                model.predict_on_batch(xl[start : start + batch])

        model.predict_on_batch(xl[:batch])  # warm-up: graph tracing and allocation are not timed
        if len(xl) % batch:
            model.predict_on_batch(xl[: len(xl) % batch])  # the last, shorter batch traces once too
        seconds = {
            "embedding": _fastest(embed, repeats),
            "svm36_features": _fastest(
                lambda x=x, p=p_sample, d=dist: svm_features(x, p, d, rate_hz=rate, svm=ev["svm"], table=table),
                repeats,
            ),
            "srspec_spectrograms": _fastest(
                lambda x=x: [
                    spectrograms(x[s : s + 256], rate_hz=rate, srspec=ev["srspec"]) for s in range(0, len(x), 256)
                ],
                repeats,
            ),
        }
        results[split] = {
            "n_windows": int(len(positions)),
            **{f"{k}_ms_per_window": 1e3 * v / len(positions) for k, v in seconds.items()},
            **{f"{k}_seconds": v for k, v in seconds.items()},
        }
        log.info(
            "runtime %s (%d windows): embed %.2f ms, SVM features %.2f ms, spectrograms %.2f ms per window",
            split,
            len(positions),
            results[split]["embedding_ms_per_window"],
            results[split]["svm36_features_ms_per_window"],
            results[split]["srspec_spectrograms_ms_per_window"],
        )
    return {
        "device": device,
        "embed_batch": batch,
        "repeats": repeats,
        "timed": "fastest of the repeats; windows in memory (store reading not timed)",
        "splits": results,
        "paper_ms_per_window": {**PAPER_MS_PER_WINDOW, "device": paper.RUNTIME_DEVICE},
        "provenance": provenance({k: config[k] for k in ("evaluate", "seed", "study")}),
    }


def runtime_markdown(record: dict) -> str:
    """The runtime table as Markdown: ms per window per task and split beside the paper's Table VI."""
    from seisembed.markdown import markdown_table

    splits = list(record["splits"])
    rows = []
    for task, label in TASKS.items():
        paper = PAPER_MS_PER_WINDOW.get(task)
        seconds = PAPER_SECONDS.get(task, {})
        rows.append(
            [label]
            + [f"{record['splits'][s][f'{task}_seconds']:.2f}" for s in splits]
            + [f"{record['splits'][s][f'{task}_ms_per_window']:.2f}" for s in splits]
            + [
                " / ".join(f"{seconds[s]:.0f}" for s in ("val", "test")) if seconds else "",
                "" if paper is None else f"{paper:.1f}",
            ]
        )
    header = [
        "task",
        *[f"{s} s ({record['splits'][s]['n_windows']:,} windows)" for s in splits],
        *[f"{s} ms/window" for s in splits],
        "paper s (val / test)",
        "paper ms/window",
    ]
    ratio = {
        s: record["splits"][s]["svm36_features_ms_per_window"] / record["splits"][s]["embedding_ms_per_window"]
        for s in splits
    }
    lines = [
        "# Runtime per window (paper Table VI)",
        "",
        f"Device: {record['device']['text']}. Embedding batch {record['embed_batch']}; "
        f"fastest of {record['repeats']} passes; windows in memory.",
        "",
        markdown_table(header, rows),
        "",
        "Feature extraction / embedding time: "
        + ", ".join(f"{s} {ratio[s]:.2f}x" for s in splits)
        + f" (the paper: {PAPER_MS_PER_WINDOW['svm36_features'] / PAPER_MS_PER_WINDOW['embedding']:.1f}x, "
        "embedding on a GTX 1080 Ti GPU).",
        "",
    ]
    return "\n".join(lines)
