"""Frequency bands of the spectral front end: which FFT bins each band averages (NumPy only).

Used by the Keras-free settings checks (:mod:`seisembed.train.model`, called at DAG-parse time)
and by the layer itself (:class:`seisembed.train.layers.LogBandSpectrogram`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["band_matrix"]


def band_matrix(edges_hz, fft_length: int, sampling_rate_hz: float):
    """``(fft_length // 2 + 1, bands)`` float32 matrix averaging the power of FFT bins into bands.

    Band ``i`` is the mean of the bins whose frequency lies in ``[edges_hz[i], edges_hz[i + 1])``
    (the last band includes its top edge); a band without bins is a zero column.
    """
    freqs = np.fft.rfftfreq(int(fft_length), 1.0 / float(sampling_rate_hz))
    edges = np.asarray(edges_hz, dtype=np.float64)
    inside = (freqs[:, None] >= edges[None, :-1]) & (freqs[:, None] < edges[None, 1:])
    inside[:, -1] |= freqs == edges[-1]
    counts = inside.sum(axis=0)
    return (inside / np.maximum(counts, 1)[None, :]).astype(np.float32)
