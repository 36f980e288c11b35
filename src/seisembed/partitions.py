"""Month partitions of a study: the unit of the waveform stage's work and of its outputs.

A partition is a month ``YYYY-MM`` (UTC) of the catalogue period; the waveform stage
writes ``results/waveforms/<partition>/`` for each, and the dataset stage reads them all.
Stages and the Snakefile (through :mod:`seisembed.workflow`) share these functions.
"""

from __future__ import annotations

import pandas as pd

from seisembed.errors import ConfigError

__all__ = ["check_partition", "month_partitions", "partition_of"]


def _utc(value, key: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"config key '{key}': cannot parse {value!r} as an ISO 8601 UTC time: {exc}") from exc
    if pd.isna(stamp):
        raise ConfigError(f"config key '{key}': {value!r} is not a time; give an ISO 8601 UTC time such as 2014-01-01")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def month_partitions(starttime: str, endtime: str) -> list[str]:
    """Month names ``YYYY-MM`` overlapping ``[starttime, endtime)`` (UTC ISO strings)."""
    start, end = _utc(starttime, "catalog.starttime"), _utc(endtime, "catalog.endtime")
    if end <= start:
        raise ConfigError(f"config key 'catalog.endtime' ({endtime}) must be after 'catalog.starttime' ({starttime})")
    months = pd.period_range(
        start.tz_localize(None).to_period("M"), (end - pd.Timedelta("1ns")).tz_localize(None).to_period("M"), freq="M"
    )
    return [str(m) for m in months]


def check_partition(partition: str, catalog: dict) -> None:
    """Raise :class:`ConfigError` unless ``partition`` is a month of the catalogue period.

    A partition such as ``2014-13`` (no such month) or ``2013-05`` (outside
    ``catalog.starttime``..``catalog.endtime``) would otherwise run and write
    empty, valid-looking outputs.
    """
    try:
        valid = pd.Period(partition, freq="M")
    except ValueError:
        valid = None
    if valid is None or str(valid) != partition:
        raise ConfigError(f"partition {partition!r} is not a month name YYYY-MM (01..12)")
    months = month_partitions(catalog["starttime"], catalog["endtime"])
    if partition not in months:
        raise ConfigError(
            f"partition {partition} lies outside the catalogue period {catalog['starttime']} .. {catalog['endtime']} "
            f"(config keys 'catalog.starttime'/'catalog.endtime'; partitions {months[0]} .. {months[-1]})"
        )


def partition_of(origin_times: pd.Series) -> pd.Series:
    """Partition name (``YYYY-MM``) of each origin time (tz-aware UTC or naive UTC)."""
    return pd.to_datetime(origin_times, utc=True).dt.strftime("%Y-%m")
