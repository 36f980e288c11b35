"""Filters of the arrivals table, applied in a fixed order and counted.

Order (each on the output of the previous one):

1. ``time``: origin time in ``[catalog.starttime, catalog.endtime)`` (UTC);
2. ``event_box``: event latitude in ``[min_latitude, max_latitude]`` and longitude
   in ``[min_longitude, max_longitude]`` (degrees, edges inclusive);
3. ``networks``: station network code in ``catalog.networks`` (empty: all);
4. ``stations``: station code in ``catalog.stations`` (empty: all);
5. ``distance``: epicentral distance in ``[min_distance_deg, max_distance_deg]``;
6. ``magnitude``: magnitude in ``[min_magnitude, max_magnitude]`` (null: open);
7. ``min_stations``: events with at least ``min_stations_per_event`` rows left.

:func:`apply_filters` returns the filtered table and one record per filter with
the rows and events before and after.
"""

from __future__ import annotations

import logging

import pandas as pd

from seisembed.errors import ConfigError

log = logging.getLogger(__name__)

FILTER_ORDER = ("time", "event_box", "networks", "stations", "distance", "magnitude", "min_stations")


def _timestamp(value, key: str) -> pd.Timestamp:
    """Config time string as a UTC timestamp; :class:`ConfigError` naming ``key``."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"config key 'catalog.{key}': cannot parse {value!r} as an ISO 8601 time: {exc}") from exc
    if pd.isna(stamp):  # None or "NaT" would silently drop every row
        raise ConfigError(f"config key 'catalog.{key}': {value!r} is not a time; give an ISO 8601 UTC time such as 2014-01-01T00:00:00")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _masks(table: pd.DataFrame, cfg: dict):
    """Yield ``(name, description, mask function)`` for each filter, in order."""
    start, end = _timestamp(cfg.get("starttime"), "starttime"), _timestamp(cfg.get("endtime"), "endtime")
    if end <= start:
        raise ConfigError(f"config key 'catalog.endtime' ({cfg.get('endtime')}) must be after 'catalog.starttime' ({cfg.get('starttime')})")
    yield "time", f"origin time in [{start}, {end})", lambda t: (t["source_origin_time"] >= start) & (t["source_origin_time"] < end)
    lat0, lat1 = cfg.get("min_latitude", -90.0), cfg.get("max_latitude", 90.0)
    lon0, lon1 = cfg.get("min_longitude", -180.0), cfg.get("max_longitude", 180.0)
    if lat0 > lat1 or lon0 > lon1:
        raise ConfigError(f"config keys 'catalog.min_latitude'..'catalog.max_longitude': empty event box lat [{lat0}, {lat1}] lon [{lon0}, {lon1}]")
    yield "event_box", f"event in lat [{lat0}, {lat1}], lon [{lon0}, {lon1}]", lambda t: t["source_latitude_deg"].between(lat0, lat1) & t["source_longitude_deg"].between(lon0, lon1)
    networks = list(cfg.get("networks") or [])
    yield "networks", f"network in {networks}" if networks else "all networks", (lambda t: t["station_network_code"].isin(networks)) if networks else None
    stations = list(cfg.get("stations") or [])
    yield "stations", f"{len(stations)} listed station(s)" if stations else "all stations", (lambda t: t["station_code"].isin(stations)) if stations else None
    d0, d1 = cfg.get("min_distance_deg", 0.0), cfg.get("max_distance_deg", 180.0)
    if d0 > d1:
        raise ConfigError(f"config key 'catalog.min_distance_deg' ({d0}) exceeds 'catalog.max_distance_deg' ({d1})")
    yield "distance", f"distance in [{d0}, {d1}] deg", lambda t: t["path_ep_distance_deg"].between(d0, d1)
    m0, m1 = cfg.get("min_magnitude"), cfg.get("max_magnitude")
    if m0 is not None and m1 is not None and m0 > m1:
        raise ConfigError(f"config key 'catalog.min_magnitude' ({m0}) exceeds 'catalog.max_magnitude' ({m1})")
    magnitude = None
    if m0 is not None or m1 is not None:
        lo = -float("inf") if m0 is None else m0
        hi = float("inf") if m1 is None else m1
        magnitude = lambda t: t["source_magnitude"].between(lo, hi)  # noqa: E731
    yield "magnitude", f"magnitude in [{m0}, {m1}]", magnitude
    n = int(cfg.get("min_stations_per_event", 1))
    yield "min_stations", f"events with >= {n} station(s)", (lambda t: t.groupby("source_id")["station_code"].transform("size") >= n) if n > 1 else None


def apply_filters(table: pd.DataFrame, catalog: dict) -> tuple[pd.DataFrame, list[dict]]:
    """Apply the ``catalog`` config's filters in :data:`FILTER_ORDER`; return (table, records)."""
    records = []
    for name, description, mask in _masks(table, catalog):
        rows_in, events_in = len(table), table["source_id"].nunique()
        if mask is not None and len(table):
            table = table[mask(table).to_numpy(dtype=bool)]
        record = {
            "filter": name,
            "rule": description,
            "rows_in": rows_in,
            "rows_out": len(table),
            "events_in": int(events_in),
            "events_out": int(table["source_id"].nunique()),
        }
        records.append(record)
        log.info("filter %-12s %-45s rows %7d -> %7d, events %5d -> %5d", name, description, rows_in, len(table), events_in, record["events_out"])
    return table.reset_index(drop=True), records
