"""Unit vectors and class centroids of embeddings, shared by evaluation and the analyst commands.

A centroid of embeddings is the normalised mean of its members (:func:`unit_vectors`
of the mean); a score that divides by a distance adds :data:`EPS` to it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["EPS", "centroid", "unit_vectors"]

#: added to a distance that divides a score (a record on a centroid)
EPS = 1e-6


def unit_vectors(x: np.ndarray) -> np.ndarray:
    """Rows of ``x`` scaled to unit length (zero rows stay zero)."""
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def centroid(members: np.ndarray) -> np.ndarray:
    """The one-shot class centroid: the normalised mean of the ``(n, dim)`` member embeddings."""
    return unit_vectors(members.mean(axis=0))
