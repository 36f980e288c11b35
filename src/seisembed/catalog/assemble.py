"""From raw per-pick rows to the arrivals table of the catalog contract.

Every reader (ISC CSV, ISC web service, QuakeML) produces *raw rows*: one row per
reported arrival with the columns of :data:`RAW_COLUMNS` (the contract's columns
minus the labels, plus ``event_type_code`` and ``row``, a human-readable
pointer such as ``"line 12"`` used in messages). :func:`assemble_arrivals` then
applies the same steps to all of them:

1. drop rows whose phase is not P-type (counted);
2. drop exact duplicate rows (counted);
3. keep the earliest P-type arrival per (event, network, station) (later ones counted);
4. label events (:func:`seisembed.catalog.labels.label_events`; unusable ones counted);
5. fill missing magnitudes with ``default_magnitude`` or drop those events (counted);
6. fill distance and back azimuth from the coordinates where the catalogue has none;
7. return exactly :data:`seisembed.columns.ARRIVAL_COLUMNS`, in order, with fixed dtypes,
   sorted by origin time, event, arrival time and station.
"""

from __future__ import annotations

import logging

import pandas as pd

from seisembed.arrivals import STATION_KEY, coerce_arrivals, empty_arrivals
from seisembed.catalog.geometry import KM_PER_DEG, azimuth_deg, epicentral_distance_deg
from seisembed.catalog.labels import label_events
from seisembed.catalog.phases import p_phase_mask
from seisembed.catalog.skips import Skips
from seisembed.columns import ARRIVAL_COLUMNS

log = logging.getLogger(__name__)

__all__ = ["RAW_COLUMNS", "assemble_arrivals"]

#: columns every reader produces before :func:`assemble_arrivals`
RAW_COLUMNS: tuple[str, ...] = tuple(
    c for c in ARRIVAL_COLUMNS if c not in ("source_type", "source_type_raw", "path_ep_distance_km")
) + ("event_type_code", "row")

#: per-event columns (identical on every row of one event)
EVENT_COLUMNS = (
    "source_id",
    "source_origin_time",
    "source_latitude_deg",
    "source_longitude_deg",
    "source_depth_km",
    "source_magnitude",
    "source_magnitude_type",
    "event_type_code",
)


def _first_p(raw: pd.DataFrame, skips: Skips) -> pd.DataFrame:
    """Steps 1-3: P-type rows only, no exact duplicates, earliest per (event, station)."""
    is_p = p_phase_mask(raw["trace_phase"])
    if (~is_p).any():
        rows = raw[~is_p]
        skips.add(
            "rows: phase is not P-type (S, L, x or none)",
            int((~is_p).sum()),
            examples=[f"{r.row}: {r.trace_phase or '<no phase>'}" for r in rows.head(3).itertuples()],
        )
    events_before = set(raw["source_id"])
    raw = raw[is_p]
    lost = sorted(events_before - set(raw["source_id"]))
    if lost:
        skips.add("events: no P-type arrival at any station", len(lost), examples=[f"event {e}" for e in lost[:5]])
    identity = STATION_KEY + ["station_location_code", "trace_phase", "trace_p_arrival_time"]
    dup = raw.duplicated(identity)
    if dup.any():
        skips.add(
            "rows: exact duplicate arrival",
            int(dup.sum()),
            examples=[f"{r.row}: event {r.source_id} station {r.station_code}" for r in raw[dup].head(3).itertuples()],
        )
    raw = raw[~dup].sort_values(STATION_KEY + ["trace_p_arrival_time", "station_location_code"], kind="stable")
    later = raw.duplicated(STATION_KEY)
    if later.any():
        skips.add(
            "rows: later P arrival at the same (event, station)",
            int(later.sum()),
            examples=[
                f"{r.row}: event {r.source_id} station {r.station_code} {r.trace_phase}"
                for r in raw[later].head(3).itertuples()
            ],
        )
    return raw[~later]


