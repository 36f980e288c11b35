"""The arrivals contract (``results/catalog/arrivals.parquet``) in one place.

:func:`validate_arrivals` is the one check of an arrivals table, called by every
reader and stage that takes one: the catalog's file readers and its output, the
synthetic generator's input, the waveform stage and the dataset build. It checks
the columns, coerces the dtypes, and rejects unknown labels, missing times or
coordinates, coordinates out of range and duplicate (event, station) rows, each
with an :class:`~seisembed.errors.InputError` naming the table and the row.
"""

from __future__ import annotations

import logging

import pandas as pd

from seisembed.columns import ARRIVAL_COLUMNS, SOURCE_TYPES
from seisembed.errors import InputError

log = logging.getLogger(__name__)

__all__ = ["STATION_KEY", "coerce_arrivals", "empty_arrivals", "to_utc_ns", "validate_arrivals"]

TIME_COLUMNS = ("source_origin_time", "trace_p_arrival_time")
STRING_COLUMNS = (
    "source_id",
    "source_magnitude_type",
    "source_type",
    "source_type_raw",
    "station_network_code",
    "station_code",
    "station_location_code",
    "trace_phase",
)
FLOAT_COLUMNS = tuple(c for c in ARRIVAL_COLUMNS if c not in TIME_COLUMNS + STRING_COLUMNS)

#: the (event, station) key: one output row per key
STATION_KEY = ["source_id", "station_network_code", "station_code"]


def empty_arrivals() -> pd.DataFrame:
    """An arrivals table with no rows and the contract's columns and dtypes."""
    return coerce_arrivals(pd.DataFrame({c: [] for c in ARRIVAL_COLUMNS}))


def to_utc_ns(values) -> pd.Series:
    """Timestamps as ``datetime64[ns, UTC]`` (naive values are taken as UTC)."""
    series = pd.to_datetime(pd.Series(values), utc=True)
    return series.astype("datetime64[ns, UTC]")


def coerce_arrivals(table: pd.DataFrame) -> pd.DataFrame:
    """Return ``table`` with exactly the contract columns, in order, with contract dtypes.

    Times become ``datetime64[ns, UTC]`` (naive times are taken as UTC),
    measurements ``float64`` (units as in the column names: degrees, km, m), the
    rest ``str`` (missing magnitude type and location code become ``""``). Raises
    :class:`InputError` naming missing columns, or the column and row of a value
    that is not a time or not a number.
    """
    missing = [c for c in ARRIVAL_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(f"arrivals table lacks column(s) {', '.join(missing)}; expected {', '.join(ARRIVAL_COLUMNS)}")
    out = pd.DataFrame(index=pd.RangeIndex(len(table)))
    for column in ARRIVAL_COLUMNS:
        values = table[column].reset_index(drop=True)
        if column in TIME_COLUMNS:
            out[column] = _checked(values, column, to_utc_ns)
        elif column in FLOAT_COLUMNS:
            out[column] = _checked(values, column, lambda v: pd.to_numeric(v, errors="raise").astype("float64"))
        else:
            out[column] = values.fillna("").astype(str)
    return out


def _checked(values: pd.Series, column: str, convert) -> pd.Series:
    """``convert(values)``; on failure an :class:`InputError` naming the column and first bad row."""
    try:
        return convert(values)
    except (ValueError, TypeError, OverflowError) as exc:
        bad = next((i for i, v in enumerate(values) if not _converts(v, convert)), None)
        where = f" row {bad} ({values.iloc[bad]!r})" if bad is not None else ""
        raise InputError(f"arrivals table column {column}:{where} cannot be converted: {exc}") from exc


def _converts(value, convert) -> bool:
    """True when ``convert`` accepts the single ``value``."""
    try:
        convert(pd.Series([value], dtype=object))
    except (ValueError, TypeError, OverflowError):
        return False
    return True


def validate_arrivals(
    table: pd.DataFrame,
    name: str = "arrivals table",
    warn_extra: bool = True,
    unique: tuple[str, ...] | list[str] = tuple(STATION_KEY),
) -> pd.DataFrame:
    """Check an arrivals table against the contract; return it coerced.

    Raises :class:`InputError` for missing columns, values that are not times or
    numbers, unknown ``source_type`` values, missing times or coordinates, or
    duplicate (event, station) rows. Columns outside the contract are dropped
    (logged as a warning unless ``warn_extra`` is false: later stages add columns).
    ``unique``: the columns that identify a row (default: event, network, station;
    the waveform stage adds the location code, since it may cut one window per
    location of a station).
    """
    extra = [str(c) for c in table.columns if c not in ARRIVAL_COLUMNS]
    if extra and warn_extra:
        log.warning(
            "%s: ignoring %d column(s) that are not in the catalog contract: %s", name, len(extra), ", ".join(extra)
        )
    try:
        table = coerce_arrivals(table)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{name}: {exc}") from exc
    bad_type = ~table["source_type"].isin(SOURCE_TYPES)
    if bad_type.any():
        row = table[bad_type].iloc[0]
        raise InputError(
            f"{name}: source_type {row['source_type']!r} of event {row['source_id']} is not one of {', '.join(SOURCE_TYPES)}"
        )
    for column in TIME_COLUMNS + (
        "source_latitude_deg",
        "source_longitude_deg",
        "station_latitude_deg",
        "station_longitude_deg",
    ):
        missing = table[column].isna()
        if missing.any():
            row = table[missing].iloc[0]
            raise InputError(
                f"{name}: {missing.sum()} row(s) without {column}, e.g. event {row['source_id']} station {row['station_code']}"
            )
    _check_ranges(table, name)
    dup = table.duplicated(list(unique)) if unique else pd.Series(False, index=table.index)
    if dup.any():
        row = table[dup].iloc[0]
        raise InputError(
            f"{name}: {dup.sum()} duplicate (event, station) row(s), e.g. event {row['source_id']} station {row['station_network_code']}.{row['station_code']}"
        )
    return table


#: valid ranges of the contract's coordinate columns (degrees), as the CSV reader enforces them
COORDINATE_RANGES: dict[str, tuple[float, float]] = {
    "source_latitude_deg": (-90.0, 90.0),
    "source_longitude_deg": (-180.0, 180.0),
    "station_latitude_deg": (-90.0, 90.0),
    "station_longitude_deg": (-180.0, 180.0),
    "path_ep_distance_deg": (0.0, 180.0),
    "path_back_azimuth_deg": (-360.0, 360.0),
}


def _check_ranges(table: pd.DataFrame, name: str) -> None:
    """Raise :class:`InputError` naming the first row whose coordinates are out of range."""
    for column, (low, high) in COORDINATE_RANGES.items():
        values = table[column]
        bad = values.notna() & ((values < low) | (values > high))
        if bad.any():
            row = table[bad].iloc[0]
            raise InputError(
                f"{name}: {int(bad.sum())} row(s) with {column} outside [{low:g}, {high:g}], e.g. "
                f"{row[column]!r} for event {row['source_id']} station {row['station_network_code']}.{row['station_code']}"
            )
