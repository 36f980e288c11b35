"""Event association: do two records come from one event? Embedding vs correlation vs a linear spectral metric.

:func:`embed_store` embeds every record of a dataset store with a saved model
(``results/embeddings/embeddings.parquet``). :func:`association_pairs_table` draws,
per split, up to ``evaluate.pairs_per_split`` *distinct* pairs: half one event at two
different stations, half two different events (when fewer distinct matched pairs
exist, all are used and as many unmatched ones are drawn; the count available is
recorded). :func:`evaluate_association` scores the same pairs with the three
methods, chooses each method's threshold on the **val** pairs (maximum accuracy)
and applies it unchanged to the **test** pairs, with event-level bootstrap intervals,
and writes ``association.json``, the tables by inter-station distance and novelty,
and the figures.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from seisembed.atomic import atomic_path, save_figure, write_json_atomic, write_parquet_atomic, write_text_atomic
from seisembed.catalog.geometry import KM_PER_DEG, epicentral_distance_deg
from seisembed.columns import EMBEDDING_COLUMNS
from seisembed.config import validate_config
from seisembed.dataset.store import open_waveforms, read_metadata, read_traces, store_attributes
from seisembed.embeddings import embeddings_frame, read_embeddings
from seisembed.errors import InputError
from seisembed.evaluate.stats import best_threshold, decision_metrics, summarise_split
from seisembed.markdown import markdown_table
from seisembed.metrics import auc, roc
from seisembed.streams import Stream
from seisembed.train.pairs import association_pairs

__all__ = ["METHODS", "association_pairs_table", "embed_store", "evaluate_association"]

log = logging.getLogger(__name__)

METHODS = ("embedding", "cross_correlation", "spectral_lda")


def _metadata(store: Path) -> pd.DataFrame:

    columns = [*EMBEDDING_COLUMNS, "station_latitude_deg", "station_longitude_deg", "path_ep_distance_km"]
    frame = read_metadata(store, columns)
    for c in ("trace_name", "source_id", "split", "source_type", "station_network_code", "station_code"):
        frame[c] = frame[c].astype(str)
    return frame


@functools.lru_cache(maxsize=2)
def _store_embedder(store: str, model_path: str, model_id: str):
    """An :class:`~seisembed.use.Embedder` for ``store``'s windows (cached: one load per process)."""
    from seisembed.train.model import load_model
    from seisembed.use.embedder import Embedder

    attrs = store_attributes(store)
    model = load_model(
        model_path, n_samples=int(attrs["n_samples"]), n_channels=3, sampling_rate_hz=attrs.get("sampling_rate_hz")
    )
    window = {k: attrs[k] for k in ("sampling_rate_hz", "window_before_s", "window_after_s") if k in attrs}
    return Embedder(model, window, model_path=model_path, model_id=model_id)


def _embed_block(store: str, model_path: str, model_id: str, start: int, stop: int, batch: int) -> np.ndarray:
    """Embeddings of traces ``start:stop`` of ``store`` (a Dask task: reads only its block)."""

    embedder = _store_embedder(store, model_path, model_id)
    block = np.asarray(open_waveforms(Path(store))[start:stop], dtype=np.float32)
    return embedder.embed_windows(block, batch=batch)


def _embed_on_cluster(client, store: Path, model_path: str, model_id: str, n: int, batch: int, block: int):
    """Embed ``store`` in blocks of ``block`` traces on a ``dask.distributed`` client, in store order."""
    from distributed import as_completed

    starts = list(range(0, n, block))
    futures = [
        client.submit(_embed_block, str(store), str(model_path), model_id, i, min(i + block, n), batch, pure=False)
        for i in starts
    ]
    for done, _ in enumerate(as_completed(futures), start=1):
        log.info("embedded %d/%d blocks on the Dask cluster", done, len(futures))
    return np.concatenate(client.gather(futures))