def _events(raw: pd.DataFrame) -> pd.DataFrame:
    """One row per event (first row's values); warn when rows of an event disagree."""
    events = raw[list(EVENT_COLUMNS)].drop_duplicates("source_id", keep="first")
    nunique = raw.groupby("source_id")[
        ["source_origin_time", "source_latitude_deg", "source_longitude_deg", "source_depth_km"]
    ].nunique()
    disagree = nunique[(nunique > 1).any(axis=1)]
    if len(disagree):
        log.warning(
            "%d event(s) have rows with different origins (e.g. event %s); the first row's origin is used",
            len(disagree),
            disagree.index[0],
        )
    return events


def _magnitudes(events: pd.DataFrame, default_magnitude: float | None, skips: Skips) -> pd.DataFrame:
    """Step 5: default or drop events without a magnitude."""
    missing = events["source_magnitude"].isna()
    if not missing.any():
        return events
    events = events.copy()
    if default_magnitude is None:
        skips.add(
            "events: no magnitude (catalog.default_magnitude is null)",
            int(missing.sum()),
            examples=[f"event {e}" for e in events.loc[missing, "source_id"][:5]],
        )
        return events[~missing]
    log.info(
        "%d event(s) without a magnitude get default_magnitude %.2f (magnitude type '')",
        int(missing.sum()),
        default_magnitude,
    )
    events.loc[missing, "source_magnitude"] = float(default_magnitude)
    events.loc[missing, "source_magnitude_type"] = ""
    return events


def _geometry(table: pd.DataFrame) -> pd.DataFrame:
    """Step 6: fill distance (deg) and back azimuth (deg) where missing; km from deg."""
    table = table.copy()
    ev = (table["source_latitude_deg"], table["source_longitude_deg"])
    st = (table["station_latitude_deg"], table["station_longitude_deg"])
    dist = pd.to_numeric(table["path_ep_distance_deg"], errors="coerce")
    fill = dist.isna()
    if fill.any():
        dist = dist.where(~fill, epicentral_distance_deg(*ev, *st))
    baz = pd.to_numeric(table["path_back_azimuth_deg"], errors="coerce")
    fill = baz.isna()
    if fill.any():
        baz = baz.where(~fill, azimuth_deg(*st, *ev))
    table["path_ep_distance_deg"] = dist.astype(float)
    table["path_ep_distance_km"] = dist.astype(float) * KM_PER_DEG
    table["path_back_azimuth_deg"] = baz.astype(float)
    return table


def assemble_arrivals(
    raw: pd.DataFrame,
    *,
    label_rule: str = "auto",
    suspected_explosions: bool = True,
    default_magnitude: float | None = 2.5,
    skips: Skips | None = None,
    source: str = "catalogue",
) -> pd.DataFrame:
    """Turn raw per-pick rows into the contract's arrivals table (see module docstring).

    ``source`` names the input in messages. Skipped rows and events are counted in
    ``skips``.
    """
    skips = Skips() if skips is None else skips
    missing = [c for c in RAW_COLUMNS if c not in raw.columns]
    if missing:  # a programming error in a reader, not bad input
        raise KeyError(f"raw rows lack {missing}")
    if raw.empty:
        return empty_arrivals()
    raw = raw.assign(
        station_location_code=raw["station_location_code"].fillna("").astype(str),
        source_magnitude_type=raw["source_magnitude_type"].fillna("").astype(str),
        event_type_code=raw["event_type_code"].fillna("").astype(str),
    )
    picks = _first_p(raw, skips)
    if picks.empty:
        return empty_arrivals()
    events = label_events(
        _events(picks), label_rule=label_rule, suspected_explosions=suspected_explosions, skips=skips, source=source
    )
    events = _magnitudes(events, default_magnitude, skips)
    station_cols = [c for c in picks.columns if c not in EVENT_COLUMNS or c == "source_id"]
    table = events.merge(picks[station_cols], on="source_id", how="inner", validate="one_to_many")
    table = _geometry(table)
    table = coerce_arrivals(table)
    return table.sort_values(
        ["source_origin_time", "source_id", "trace_p_arrival_time", "station_network_code", "station_code"],
        kind="stable",
    ).reset_index(drop=True)
