"""Synthetic embeddings tables with a known answer (for tests and benchmarks of the analyst tools)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from seisembed.embeddings import embeddings_frame

__all__ = ["clustered_embeddings"]


def clustered_embeddings(
    n_events: int = 12, per: int = 4, dim: int = 8, seed: int = 0, spread: float = 0.15, model: str = "m1"
) -> pd.DataFrame:
    """A valid embeddings table: ``per`` records (stations ``S0`` ..) around each of ``n_events`` unit centres.

    Event ``e`` is ``ev<e>``, in split train/val/test by ``e % 3``, an explosion when ``e`` is
    odd; ``spread`` is the standard deviation of each record's offset from its centre
    (before normalising); ``model`` is the model hash the table records.
    """
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_events, dim))
    rows, emb = [], []
    for e in range(n_events):
        for s in range(per):
            v = centres[e] / np.linalg.norm(centres[e]) + spread * rng.normal(size=dim)
            emb.append(v / np.linalg.norm(v))
            rows.append(
                {
                    "trace_name": f"ev{e}_XX.S{s}.",
                    "source_id": f"ev{e}",
                    "split": ["train", "val", "test"][e % 3],
                    "source_type": "explosion" if e % 2 else "earthquake",
                    "station_network_code": "XX",
                    "station_code": f"S{s}",
                    "novel_station": False,
                    "novel_location": False,
                }
            )
    return embeddings_frame(pd.DataFrame(rows), np.asarray(emb), model_id=model)
