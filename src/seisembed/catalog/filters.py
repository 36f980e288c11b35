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
from collections.abc import Callable

import pandas as pd

from seisembed.config import section
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
        raise ConfigError(
            f"config key 'catalog.{key}': {value!r} is not a time; give an ISO 8601 UTC time such as 2014-01-01T00:00:00"
        )
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


#: a filter: (name, description, mask function of the table or None for "keep all")
Filter = tuple[str, str, Callable[[pd.DataFrame], pd.Series] | None]


def _time_filter(cfg: dict) -> Filter:
    start, end = _timestamp(cfg["starttime"], "starttime"), _timestamp(cfg["endtime"], "endtime")
    if end <= start:
        raise ConfigError(
            f"config key 'catalog.endtime' ({cfg['endtime']}) must be after 'catalog.starttime' ({cfg['starttime']})"
        )
    return "time", f"origin time in [{start}, {end})", lambda t: t["source_origin_time"].between(start, end, "left")


def _box_filter(cfg: dict) -> Filter:
    lat0, lat1, lon0, lon1 = (cfg[k] for k in ("min_latitude", "max_latitude", "min_longitude", "max_longitude"))
    if lat0 > lat1 or lon0 > lon1:
        raise ConfigError(
            "config keys 'catalog.min_latitude'..'catalog.max_longitude': "
            f"empty event box lat [{lat0}, {lat1}] lon [{lon0}, {lon1}]"
        )

    def mask(t: pd.DataFrame) -> pd.Series:
        return t["source_latitude_deg"].between(lat0, lat1) & t["source_longitude_deg"].between(lon0, lon1)

    return "event_box", f"event in lat [{lat0}, {lat1}], lon [{lon0}, {lon1}]", mask


def _networks_filter(cfg: dict) -> Filter:
    networks = list(cfg["networks"])
    if not networks:
        return "networks", "all networks", None
    return "networks", f"network in {networks}", lambda t: t["station_network_code"].isin(networks)


def _stations_filter(cfg: dict) -> Filter:
    stations = list(cfg["stations"])
    if not stations:
        return "stations", "all stations", None
    return "stations", f"{len(stations)} listed station(s)", lambda t: t["station_code"].isin(stations)


def _distance_filter(cfg: dict) -> Filter:
    d0, d1 = cfg["min_distance_deg"], cfg["max_distance_deg"]
    if d0 > d1:
        raise ConfigError(f"config key 'catalog.min_distance_deg' ({d0}) exceeds 'catalog.max_distance_deg' ({d1})")
    return "distance", f"distance in [{d0}, {d1}] deg", lambda t: t["path_ep_distance_deg"].between(d0, d1)


def _magnitude_filter(cfg: dict) -> Filter:
    m0, m1 = cfg["min_magnitude"], cfg["max_magnitude"]
    if m0 is not None and m1 is not None and m0 > m1:
        raise ConfigError(f"config key 'catalog.min_magnitude' ({m0}) exceeds 'catalog.max_magnitude' ({m1})")
    if m0 is None and m1 is None:
        return "magnitude", f"magnitude in [{m0}, {m1}]", None
    lo = -float("inf") if m0 is None else m0
    hi = float("inf") if m1 is None else m1
    return "magnitude", f"magnitude in [{m0}, {m1}]", lambda t: t["source_magnitude"].between(lo, hi)


def _min_stations_filter(cfg: dict) -> Filter:
    n = cfg["min_stations_per_event"]
    if n <= 1:
        return "min_stations", f"events with >= {n} station(s)", None
    return (
        "min_stations",
        f"events with >= {n} station(s)",
        lambda t: t.groupby("source_id")["station_code"].transform("size") >= n,
    )


def filters(cfg: dict) -> list[Filter]:
    """The filters of a validated ``catalog`` section, in :data:`FILTER_ORDER`."""
    return [
        _time_filter(cfg),
        _box_filter(cfg),
        _networks_filter(cfg),
        _stations_filter(cfg),
        _distance_filter(cfg),
        _magnitude_filter(cfg),
        _min_stations_filter(cfg),
    ]


def apply_filters(table: pd.DataFrame, catalog: dict) -> tuple[pd.DataFrame, list[dict]]:
    """Apply the ``catalog`` config's filters in :data:`FILTER_ORDER`; return (table, records).

    ``catalog`` is the config section as given (missing keys take the schema's defaults).
    """
    records = []
    for name, description, mask in filters(section("catalog", catalog)):
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
        log.info(
            "filter %-12s %-45s rows %7d -> %7d, events %5d -> %5d",
            name,
            description,
            rows_in,
            len(table),
            events_in,
            record["events_out"],
        )
    return table.reset_index(drop=True), records
