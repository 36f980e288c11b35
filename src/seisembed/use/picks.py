"""Picks for new records: a QuakeML catalogue, an arrivals table, or a minimal picks table.

Whatever the input, the result is a table with one row per (event, station) and
at least the columns of :data:`PICK_COLUMNS`, plus ``trace_name`` and
``source_type`` (``""`` when the input does not say):

* QuakeML (``.xml``, ``.qml``, ``.quakeml``): read by the catalog stage's reader
  (:func:`seisembed.catalog.quakeml.read_quakeml`; the first P per event and
  station, labels from the event type), with station coordinates from the
  StationXML;
* an arrivals parquet or ISC CSV following the catalog contract
  (:func:`seisembed.catalog.readers.read_arrivals_table`);
* a minimal picks table (``.csv`` or ``.parquet``) with the columns
  ``source_id``, ``station_network_code``, ``station_code``, ``trace_p_arrival_time``
  (ISO 8601 with a date and a time of day, any precision, UTC unless an offset is
  given) and optionally ``station_location_code`` and ``source_type`` (``earthquake``,
  ``explosion`` or empty). A CSV is comma-separated: one separated by ``;``, tabs or
  ``|`` is refused with a message saying so (not read as an ISC arrivals CSV).
"""

from __future__ import annotations

import datetime
import gzip
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from seisembed.columns import SOURCE_TYPES, trace_names
from seisembed.errors import InputError

__all__ = ["PICK_COLUMNS", "normalise_picks", "read_picks"]

log = logging.getLogger(__name__)

#: columns a picks table must have
PICK_COLUMNS = ("source_id", "station_network_code", "station_code", "trace_p_arrival_time")
QUAKEML_SUFFIXES = (".xml", ".qml", ".quakeml")


