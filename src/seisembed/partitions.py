"""Partitions: how the waveform work is cut so Snakemake can (re)run pieces independently.

A partition is the month of the event's origin time, named ``YYYY-MM``. The
list is derived from the configured study period, so it is known when the
workflow is parsed (before the catalogue exists); a partition with no events
yields empty, valid outputs.
"""

from __future__ import annotations

import pandas as pd

from seisembed.errors import ConfigError


def month_partitions(starttime: str, endtime: str) -> list[str]:
    """Month names ``YYYY-MM`` overlapping ``[starttime, endtime)`` (UTC ISO strings)."""
    try:
        start = pd.Timestamp(starttime)
        end = pd.Timestamp(endtime)
    except ValueError as exc:
        raise ConfigError(f"config keys 'catalog.starttime'/'catalog.endtime': cannot parse {starttime!r}/{endtime!r}: {exc}") from exc
    if end <= start:
        raise ConfigError(f"config key 'catalog.endtime' ({endtime}) must be after 'catalog.starttime' ({starttime})")
    months = pd.period_range(start.to_period("M"), (end - pd.Timedelta("1ns")).to_period("M"), freq="M")
    return [str(m) for m in months]


def partition_of(origin_times: pd.Series) -> pd.Series:
    """Partition name (``YYYY-MM``) of each origin time (tz-aware UTC or naive UTC)."""
    times = pd.to_datetime(origin_times, utc=True)
    return times.dt.strftime("%Y-%m")
