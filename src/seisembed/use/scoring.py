"""Score an associator's events: is each record close to the rest of its event?

For every record of an event with at least two records, the distance to the
**leave-one-out centroid** of its event (the normalised mean of the *other*
records' embeddings; a record never pulls its own centroid). A record is
flagged when that distance exceeds a threshold set on the **val** split of the
evaluation stage's embeddings: there, the same distance is measured for every
record against its own (correctly associated) event, and the threshold is the
``1 - far`` quantile, so a correctly associated record is flagged with
probability ``far`` (the false-alarm rate). The calibration also reports how
often a record is flagged against the centroid of another val event (its power
to catch a wrong association) and the val events it used.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from seisembed.embeddings import embedding_matrix, embedding_model_hash, validate_embeddings
from seisembed.errors import InputError
from seisembed.streams import Stream
from seisembed.vectors import unit_vectors

__all__ = ["calibrate", "leave_one_out_distances", "score_events"]

log = logging.getLogger(__name__)


def leave_one_out_distances(emb: np.ndarray, events: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per record: distance to its event's leave-one-out centroid (NaN for single-record events).

    Returns ``(distance, event codes, event sums)``.
    """
    codes, _ = pd.factorize(events)
    sums = np.zeros((codes.max() + 1 if len(codes) else 0, emb.shape[1]))
    np.add.at(sums, codes, emb)
    counts = np.bincount(codes, minlength=len(sums))
    rest = sums[codes] - emb
    dist = np.linalg.norm(emb - unit_vectors(rest), axis=1)
    dist[counts[codes] < 2] = np.nan
    return dist, codes, sums


def calibrate(
    embeddings: pd.DataFrame, far: float, split: str = "val", seed: int = 0, where: str = "calibration"
) -> dict:
    """The distance threshold flagging ``far`` of the correctly associated records of ``split``."""
    if isinstance(far, bool) or not isinstance(far, (int, float, np.floating)) or not 0.0 < far < 1.0:
        raise InputError(f"the false-alarm rate must be a number in (0, 1), not {far!r}")
    if "split" not in embeddings or "source_id" not in embeddings:
        raise InputError(f"{where} has no split / source_id columns: give the evaluation stage's embeddings.parquet")
    validate_embeddings(embeddings, where, ("split", "source_id"))
    splits = sorted(set(embeddings["split"].astype(str)))
    if split not in splits:
        raise InputError(f"{where} holds no record of split {split!r} (--calibration-split); its splits are {splits}")
    part = embeddings.loc[embeddings["split"].astype(str) == split].reset_index(drop=True)
    emb = embedding_matrix(part).astype(np.float64)
    events = part["source_id"].astype(str).to_numpy()
    dist, codes, sums = leave_one_out_distances(emb, events)
    matched = dist[np.isfinite(dist)]
    n_events = int(len(np.unique(codes[np.isfinite(dist)]))) if len(matched) else 0
    if len(matched) < max(20, int(np.ceil(2 / far))):
        raise InputError(
            f"{where}: split '{split}' has {len(matched)} records in events of >= 2 records; at least "
            f"{max(20, int(np.ceil(2 / far)))} are needed to set a threshold at a false-alarm rate of {far}"
        )
    if len(sums) < 2:
        raise InputError(f"{where}: split '{split}' holds one event; calibration needs several")
    threshold = float(np.quantile(matched, 1.0 - far, method="higher"))
    # power: each record against the full centroid of another (random, seeded) event of the split
    rng = np.random.default_rng([seed, Stream.WRONG_EVENTS])
    multi = np.flatnonzero(np.isfinite(dist))
    other = rng.integers(0, len(sums) - 1, size=len(multi))
    other = other + (other >= codes[multi])  # never the record's own event
    wrong = np.linalg.norm(emb[multi] - unit_vectors(sums[other]), axis=1)
    record = {
        "far": float(far),
        "threshold": threshold,
        "split": split,
        "records": int(len(matched)),
        "events": n_events,
        "observed_far": float(np.mean(matched > threshold)),
        "wrong_event_flagged": float(np.mean(wrong > threshold)),
        "matched_distance_median": float(np.median(matched)),
        "wrong_distance_median": float(np.median(wrong)),
        "model_hash": embedding_model_hash(embeddings),
        "dim": int(emb.shape[1]),
        "seed": int(seed),
        "sorted_matched": np.sort(matched),
    }
    log.info(
        "threshold %.4f at FAR %.3g on %d %s records (%d events); a record of another event is flagged %.1f %% of the time",
        threshold,
        far,
        len(matched),
        split,
        n_events,
        100 * record["wrong_event_flagged"],
    )
    return record