def embed_store(
    store: str | Path, model_path: str | Path, batch: int = 256, dask_config: dict | None = None
) -> pd.DataFrame:
    """One row per trace: the identifying columns and ``emb_00`` .. ``emb_NN`` (raw windows in, as trained).

    Embeds with :meth:`seisembed.use.Embedder.embed_windows` (the code ``seisembed embed``
    uses on new records), with the store's window geometry; the model's hash is kept in
    the table's ``attrs`` (written to the parquet's metadata). ``dask_config``: the
    ``dask`` section; with a scheduler or local workers, blocks of
    ``dask.embed_block_traces`` traces are embedded by the cluster's workers (each loads
    the model once), memory bounded by the block, not the store.
    """
    from seisembed.cluster import dask_client, uses_cluster
    from seisembed.config import section as config_section
    from seisembed.use.embedder import model_hash

    store = Path(store)
    array = open_waveforms(store)
    embedder = _store_embedder(str(store), str(model_path), model_hash(model_path))
    meta = _metadata(store)
    if uses_cluster(dask_config):
        block = config_section("dask", dask_config)["embed_block_traces"]
        with dask_client(dask_config) as client:
            emb = _embed_on_cluster(client, store, str(model_path), embedder.model_hash, len(meta), batch, block)
        return embeddings_frame(meta, emb, embedder.model_hash, str(model_path))
    out = []
    for start in range(0, array.shape[0], batch):
        out.append(embedder.embed_windows(np.asarray(array[start : start + batch], dtype=np.float32), batch=batch))
        if start // batch % 20 == 0:
            log.info("embedded %d/%d records", min(start + batch, array.shape[0]), array.shape[0])
    emb = np.concatenate(out) if out else np.zeros((0, embedder.dim), np.float32)
    return embeddings_frame(meta, emb, embedder.model_hash, str(model_path))


def association_pairs_table(meta: pd.DataFrame, split: str, n_pairs: int, seed: int) -> tuple[pd.DataFrame, int]:
    """Distinct pairs of ``split`` (store positions) and the number of distinct matched pairs available.

    Drawn by :func:`seisembed.train.pairs.association_pairs` (stream ``EVAL_PAIRS``).
    """
    index = {
        "split": meta["split"].to_numpy(),
        "source_id": meta["source_id"].to_numpy(),
        "station": (meta["station_network_code"] + "." + meta["station_code"]).to_numpy(),
    }
    drawn = association_pairs(index, split, n_pairs, seed, stream=Stream.EVAL_PAIRS)
    first, second, matched_all = drawn["first"], drawn["second"], int(drawn["available"])
    n_matched = int(drawn["matched"].sum())
    a, b = meta.iloc[first], meta.iloc[second]
    table = pd.DataFrame(
        {
            "split": split,
            "first": first,
            "second": second,
            "trace_name_first": a["trace_name"].to_numpy(),
            "trace_name_second": b["trace_name"].to_numpy(),
            "source_id_first": a["source_id"].to_numpy(),
            "source_id_second": b["source_id"].to_numpy(),
            "matched": drawn["matched"],
            "interstation_km": KM_PER_DEG
            * epicentral_distance_deg(
                a["station_latitude_deg"].to_numpy(),
                a["station_longitude_deg"].to_numpy(),
                b["station_latitude_deg"].to_numpy(),
                b["station_longitude_deg"].to_numpy(),
            ),
            "novel_station": a["novel_station"].to_numpy() | b["novel_station"].to_numpy(),
            "novel_location": a["novel_location"].to_numpy() | b["novel_location"].to_numpy(),
        }
    )
    if n_matched < n_pairs // 2:
        log.info(
            "split %s: only %d distinct matched pairs exist (asked for %d); using all of them and as many "
            "unmatched pairs",
            split,
            matched_all,
            n_pairs // 2,
        )
    return table, matched_all