#: a picks time: an ISO 8601 date and time of day (extended or basic format), any precision and offset
_TIME_TEXT = re.compile(r"^\d{4}-?\d{2}-?\d{2}[T ]\d{2}:?\d{2}")
#: separators of spreadsheets' "CSV" exports that are not commas, as a message names them
OTHER_SEPARATORS = {";": "';'", "\t": "tabs", "|": "'|'"}
#: what a source_type may say in a picks table ("": the input does not say)
PICK_SOURCE_TYPES = ("", *SOURCE_TYPES)
_TIME_RANGE = (pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC"))


def _parse_times(values: pd.Series) -> pd.Series:
    """UTC times of ``values`` (NaT where a value is not a date with a time of day).

    Strings are read as ISO 8601 (``format="ISO8601"``: each value on its own, so mixed
    precisions and offsets are fine; without an offset a time is UTC); datetime values
    are kept; numbers are never read as times (an epoch in seconds would be read as
    nanoseconds, silently wrong).
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(values):
        times = pd.to_datetime(values, utc=True)
    elif pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    else:

        def clean(value):
            if isinstance(value, str):
                value = value.strip()
                return value if _TIME_TEXT.match(value) else None
            return value if isinstance(value, (datetime.datetime, np.datetime64)) else None

        times = pd.to_datetime(values.map(clean), utc=True, errors="coerce", format="ISO8601")
    outside = (times < _TIME_RANGE[0]) | (times > _TIME_RANGE[1])
    return times.mask(outside).astype("datetime64[ns, UTC]")


def _first_bad_row(name: str, out: pd.DataFrame, bad: pd.Series, column: str, value, what: str) -> InputError:
    row = int(np.flatnonzero(bad.to_numpy())[0])
    value = value.item() if isinstance(value, np.generic) else value
    return InputError(
        f"{name}: row {row} ({out.at[row, 'source_id']} {out.at[row, 'station_network_code']}."
        f"{out.at[row, 'station_code']}): {column} {value!r} {what}"
        + (f" ({int(bad.sum())} such rows)" if int(bad.sum()) > 1 else "")
    )


def normalise_picks(picks: pd.DataFrame, name: str = "picks") -> pd.DataFrame:
    """Check and normalise a picks table (codes as str, UTC times, one row per event and station).

    Codes are stripped of surrounding blanks; times are ISO 8601 strings (each read on its
    own: mixed precisions and offsets are fine; no offset means UTC) or datetime values.
    Raises :class:`InputError` naming ``name`` and the row for repeated or missing columns,
    an empty ``source_id`` or ``station_code``, an unknown ``source_type``, a time that is
    not a date with a time of day, or repeated (event, station, location) rows.
    """
    if not isinstance(picks, pd.DataFrame):
        raise InputError(f"{name}: expected a pandas DataFrame of picks, got {type(picks).__name__}")
    repeated_columns = sorted({str(c) for c in picks.columns[picks.columns.duplicated()]})
    if repeated_columns:
        raise InputError(f"{name}: repeated column(s) {repeated_columns}; give each column once")
    missing = [c for c in PICK_COLUMNS if c not in picks.columns]
    if missing:
        raise InputError(f"{name}: missing column(s) {missing}; a picks table needs {list(PICK_COLUMNS)}")
    out = picks.copy().reset_index(drop=True)
    if out.empty:
        raise InputError(f"{name}: no picks")
    if "station_location_code" not in out.columns:
        out["station_location_code"] = ""
    if "source_type" not in out.columns:
        out["source_type"] = ""
    for column in ("source_id", "station_network_code", "station_code", "station_location_code", "source_type"):
        out[column] = out[column].fillna("").astype(str).str.strip()
    for column in ("source_id", "station_code"):
        empty = out[column] == ""
        if empty.any():
            raise _first_bad_row(name, out, empty, column, picks[column].iloc[int(empty.idxmax())], "is empty")
    # source_type is optional information: case does not matter, and other wording (a catalogue's
    # "quarry blast") is read as not known, counted and logged, rather than refusing the file
    out["source_type"] = out["source_type"].str.lower()
    unknown = ~out["source_type"].isin(PICK_SOURCE_TYPES)
    if unknown.any():
        first = int(unknown.idxmax())
        log.warning(
            "%s: %d pick(s) have a source_type other than %s (first: row %d, %r); read as not known",
            name,
            int(unknown.sum()),
            ", ".join(SOURCE_TYPES),
            first,
            picks["source_type"].iloc[first],
        )
        out.loc[unknown, "source_type"] = ""
    times = _parse_times(out["trace_p_arrival_time"])
    bad = times.isna()
    if bad.any():
        raise _first_bad_row(
            name,
            out,
            bad,
            "trace_p_arrival_time",
            picks["trace_p_arrival_time"].iloc[int(bad.idxmax())],
            "is not a time: give ISO 8601 UTC times with a date and a time of day, e.g. 2014-01-01T00:00:01.25Z",
        )
    out["trace_p_arrival_time"] = times
    out["trace_name"] = trace_names(out)
    repeated = out["trace_name"].duplicated()
    if repeated.any():
        raise InputError(
            f"{name}: {int(repeated.sum())} repeated (event, station, location) row(s), first "
            f"{out.loc[repeated, 'trace_name'].iloc[0]} (row {int(repeated.idxmax())}); give one P pick per event and station"
        )
    return out


def _first_line(path: Path) -> str:
    """The first line of a plain or gzipped text file (empty for an empty file)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            data = handle.readline(65536)
    except (OSError, EOFError) as exc:
        raise InputError(f"picks file {path} cannot be read (truncated, or not gzip?): {exc}") from exc
    try:
        return data.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        return data.decode("latin-1").strip()


def _check_separator(path: Path, header: str) -> None:
    """Refuse a table whose header is separated by ';', tabs or '|' rather than commas."""
    if "," in header:
        return
    known = {*PICK_COLUMNS, "station_location_code", "source_type", "EVENTID"}
    for separator, label in OTHER_SEPARATORS.items():
        names = {n.strip().strip('"').strip() for n in header.split(separator)}
        if len(names) > 1 and names & known:
            raise InputError(
                f"picks file {path}: its columns are separated by {label} — use commas (save it as a "
                f"comma-separated CSV); header {header[:200]!r}"
            )


def read_picks(path: str | Path, inventory=None) -> pd.DataFrame:
    """Read picks from QuakeML (needs ``inventory``: a StationXML path or Inventory), an arrivals table or a picks table."""
    from seisembed.argtypes import input_path

    path = input_path(path, "picks file")
    name = path.name.lower()
    if name.endswith(QUAKEML_SUFFIXES):
        from seisembed.catalog.quakeml import read_quakeml

        if inventory is None:
            raise InputError(f"picks file {path} is QuakeML: give the StationXML too (--inventory)")
        table = read_quakeml(path, inventory)
    elif name.endswith(".parquet"):
        try:
            table = pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise InputError(f"picks file {path} is not a readable parquet file: {exc}") from exc
    elif name.endswith((".csv", ".csv.gz")):
        if path.stat().st_size == 0:
            raise InputError(f"picks file {path} is empty; a picks table needs the columns {list(PICK_COLUMNS)}")
        _check_separator(path, _first_line(path))
        try:
            header = pd.read_csv(path, nrows=0)
        except (OSError, EOFError, ValueError, pd.errors.ParserError) as exc:
            raise InputError(f"picks file {path} is not a readable CSV file: {exc}") from exc
        if {str(c).strip() for c in header.columns} & set(PICK_COLUMNS):  # a picks table (checked below)
            try:
                table = pd.read_csv(path, dtype=str, keep_default_na=False)
            except (OSError, EOFError, ValueError, pd.errors.ParserError) as exc:
                raise InputError(f"picks file {path} is not a readable CSV file: {exc}") from exc
            table.columns = [str(c).strip() for c in table.columns]
        else:  # an ISC arrivals CSV
            from seisembed.catalog.readers import read_arrivals_table

            table = read_arrivals_table(path)
    else:
        raise InputError(
            f"picks file {path}: unknown format; expected QuakeML (.xml, .qml, .quakeml), a picks or arrivals "
            "table (.csv, .parquet) or an ISC arrivals CSV (.csv.gz)"
        )
    picks = normalise_picks(table, name=f"picks file {path}")
    log.info(
        "%s: %d picks, %d events, %d stations",
        path,
        len(picks),
        picks["source_id"].nunique(),
        picks["station_code"].nunique(),
    )
    return picks