def score_events(
    embeddings: pd.DataFrame, calibration: dict, where: str = "events"
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Per record and per event scores of an associator's events; returns ``(records, events, summary)``."""
    validate_embeddings(embeddings, where, ("source_id",))
    missing = {"model_hash", "threshold", "sorted_matched", "far", "dim"} - set(calibration)
    if missing:
        raise InputError(
            f"the calibration record lacks {sorted(missing)}: make it with seisembed.use.scoring.calibrate"
        )
    got = embedding_model_hash(embeddings)
    if got != calibration["model_hash"]:
        raise InputError(
            f"{where} was embedded by model {got or '(unknown)'}, the calibration by {calibration['model_hash'] or '(unknown)'}: "
            "the threshold holds only for the model it was set with"
        )
    emb = embedding_matrix(embeddings).astype(np.float64)
    if emb.shape[1] != calibration["dim"]:
        raise InputError(
            f"{where} holds {emb.shape[1]}-d embeddings, the calibration {calibration['dim']}-d ones: "
            "embed both with one model"
        )
    events = embeddings["source_id"].astype(str).to_numpy()
    dist, codes, _ = leave_one_out_distances(emb, events)
    sorted_matched = calibration["sorted_matched"]
    exceed = 1.0 - np.searchsorted(sorted_matched, dist, side="left") / len(sorted_matched)
    exceed[~np.isfinite(dist)] = np.nan
    keep = [c for c in ("trace_name", "source_id", "station_network_code", "station_code") if c in embeddings]
    records = embeddings[keep].reset_index(drop=True).copy()
    records["source_id"] = events  # as text, as grouped: 123 and "123" are one event
    records["centroid_distance"] = dist
    records["val_exceedance"] = exceed  # share of correctly associated val records at least this far
    records["flagged"] = np.isfinite(dist) & (dist > calibration["threshold"])
    records["status"] = np.where(np.isfinite(dist), "scored", "single_record")
    grouped = records.groupby("source_id", sort=False)
    per_event = pd.DataFrame(
        {
            "records": grouped.size(),
            "flagged_records": grouped["flagged"].sum().astype(int),
            "mean_centroid_distance": grouped["centroid_distance"].mean(),
            "max_centroid_distance": grouped["centroid_distance"].max(),
        }
    ).reset_index()
    per_event["flagged_share"] = per_event["flagged_records"] / per_event["records"]
    per_event["flag"] = per_event["flagged_records"] > 0
    per_event["status"] = np.where(per_event["records"] >= 2, "scored", "single_record")
    summary = {
        "records": int(len(records)),
        "events": int(len(per_event)),
        "scored_records": int((records["status"] == "scored").sum()),
        "single_record_events": int((per_event["status"] == "single_record").sum()),
        "flagged_records": int(records["flagged"].sum()),
        "flagged_events": int(per_event["flag"].sum()),
        "calibration": {k: v for k, v in calibration.items() if k != "sorted_matched"},
    }
    if summary["scored_records"] == 0:
        log.warning(
            "%s: no record could be scored: every event has a single record (a record is scored against "
            "the other records of its event)",
            where,
        )
    log.info(
        "%d of %d records flagged (%d of %d events) at FAR %.3g (threshold %.4f)",
        summary["flagged_records"],
        summary["scored_records"],
        summary["flagged_events"],
        summary["events"],
        calibration["far"],
        calibration["threshold"],
    )
    return records, per_event, summary
