"""The default study's subset: cap records per event by a seeded choice of stations."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from seisembed.errors import ConfigError
from seisembed.synthetic.rng import stream

log = logging.getLogger(__name__)


def select_subset(
    arrivals: pd.DataFrame,
    *,
    max_records_per_event: int | None,
    max_events: int | None,
    min_records_per_event: int,
    seed: int,
) -> pd.DataFrame:
    """Keep at most ``max_records_per_event`` stations per event (seeded random choice per event).

    Events with fewer than ``min_records_per_event`` records are dropped; with
    ``max_events`` a seeded random choice of events is kept, stratified by
    ``source_type`` so both classes keep their share. Row order of the input is kept.
    """
    if min_records_per_event < 1:
        raise ConfigError(f"config key 'synthetic.min_records_per_event': must be >= 1, got {min_records_per_event!r}")
    df = arrivals
    counts = df.groupby("source_id", sort=True).size()
    keep_events = counts[counts >= min_records_per_event].index
    if max_events is not None and len(keep_events) > max_events:
        ev = df.drop_duplicates("source_id").set_index("source_id").loc[keep_events, "source_type"]
        chosen = []
        for _cls, ids in ev.groupby(ev, sort=True):
            share = int(round(max_events * len(ids) / len(ev)))
            order = np.argsort([stream(seed, "subset", "event", i).random() for i in ids.index])
            chosen.extend(ids.index[order[: max(share, 1)]])
        keep_events = pd.Index(sorted(chosen))
    mask = df["source_id"].isin(keep_events).to_numpy().copy()
    if max_records_per_event is not None:
        key = (
            df["station_network_code"].astype(str)
            + "."
            + df["station_code"].astype(str)
            + "."
            + df["station_location_code"].astype(str)
        )
        score = np.array([stream(seed, "subset", s, k).random() for s, k in zip(df["source_id"], key)])
        rank = pd.Series(score, index=df.index).groupby(df["source_id"]).rank(method="first")
        mask &= (rank <= max_records_per_event).to_numpy()
    out = df[mask]
    by_cls = out.drop_duplicates("source_id")["source_type"].value_counts().to_dict()
    log.info(
        "subset: %d of %d records, %d of %d events (events per class %s, explosion records %d)",
        len(out),
        len(df),
        out["source_id"].nunique(),
        df["source_id"].nunique(),
        by_cls,
        int((out["source_type"] == "explosion").sum()),
    )
    return out
