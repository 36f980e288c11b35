"""Association pairs and the threshold-free score used to judge them.

:func:`association_pairs` draws, from one split of a dataset store, up to ``n_pairs``
distinct record pairs: half *matched* (one event, two different stations: the paper's
task is to recognise the source whatever the path) and half *unmatched* (two
different events, any stations). The draw is seeded and depends only on the
store's index, the split, ``n_pairs``, the seed and the stream (training's val pairs
and the evaluation's pairs are drawn by this one function).

:func:`roc_auc` is the area under the ROC curve of a score that should be high for
matched pairs (for embeddings: minus the chord distance), with ties counted half
(:func:`seisembed.metrics.auc`, shared with the evaluation).
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from seisembed.errors import InputError
from seisembed.metrics import auc
from seisembed.streams import Stream

__all__ = ["SPLIT_NUMBER", "association_pairs", "embedding_auc", "roc_auc"]


#: the split's number in the pair streams' seeds
SPLIT_NUMBER = {"train": 0, "val": 1, "test": 2}


def association_pairs(
    index: dict, split: str, n_pairs: int, seed: int, stream: Stream = Stream.PAIRS
) -> dict[str, np.ndarray]:
    """Distinct record pairs of ``split``: ``"first"``, ``"second"`` (store positions), ``"matched"``.

    ``index`` holds per-record arrays ``split``, ``source_id`` and ``station`` (``NET.STA``),
    as :func:`seisembed.dataset.store.read_index` returns them. Matched pairs: ``n_pairs // 2``
    drawn without replacement among every pair of records of one event at two different
    stations (fewer when the split holds fewer: all of them, logged by the caller from
    ``"available"``, the number of such pairs). Unmatched pairs: as many distinct pairs of
    records of two different events. The one sampler of the project: training's fixed val
    pairs (``stream`` :attr:`~seisembed.streams.Stream.PAIRS`) and the evaluation's scored pairs
    (:attr:`~seisembed.streams.Stream.EVAL_PAIRS`) draw the same way, seeded by
    ``(seed, stream, split)``. Raises :class:`InputError` when the split cannot give both kinds.
    """
    import pandas as pd

    positions = np.flatnonzero(np.asarray(index["split"]) == split)
    events = np.asarray(index["source_id"])[positions]
    station = np.asarray(index["station"])[positions]
    matched_all = []
    for _, rows in pd.Series(np.arange(len(positions))).groupby(events, sort=False):
        for i, j in combinations(rows.to_numpy(), 2):
            if station[i] != station[j]:
                matched_all.append((i, j))
    if not matched_all or len(np.unique(events)) < 2:
        raise InputError(
            f"split '{split}' holds {len(positions)} record(s) but no event recorded at two stations or fewer "
            "than two events: no pairs can be drawn"
        )
    rng = np.random.default_rng([seed, int(stream), SPLIT_NUMBER[split]])
    n_matched = min(n_pairs // 2, len(matched_all))
    chosen = np.asarray(matched_all)[rng.choice(len(matched_all), n_matched, replace=False)]
    unmatched: set[tuple[int, int]] = set()
    limit = len(positions) * (len(positions) - 1) // 2
    while len(unmatched) < min(n_matched, limit):
        a, b = rng.integers(len(positions), size=2)
        if events[a] != events[b]:
            unmatched.add((min(a, b), max(a, b)))
    others = np.asarray(sorted(unmatched))
    others = others[rng.permutation(len(others))]
    both = np.concatenate([chosen, others])
    return {
        "first": positions[both[:, 0]],
        "second": positions[both[:, 1]],
        "matched": np.r_[np.ones(len(chosen), bool), np.zeros(len(others), bool)],
        "available": np.int64(len(matched_all)),
    }


def roc_auc(score: np.ndarray, matched: np.ndarray) -> float:
    """Area under the ROC curve of ``score`` (higher = more likely matched); ties count half.

    :func:`seisembed.metrics.auc`, raising when a class is missing.
    """
    matched = np.asarray(matched, dtype=bool)
    if matched.all() or not matched.any():
        raise ValueError("roc_auc needs both matched and unmatched pairs")
    return auc(score, matched)


def embedding_auc(embeddings: np.ndarray, positions: np.ndarray, pairs: dict) -> float:
    """Association AUC of ``pairs`` scored by minus the chord distance of their embeddings.

    ``embeddings[i]`` is the embedding of the record at store position ``positions[i]``;
    ``pairs`` is :func:`association_pairs`' result (every position it names must be in
    ``positions``).
    """
    order = np.argsort(positions)
    rows = order[np.searchsorted(positions, pairs["first"], sorter=order)]
    cols = order[np.searchsorted(positions, pairs["second"], sorter=order)]
    distance = np.linalg.norm(embeddings[rows] - embeddings[cols], axis=1)
    return roc_auc(-distance, pairs["matched"])