def _scores(
    pairs: pd.DataFrame, embeddings: pd.DataFrame, store: Path, config: dict, meta: pd.DataFrame
) -> pd.DataFrame:
    """The three methods' scores (higher = more likely matched) for every pair."""

    from seisembed.evaluate.association_baselines import SpectralLDA, cross_correlation_scores, spectral_features

    ev = config["evaluate"]
    emb = embeddings.filter(like="emb_").to_numpy(dtype=np.float64)
    if len(embeddings) != len(meta) or (embeddings["trace_name"].to_numpy() != meta["trace_name"].to_numpy()).any():
        raise InputError(
            "the embeddings file does not hold one row per trace of the store, in store order; rerun the embed_store rule"
        )
    scores = pairs.copy()
    scores["embedding"] = -np.linalg.norm(emb[pairs["first"]] - emb[pairs["second"]], axis=1)
    attrs = store_attributes(store)
    rate, p_sample = float(attrs["sampling_rate_hz"]), int(round(attrs["window_before_s"] * attrs["sampling_rate_hz"]))
    array = open_waveforms(store)
    used = np.unique(np.r_[pairs["first"], pairs["second"]])
    where = np.full(len(meta), -1)
    where[used] = np.arange(len(used))
    windows = read_traces(array, used)
    log.info("cross-correlation of %d pairs (%g-%g Hz, +-%g s)", len(pairs), *ev["cc_band_hz"], ev["cc_max_lag_s"])
    scores["cross_correlation"] = cross_correlation_scores(
        windows,
        where[pairs["first"]],
        where[pairs["second"]],
        rate_hz=rate,
        band_hz=tuple(ev["cc_band_hz"]),
        max_lag_s=ev["cc_max_lag_s"],
        order=ev["cc_filter_order"],
    )
    spec = {
        "rate_hz": rate,
        "p_sample": p_sample,
        "windows_s": ev["spectral_windows_s"],
        "n_bands": ev["spectral_bands"],
        "band_hz": tuple(ev["spectral_band_hz"]),
    }
    train = np.flatnonzero(meta["split"].to_numpy() == "train")
    train_features = np.concatenate(
        [spectral_features(read_traces(array, train[i : i + 512]), **spec) for i in range(0, len(train), 512)]
    )
    lda = SpectralLDA(ev["spectral_lda_dims"]).fit(train_features, meta["source_id"].to_numpy()[train])
    z = lda.transform(spectral_features(windows, **spec))
    scores["spectral_lda"] = -np.linalg.norm(z[where[pairs["first"]]] - z[where[pairs["second"]]], axis=1)
    return scores


def _method_metrics(scores: pd.DataFrame, method: str, n_bootstrap: int, seed: int) -> dict:

    out = {}
    val = scores[scores["split"] == "val"]
    finite = np.isfinite(val[method].to_numpy())
    threshold = best_threshold(val[method].to_numpy()[finite], val["matched"].to_numpy()[finite])
    for split in ("val", "test"):
        part = scores[scores["split"] == split]
        out[split] = summarise_split(
            part[method].to_numpy(),
            part["matched"].to_numpy(),
            part["source_id_first"].to_numpy(),
            threshold,
            n_bootstrap,
            seed,
        )
    out["threshold_from"] = "val (maximum accuracy)"
    return out


def _by_distance(test: pd.DataFrame, thresholds: dict, bin_km: float) -> pd.DataFrame:

    rows = []
    edges = np.arange(0, test["interstation_km"].max() + bin_km, bin_km)
    for lo, hi in zip(edges[:-1], edges[1:]):
        part = test[(test["interstation_km"] >= lo) & (test["interstation_km"] < hi)]
        if not len(part):
            continue
        row = {"distance_km": f"{lo:.0f}-{hi:.0f}", "pairs": len(part), "matched": int(part["matched"].sum())}
        for method in METHODS:
            m = decision_metrics(part[method].to_numpy(), part["matched"].to_numpy(), thresholds[method])
            row.update({f"{method}_{k}": round(v, 4) for k, v in m.items()})
        rows.append(row)
    return pd.DataFrame(rows)


def _by_novelty(test: pd.DataFrame, thresholds: dict) -> pd.DataFrame:

    groups = {
        "all": np.ones(len(test), bool),
        "neither": ~test["novel_station"] & ~test["novel_location"],
        "novel station": test["novel_station"] & ~test["novel_location"],
        "novel location": test["novel_location"] & ~test["novel_station"],
        "both": test["novel_station"] & test["novel_location"],
    }
    rows = []
    for name, mask in groups.items():
        part = test[np.asarray(mask)]
        row = {"pairs": name, "count": len(part), "matched": int(part["matched"].sum())}
        for method in METHODS:
            if len(part):
                m = decision_metrics(part[method].to_numpy(), part["matched"].to_numpy(), thresholds[method])
                errors = int(round(len(part) * (1 - m["accuracy"])))
                row.update({f"{method}_accuracy": round(m["accuracy"], 4), f"{method}_errors": errors})
        rows.append(row)
    return pd.DataFrame(rows)


