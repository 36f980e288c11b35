"""One-shot (few-template) discrimination: label records and events by the nearest class centroid.

Each class's centroid is the normalised mean of its template embeddings (any
number of classes, any number of templates each: the evaluation stage's
one-shot rule, :mod:`seisembed.evaluate.discrimination`). A record gets the class
whose centroid is nearest; its ``score`` is the distance to the runner-up
centroid over the distance to the chosen one (>= 1; larger: more confident) —
for two classes, the evaluation stage's distance ratio. An event's label comes
from the normalised mean of its records' embeddings, the same way.

Templates never score themselves: query records that are templates (same
``trace_name``) are left out and counted.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from seisembed.embeddings import embedding_columns, embedding_matrix, embedding_model_hash, validate_embeddings
from seisembed.errors import InputError
from seisembed.vectors import EPS, centroid, unit_vectors

__all__ = ["centroids", "discriminate", "template_labels"]

log = logging.getLogger(__name__)


def template_labels(templates: pd.DataFrame, label_column: str = "source_type", where: str = "templates") -> pd.Series:
    """The templates' labels as text; :class:`InputError` naming ``where`` and the rows when one is missing or blank."""
    if label_column not in templates.columns:
        raise InputError(f"{where} has no column {label_column!r} holding the template labels (--label-column)")
    column = templates[label_column]
    missing = column.isna().to_numpy()
    labels = column.astype(object).where(~missing, "").astype(str).str.strip()
    blank = labels.to_numpy() == ""
    if blank.any():
        names = templates["trace_name"].astype(str).to_numpy()[blank][:5] if "trace_name" in templates else []
        raise InputError(
            f"{where}: {int(blank.sum())} template(s) have no label in {label_column!r}, first {list(names)}"
        )
    return labels.set_axis(templates.index)


def centroids(
    templates: pd.DataFrame, label_column: str = "source_type", where: str = "templates"
) -> dict[str, np.ndarray]:
    """``{label: unit centroid}`` of the template embeddings (labels from ``label_column``)."""
    labels = template_labels(templates, label_column, where)
    classes = sorted(labels.unique())
    if len(classes) < 2:
        raise InputError(f"{where}: templates of {classes} only; discrimination needs at least two classes")
    emb = embedding_matrix(templates).astype(np.float64)
    return {c: centroid(emb[(labels == c).to_numpy()]) for c in classes}


def _label(emb: np.ndarray, cents: dict[str, np.ndarray]) -> pd.DataFrame:
    classes = list(cents)
    dist = np.stack([np.linalg.norm(emb - cents[c], axis=1) for c in classes], axis=1)
    order = np.argsort(dist, axis=1)
    nearest, runner = order[:, 0], order[:, 1]
    rows = np.arange(len(emb))
    out = pd.DataFrame(
        {
            "label": np.asarray(classes, dtype=object)[nearest],
            "score": dist[rows, runner] / (dist[rows, nearest] + EPS),
        }
    )
    for j, c in enumerate(classes):
        out[f"distance_{c}"] = dist[:, j]
    return out


def discriminate(
    templates: pd.DataFrame,
    queries: pd.DataFrame,
    label_column: str = "source_type",
    where: str = "queries",
    templates_where: str = "templates",
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Label each query record and each query event; returns ``(records, events, summary)``.

    Raises :class:`InputError` when templates and queries come from different
    models, when the labels are unusable, or when no query is left.
    """
    validate_embeddings(templates, templates_where, (label_column,) if label_column != "source_type" else ())
    validate_embeddings(queries, where)
    if len(embedding_columns(templates)) != len(embedding_columns(queries)):
        raise InputError(
            f"{templates_where} hold {len(embedding_columns(templates))}-d embeddings and {where} "
            f"{len(embedding_columns(queries))}-d ones: embed both with one model"
        )
    t_hash, q_hash = embedding_model_hash(templates), embedding_model_hash(queries)
    if t_hash != q_hash:
        raise InputError(
            f"{templates_where} were embedded by model {t_hash or '(unknown)'} and {where} by {q_hash or '(unknown)'}: "
            "embed both with one model"
        )
    cents = centroids(templates, label_column, templates_where)
    is_template = queries["trace_name"].isin(set(templates["trace_name"]))
    scored = queries.loc[~is_template].reset_index(drop=True)
    if scored.empty:
        raise InputError(f"{where}: no query record is left once the templates are set aside")
    emb = embedding_matrix(scored).astype(np.float64)
    keep = [
        c for c in ("trace_name", "source_id", "station_network_code", "station_code", "source_type") if c in scored
    ]
    records = pd.concat([scored[keep].reset_index(drop=True), _label(emb, cents)], axis=1)
    if "source_type" in records:
        records = records.rename(columns={"source_type": "known_source_type"})
    group = scored["source_id"].astype(str).to_numpy() if "source_id" in scored else scored["trace_name"].to_numpy()
    codes, firsts = pd.factorize(group)
    sums = np.zeros((len(firsts), emb.shape[1]))
    np.add.at(sums, codes, emb)
    events = pd.DataFrame({"source_id": firsts, "records": np.bincount(codes, minlength=len(firsts))})
    events = pd.concat([events, _label(unit_vectors(sums), cents)], axis=1)
    summary = {
        "classes": {c: int((template_labels(templates, label_column, templates_where) == c).sum()) for c in cents},
        "label_column": label_column,
        "model_hash": q_hash,
        "query_records": int(len(queries)),
        "templates_left_out_of_queries": int(is_template.sum()),
        "records_by_label": records["label"].value_counts().to_dict(),
        "events_by_label": events["label"].value_counts().to_dict(),
    }
    if "known_source_type" in records and records["known_source_type"].isin(list(cents)).any():
        known = records["known_source_type"].isin(list(cents))
        summary["record_accuracy_where_known"] = float(
            (records.loc[known, "label"] == records.loc[known, "known_source_type"]).mean()
        )
    log.info("labelled %d records of %d events: %s", len(records), len(events), summary["records_by_label"])
    return records, events, summary
