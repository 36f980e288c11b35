"""Scores of binary decisions shared by training and evaluation: ROC AUC, ROC curve, confusion counts.

Thin wrappers of scikit-learn's :func:`~sklearn.metrics.roc_auc_score`,
:func:`~sklearn.metrics.roc_curve` and :func:`~sklearn.metrics.confusion_matrix` that
keep the conventions the metrics files were written with: a score is high for the
positive class (matched pairs, explosions), ties count half, an AUC with a class absent
(or a NaN score) is NaN rather than an error, and infinite scores are ranked (the AUC
depends only on the order of the scores).
"""

from __future__ import annotations

import numpy as np

__all__ = ["auc", "confusion_counts", "roc"]


def auc(score: np.ndarray, truth: np.ndarray, weight: np.ndarray | None = None) -> float:
    """Area under the ROC curve of ``score`` for boolean ``truth`` (ties count half), optionally weighted.

    NaN when ``truth`` (or its weight) lacks a class or a score is NaN.
    """
    from scipy.stats import rankdata
    from sklearn.metrics import roc_auc_score

    score = np.asarray(score, dtype=np.float64)
    truth = np.asarray(truth, dtype=bool)
    w = np.ones(len(truth)) if weight is None else np.asarray(weight, dtype=np.float64)
    if not w[truth].sum() or not w[~truth].sum() or np.isnan(score).any():
        return float("nan")
    if np.isinf(score).any():
        score = rankdata(score)
    return float(roc_auc_score(truth, score, sample_weight=weight))


def roc(score: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates of ``score >= t`` for every distinct score ``t``, from ``(0, 0)``."""
    from sklearn.metrics import roc_curve

    fp, tp, _ = roc_curve(np.asarray(truth, dtype=bool), np.asarray(score, dtype=np.float64), drop_intermediate=False)
    return fp, tp


def confusion_counts(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """``(2, 2)`` int counts: rows true negative/positive class, columns predicted ([[TN, FP], [FN, TP]])."""
    from sklearn.metrics import confusion_matrix

    t, p = np.asarray(truth, dtype=bool), np.asarray(predicted, dtype=bool)
    return confusion_matrix(t, p, labels=[False, True]).astype(np.int64)