def _figures(scores: pd.DataFrame, metrics: dict, by_distance: pd.DataFrame, folder: Path, bin_km: float) -> None:
    import matplotlib.pyplot as plt

    test = scores[scores["split"] == "test"]
    folder.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    distance = -test["embedding"]
    bins = np.linspace(0, 2, 61)
    ax.hist(distance[test["matched"]], bins, alpha=0.6, label="same event (two stations)", density=True)
    ax.hist(distance[~test["matched"]], bins, alpha=0.6, label="different events", density=True)
    ax.axvline(-metrics["embedding"]["val"]["threshold"], color="k", ls="--", label="threshold (from val)")
    ax.set(xlabel="chord distance between embeddings", ylabel="density", title="Test pairs (paper Fig. 7)")
    ax.legend(fontsize=8)
    save_figure(fig, folder / "association_distance_histogram.png")
    fig, ax = plt.subplots(figsize=(5, 5))
    for method in METHODS:
        s, m = test[method].to_numpy(), test["matched"].to_numpy()
        ok = np.isfinite(s)
        fp, tp = roc(s[ok], m[ok])
        ax.plot(fp, tp, label=f"{method} (AUC {auc(s[ok], m[ok]):.3f})")
    ax.plot([0, 1], [0, 1], color="0.7", lw=0.8)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="Association ROC, test (Fig. 8)")
    ax.legend(fontsize=8)
    save_figure(fig, folder / "association_roc.png")
    fig, ax = plt.subplots(figsize=(7, 4))
    shown = by_distance[by_distance["pairs"] >= 50]  # sparse far bins are noise (they stay in the table)
    centres = [float(r.split("-")[0]) + bin_km / 2 for r in shown["distance_km"]]
    for method in METHODS:
        ax.plot(centres, shown[f"{method}_accuracy"], "o-", label=method)
    ax.set(
        xlabel="inter-station distance (km)",
        ylabel="accuracy (val threshold)",
        title="Association accuracy vs inter-station distance (Table II), test; bins with >= 50 pairs",
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    save_figure(fig, folder / "association_accuracy_vs_distance.png")


def evaluate_association(
    store: str | Path, embeddings_path: str | Path, out_dir: str | Path, figures_dir: str | Path, config: dict
) -> dict:
    """Pairs, scores, metrics, tables and figures of the association task; returns the metrics."""
    from seisembed.provenance import provenance

    config = validate_config(config)
    store, out_dir = Path(store), Path(out_dir)
    ev = config["evaluate"]
    meta = _metadata(store)
    embeddings = read_embeddings(embeddings_path, "embeddings", ("source_id", "split", "source_type"), complete=True)
    tables, available = [], {}
    for split in ("val", "test"):
        table, available[split] = association_pairs_table(meta, split, ev["pairs_per_split"], config["seed"])
        tables.append(table)
    pairs = pd.concat(tables, ignore_index=True)
    scores = _scores(pairs, embeddings, store, config, meta)
    metrics = {m: _method_metrics(scores, m, ev["bootstrap"], config["seed"]) for m in METHODS}
    for split in ("val", "test"):
        for m in METHODS:
            metrics[m][split]["distinct_matched_pairs_available"] = available[split]
    thresholds = {m: metrics[m]["val"]["threshold"] for m in METHODS}
    test = scores[scores["split"] == "test"]
    by_distance = _by_distance(test, thresholds, ev["distance_bin_km"])
    by_novelty = _by_novelty(test, thresholds)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_parquet_atomic(scores, out_dir / "association_pairs.parquet")
    record = {**metrics, "provenance": provenance({k: config[k] for k in ("evaluate", "seed", "study")})}
    write_json_atomic(record, out_dir / "association.json")
    for name, frame in (("association_by_distance", by_distance), ("association_by_novelty", by_novelty)):
        with atomic_path(out_dir / f"{name}.csv") as tmp:
            frame.to_csv(tmp, index=False)
        write_text_atomic(out_dir / f"{name}.md", markdown_table(list(frame.columns), frame.values.tolist()) + "\n")
    _figures(scores, metrics, by_distance, Path(figures_dir), ev["distance_bin_km"])
    for m in METHODS:
        t = metrics[m]["test"]
        log.info(
            "%-17s test AUC %.3f [%.3f, %.3f], accuracy %.3f [%.3f, %.3f] at the val threshold (%d pairs)",
            m,
            t["auc"],
            *t["auc_ci95"],
            t["accuracy"],
            *t["accuracy_ci95"],
            t["n_pairs"],
        )
    return record
