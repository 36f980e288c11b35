"""Threshold-free and thresholded scores of pair decisions, with event-level bootstrap intervals.

The AUC is :func:`seisembed.metrics.auc` (scikit-learn). A *score* is high for pairs judged matched (for distances: minus the distance). The
threshold is chosen on one set of pairs (val: the maximum-accuracy cut) and applied
unchanged to another (test) — never chosen on the pairs it is scored on.

Pairs share events, so pairs are not independent: intervals come from a cluster
bootstrap that resamples *events* (each pair belongs to the event of its first record)
with replacement and takes every pair of a drawn event as often as the event is drawn.
"""

from __future__ import annotations

import numpy as np

from seisembed.metrics import auc
from seisembed.streams import Stream

__all__ = ["best_threshold", "bootstrap", "confusion_record", "decision_metrics", "summarise_split"]


def best_threshold(score: np.ndarray, matched: np.ndarray, criterion: str = "accuracy") -> float:
    """The cut maximising ``criterion`` of ``score >= threshold`` (midpoint between neighbouring scores).

    ``criterion``: ``"accuracy"`` (share of correct decisions) or ``"balanced_accuracy"``
    (mean of the true-positive and true-negative rates: with a rare positive class the
    maximum-accuracy cut calls almost everything negative; this one does not).
    """
    if criterion not in ("accuracy", "balanced_accuracy"):
        raise ValueError(f"criterion {criterion!r} is not 'accuracy' or 'balanced_accuracy'")
    score = np.asarray(score, dtype=np.float64)
    matched = np.asarray(matched, dtype=bool)
    order = np.argsort(score)[::-1]
    s, m = score[order], matched[order]
    # predicting "matched" for the first i pairs (highest scores): correct = TP(i) + TN(i)
    tp = np.concatenate(([0], np.cumsum(m)))
    tn = (~m).sum() - np.concatenate(([0], np.cumsum(~m)))
    if criterion == "accuracy":
        correct = tp + tn
    else:
        correct = tp / max(m.sum(), 1) + tn / max((~m).sum(), 1)
    # only cut between distinct scores
    valid = np.ones(len(correct), dtype=bool)
    valid[1:-1] = s[:-1] != s[1:]
    i = int(np.argmax(np.where(valid, correct, -1)))
    if i == 0:
        return float(s[0] + 1e-9)
    if i == len(s):
        return float(s[-1] - 1e-9)
    return float((s[i - 1] + s[i]) / 2)


def decision_metrics(
    score: np.ndarray, matched: np.ndarray, threshold: float, weight: np.ndarray | None = None
) -> dict[str, float]:
    """Accuracy, precision, recall and balanced accuracy of ``score >= threshold`` (optionally weighted).

    Balanced accuracy is the mean of the true-positive and true-negative rates (NaN when a
    class is absent).
    """
    predicted = np.asarray(score) >= threshold
    matched = np.asarray(matched, dtype=bool)
    w = np.ones(len(matched)) if weight is None else np.asarray(weight, dtype=np.float64)
    tp = w[predicted & matched].sum()
    fp = w[predicted & ~matched].sum()
    fn = w[~predicted & matched].sum()
    total = w.sum()
    tn = total - tp - fp - fn
    return {
        "accuracy": float((total - fp - fn) / total) if total else float("nan"),
        "precision": float(tp / (tp + fp)) if tp + fp else float("nan"),
        "recall": float(tp / (tp + fn)) if tp + fn else float("nan"),
        "balanced_accuracy": float((tp / (tp + fn) + tn / (tn + fp)) / 2) if tp + fn and tn + fp else float("nan"),
    }


def confusion_record(counts: np.ndarray) -> dict:
    """``(2, 2)`` explosion-vs-earthquake counts (:func:`seisembed.metrics.confusion_counts`) as written to the metrics JSON."""
    return {
        "rows_true": ["earthquake", "explosion"],
        "columns_predicted": ["earthquake", "explosion"],
        "counts": np.asarray(counts).tolist(),
    }


