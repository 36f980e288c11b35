"""Association pairs and the threshold-free score used to judge them.

:func:`association_pairs` draws, from one split of a dataset store, ``n_pairs``
record pairs: half *matched* (one event, two different stations: the paper's
task is to recognise the source whatever the path) and half *unmatched* (two
different events, any stations). The draw is seeded and depends only on the
store's index, the split, ``n_pairs`` and the seed.

:func:`roc_auc` is the area under the ROC curve of a score that should be high for
matched pairs (for embeddings: minus the chord distance), with ties counted half
(:func:`seisembed.metrics.auc`, shared with the evaluation).
"""

from __future__ import annotations

import numpy as np

from seisembed.errors import InputError
from seisembed.metrics import auc
from seisembed.streams import Stream

__all__ = ["association_pairs", "embedding_auc", "roc_auc"]


def association_pairs(index: dict, split: str, n_pairs: int, seed: int) -> dict[str, np.ndarray]:
    """``{"first", "second"}`` store positions and ``"matched"`` (bool) of ``n_pairs`` pairs of ``split``.

    ``index`` is :func:`seisembed.dataset.store.read_index` of the store. Matched pairs: an
    event drawn uniformly among those recorded at two or more stations, then two of
    its records at different stations. Unmatched: two records of different events.
    Raises :class:`InputError` when the split cannot give both kinds.
    """
    positions = np.flatnonzero(index["split"] == split)
    if len(positions) < 2:
        raise InputError(f"split '{split}' holds {len(positions)} record(s): no pairs can be drawn")
    events = index["event"][positions]
    stations = index["station"][positions]
    bounds = np.flatnonzero(np.diff(events)) + 1
    runs = [r for r in np.split(np.arange(len(positions)), bounds) if len(np.unique(stations[r])) >= 2]
    if not runs or len(np.unique(events)) < 2:
        raise InputError(f"split '{split}' needs events recorded at two stations and at least two events for pairs")
    rng = np.random.default_rng([seed, Stream.PAIRS])
    n_matched = n_pairs // 2
    first, second = [], []
    for run in (runs[i] for i in rng.integers(len(runs), size=n_matched)):
        a = run[rng.integers(len(run))]
        others = run[stations[run] != stations[a]]
        first.append(a)
        second.append(others[rng.integers(len(others))])
    while len(first) < n_pairs:
        a, b = rng.integers(len(positions), size=2)
        if events[a] != events[b]:
            first.append(a)
            second.append(b)
    first, second = positions[np.asarray(first)], positions[np.asarray(second)]
    matched = np.zeros(n_pairs, dtype=bool)
    matched[:n_matched] = True
    return {"first": first, "second": second, "matched": matched}


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
