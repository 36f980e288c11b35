"""What both supervised classifiers share: the method names, the store metadata they read, blocks of records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from seisembed.dataset.store import read_metadata, read_traces, store_attributes
from seisembed.errors import InputError

__all__ = ["LABELS", "METHODS", "read_blocks", "store_metadata"]

METHODS = ("svm36", "srspec_cnn")
LABELS = {"svm36": "SVM-36 (Kortström et al. 2016)", "srspec_cnn": "SRSpec-CNN (Nakano et al. 2019)"}


def store_metadata(store: str | Path) -> pd.DataFrame:
    """Per-trace columns the supervised classifiers need, in store order; ``attrs["sampling_rate_hz"]`` (Hz)."""
    columns = ("trace_name", "source_id", "split", "source_type", "path_ep_distance_deg", "trace_p_arrival_sample")
    frame = read_metadata(store, columns)
    for c in ("trace_name", "source_id", "split", "source_type"):
        frame[c] = frame[c].astype(str)
    rate = store_attributes(store).get("sampling_rate_hz")
    if rate is None:
        raise InputError(
            f"dataset store {store} has no 'sampling_rate_hz' attribute; rebuild it with seisembed dataset"
        )
    frame.attrs["sampling_rate_hz"] = float(rate)
    return frame


def read_blocks(array, positions: np.ndarray, block: int):
    """``(positions, float32 windows)`` of ``positions`` (sorted) in blocks of ``block`` records."""

    for start in range(0, len(positions), block):
        idx = positions[start : start + block]
        yield idx, read_traces(array, idx)