def _replicate_counts(clusters: np.ndarray, n: int, seed: int, chunk: int = 100):
    """Yield ``(chunk, n_clusters)`` float32 draw counts of ``n`` cluster-bootstrap replicates, and the pair->cluster index."""
    ids, index = np.unique(clusters, return_inverse=True)
    rng = np.random.default_rng([seed, Stream.BOOTSTRAP])
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        draws = rng.integers(len(ids), size=(m, len(ids))) + len(ids) * np.arange(m)[:, None]
        yield np.bincount(draws.ravel(), minlength=m * len(ids)).reshape(m, len(ids)).astype(np.float32), index


def bootstrap(clusters: np.ndarray, statistic, n: int, seed: int) -> np.ndarray:
    """``n`` values of ``statistic(weight)`` with pair weights from resampled clusters (events).

    ``clusters``: the cluster id of each pair. Each replicate draws as many clusters as
    there are, with replacement; a pair's weight is how often its cluster was drawn (the
    same draws as :func:`summarise_split`'s intervals).
    """
    values = []
    for counts, index in _replicate_counts(clusters, n, seed):
        values.extend(statistic(row[index]) for row in counts)
    return np.asarray(values, dtype=np.float64)


def _bootstrap_all(
    score: np.ndarray, matched: np.ndarray, clusters: np.ndarray, threshold: float, n: int, seed: int
) -> dict[str, np.ndarray]:
    """AUC, accuracy, precision and recall of ``n`` replicates, vectorised over blocks of replicates.

    Pairs are sorted by score once; with distinct scores the weighted AUC is
    ``sum_i w_i m_i (cumulative unmatched weight below i)``, ties are grouped (half credit).
    """
    order = np.argsort(score, kind="mergesort")
    s, m = score[order], matched[order]
    _, start = np.unique(s, return_index=True)
    ties = len(start) < len(s)
    is_pos, is_neg = m.astype(np.float32), (~m).astype(np.float32)
    predicted = (score >= threshold)[order]
    tp_mask = (predicted & m).astype(np.float32)
    fp_mask = (predicted & ~m).astype(np.float32)
    fn_mask = (~predicted & m).astype(np.float32)
    out: dict[str, list] = {"auc": [], "accuracy": [], "precision": [], "recall": []}
    for counts, index in _replicate_counts(clusters, n, seed):
        w = counts[:, index[order]]
        neg, pos = w * is_neg, w * is_pos
        if ties:
            neg, pos = np.add.reduceat(neg, start, axis=1), np.add.reduceat(pos, start, axis=1)
        below = np.cumsum(neg, axis=1, dtype=np.float64) - neg
        n_pos, n_neg = pos.sum(axis=1, dtype=np.float64), neg.sum(axis=1, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["auc"].append((pos * (below + 0.5 * neg)).sum(axis=1) / (n_pos * n_neg))
            tp, fp, fn = w @ tp_mask, w @ fp_mask, w @ fn_mask
            total = w.sum(axis=1, dtype=np.float64)
            out["accuracy"].append((total - fp - fn) / total)
            out["precision"].append(tp / (tp + fp))
            out["recall"].append(tp / (tp + fn))
    return {k: np.concatenate(v) for k, v in out.items()}


def summarise_split(
    score: np.ndarray,
    matched: np.ndarray,
    clusters: np.ndarray,
    threshold: float,
    n_bootstrap: int,
    seed: int,
    level: float = 0.95,
) -> dict:
    """AUC, accuracy, precision, recall at ``threshold`` and their cluster-bootstrap intervals."""
    finite = np.isfinite(score)
    score, matched, clusters = score[finite], matched[finite], clusters[finite]
    point = {"auc": auc(score, matched), **decision_metrics(score, matched, threshold)}
    lo, hi = 100 * (1 - level) / 2, 100 * (1 + level) / 2
    result = {
        **point,
        "threshold": float(threshold),
        "n_pairs": int(len(score)),
        "n_matched": int(matched.sum()),
        "n_non_finite": int((~finite).sum()),
    }
    replicates = _bootstrap_all(score, matched, clusters, threshold, n_bootstrap, seed)
    for name, values in replicates.items():
        result[f"{name}_ci95"] = [float(np.nanpercentile(values, lo)), float(np.nanpercentile(values, hi))]
    return result
