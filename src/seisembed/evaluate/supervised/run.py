"""The supervised stage: both classifiers trained on train, chosen and thresholded on val, scored on test."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from seisembed.atomic import write_json_atomic, write_parquet_atomic
from seisembed.columns import SOURCE_TYPES, check_both_classes, other_source_types, two_class
from seisembed.config import validate_config
from seisembed.evaluate.stats import best_threshold, confusion_record, decision_metrics, summarise_split
from seisembed.evaluate.supervised.common import LABELS, METHODS, store_metadata
from seisembed.evaluate.supervised.srspec_cnn import fit_srspec_cnn, spectrogram_split
from seisembed.evaluate.supervised.svm36 import SVM_WINDOWS, fit_svm, svm_features_store
from seisembed.metrics import auc, confusion_counts
from seisembed.provenance import provenance
from seisembed.streams import Stream

__all__ = ["balanced_decision", "evaluate_supervised"]

log = logging.getLogger(__name__)


def _subsample_train(positions: np.ndarray, source_type: np.ndarray, per_class: int | None, seed: int) -> np.ndarray:
    """At most ``per_class`` train records of each class (seeded; store order kept); all when ``None``."""
    if per_class is None:
        return positions
    rng = np.random.default_rng([seed, Stream.SUBSAMPLE])
    keep = []
    for kind in SOURCE_TYPES:
        rows = positions[source_type[positions] == kind]
        keep.append(rows if len(rows) <= per_class else rng.choice(rows, per_class, replace=False))
    chosen = np.sort(np.concatenate(keep))
    if len(chosen) < len(positions):
        log.info(
            "supervised classifiers: %d of %d train records (at most %d per class)",
            len(chosen),
            len(positions),
            per_class,
        )
    return chosen


def _summary(score: dict, truth: dict, events: dict, config: dict) -> dict:

    threshold = best_threshold(score["val"], truth["val"])
    result = summarise_split(
        score["test"], truth["test"], events["test"], threshold, config["evaluate"]["bootstrap"], config["seed"]
    )
    result["threshold_from"] = "val (maximum accuracy)"
    result["val_auc"] = float(auc(score["val"], truth["val"]))
    result["confusion_test"] = confusion_record(confusion_counts(truth["test"], score["test"] >= threshold))
    result["n_test_records"] = result.pop("n_pairs")
    result["n_test_explosions"] = result.pop("n_matched")
    # top level: the maximum-accuracy cut (balanced_accuracy too); "balanced": the cut maximising it
    result["balanced"] = balanced_decision(score, truth)
    return result


def balanced_decision(score: dict, truth: dict) -> dict:
    """Test metrics at the val threshold maximising balanced accuracy (``score``/``truth``: per split)."""

    threshold = best_threshold(score["val"], truth["val"], criterion="balanced_accuracy")
    return {
        "threshold": float(threshold),
        "threshold_from": "val (maximum balanced accuracy)",
        **decision_metrics(score["test"], truth["test"], threshold),
        "confusion_test": confusion_record(confusion_counts(truth["test"], score["test"] >= threshold)),
    }


def evaluate_supervised(store: str | Path, out_dir: str | Path, config: dict) -> dict:
    """Train and score both classifiers; writes ``supervised.json`` and ``supervised_scores.parquet``.

    The parquet holds one row per val and test record (``trace_name``, ``source_id``,
    ``split``, ``source_type``, ``svm36``, ``srspec_cnn``): the discrimination figures
    draw the classifiers' ROC curves and confusion matrices from it.
    """

    config = validate_config(config)
    store, out_dir = Path(store), Path(out_dir)
    meta = store_metadata(store)
    rate = meta.attrs["sampling_rate_hz"]
    split = meta["split"].to_numpy()
    for name in ("train", "val", "test"):
        check_both_classes(meta, name, f"dataset store {store}")
    # records of other source types (a SeisBench import's own labels) are left out of the two classes, counted
    excluded = other_source_types(meta)
    if excluded:
        log.info("the supervised classifiers leave out records of other source types: %s", excluded)
    positions = {name: np.flatnonzero((split == name) & two_class(meta)) for name in ("train", "val", "test")}
    n_train_all = len(positions["train"])
    positions["train"] = _subsample_train(
        positions["train"],
        meta["source_type"].to_numpy(),
        config["evaluate"]["supervised_max_train_per_class"],
        config["seed"],
    )
    truth = {name: (meta["source_type"].to_numpy()[p] == "explosion") for name, p in positions.items()}
    events = {name: meta["source_id"].to_numpy()[p] for name, p in positions.items()}
    record: dict = {}
    scores: dict[str, dict] = {}

    log.info("SVM-36: features of %d records", len(meta))
    t0 = time.perf_counter()
    feats = {name: svm_features_store(store, meta, p, config["evaluate"]["svm"]) for name, p in positions.items()}
    feature_seconds = time.perf_counter() - t0
    svm_cfg = config["evaluate"]["svm"]
    svm = fit_svm(
        feats["train"]["features"],
        truth["train"],
        feats["val"]["features"],
        truth["val"],
        svm_cfg["c_grid"],
        svm_cfg["gamma_grid"],
    )
    scores["svm36"] = {name: svm["score"](feats[name]["features"]) for name in ("val", "test")}
    record["svm36"] = {
        "method": LABELS["svm36"],
        **_summary(scores["svm36"], truth, events, config),
        "training_seconds": svm["train_seconds"],
        "feature_seconds_all_splits": feature_seconds,
        "chosen_on_val": {"C": svm["C"], "gamma": svm["gamma"]},
        "grid": svm["grid"],
        "n_support_vectors": svm["n_support_vectors"],
        "features": feats["train"]["names"],
        "window_rule": (
            "windows past the record's end are clipped; a window with less than evaluate.svm.min_window_s inside "
            "is missing and its features are imputed by the train mean; every record is scored"
        ),
        "windows": {
            name: {
                "n_records": int(len(p)),
                "n_clipped": int(feats[name]["clipped"].any(axis=1).sum()),
                "n_missing": int(feats[name]["missing"].any(axis=1).sum()),
                "n_missing_by_window": dict(
                    zip(SVM_WINDOWS, feats[name]["missing"].sum(axis=0).astype(int).tolist(), strict=True)
                ),
                "n_outside_traveltime_table": int(feats[name]["outside_table"].sum()),
            }
            for name, p in positions.items()
        },
    }
    _log_result("svm36", record["svm36"])

    srspec_cfg = config["evaluate"]["srspec"]
    t0 = time.perf_counter()
    specs = {name: spectrogram_split(store, p, rate, srspec_cfg) for name, p in positions.items()}
    spectrogram_seconds = time.perf_counter() - t0
    log.info("SRSpec-CNN: %d spectrograms in %.1f s", sum(len(s) for s in specs.values()), spectrogram_seconds)
    cnn = fit_srspec_cnn(specs["train"], truth["train"], specs["val"], truth["val"], srspec_cfg, config["seed"])
    scores["srspec_cnn"] = {name: cnn["score"](specs[name]) for name in ("val", "test")}
    record["srspec_cnn"] = {
        "method": LABELS["srspec_cnn"],
        **_summary(scores["srspec_cnn"], truth, events, config),
        "training_seconds": cnn["train_seconds"],
        "spectrogram_seconds_all_splits": spectrogram_seconds,
        "best_epoch": cnn["best_epoch"],
        "history": cnn["history"],
        "n_parameters": cnn["n_parameters"],
        "layers": [layer.name for layer in cnn["model"].layers],
    }
    _log_result("srspec_cnn", record["srspec_cnn"])

    record["train_records"] = {
        "used": int(len(positions["train"])),
        "available": int(n_train_all),
        "explosions_used": int(truth["train"].sum()),
        "max_per_class": config["evaluate"]["supervised_max_train_per_class"],
    }
    record["excluded_source_types"] = excluded
    record["provenance"] = provenance({k: config[k] for k in ("evaluate", "seed", "study")})
    rows = []
    for name in ("val", "test"):
        part = meta.iloc[positions[name]][["trace_name", "source_id", "split", "source_type"]].copy()
        for method in METHODS:
            part[method] = scores[method][name]
        rows.append(part)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_parquet_atomic(pd.concat(rows, ignore_index=True), out_dir / "supervised_scores.parquet")
    write_json_atomic(record, out_dir / "supervised.json")
    return record


def _log_result(method: str, r: dict) -> None:
    log.info(
        "%s: test AUC %.3f [%.3f, %.3f], accuracy %.3f, precision %.3f, recall %.3f (val threshold %.4g); "
        "trained in %.1f s",
        method,
        r["auc"],
        *r["auc_ci95"],
        r["accuracy"],
        r["precision"],
        r["recall"],
        r["threshold"],
        r["training_seconds"],
    )
