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
  (ISO 8601, UTC) and optionally ``station_location_code`` and ``source_type``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from seisembed.columns import trace_names
from seisembed.errors import InputError

__all__ = ["PICK_COLUMNS", "normalise_picks", "read_picks"]

log = logging.getLogger(__name__)

#: columns a picks table must have
PICK_COLUMNS = ("source_id", "station_network_code", "station_code", "trace_p_arrival_time")
QUAKEML_SUFFIXES = (".xml", ".qml", ".quakeml")


def normalise_picks(picks: pd.DataFrame, name: str = "picks") -> pd.DataFrame:
    """Check and normalise a picks table (codes as str, UTC times, one row per event and station).

    Raises :class:`InputError` naming ``name`` and the row for missing columns,
    unparseable times or repeated (event, station, location) rows.
    """
    if not isinstance(picks, pd.DataFrame):
        raise InputError(f"{name}: expected a pandas DataFrame of picks, got {type(picks).__name__}")
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
        out[column] = out[column].fillna("").astype(str)
    times = pd.to_datetime(out["trace_p_arrival_time"], utc=True, errors="coerce")
    bad = times.isna()
    if bad.any():
        row = int(bad.idxmax())
        raise InputError(
            f"{name}: row {row} ({out.at[row, 'source_id']} {out.at[row, 'station_network_code']}."
            f"{out.at[row, 'station_code']}): trace_p_arrival_time {picks['trace_p_arrival_time'].iloc[row]!r} is not a time"
        )
    out["trace_p_arrival_time"] = times.astype("datetime64[ns, UTC]")
    out["trace_name"] = trace_names(out)
    repeated = out["trace_name"].duplicated()
    if repeated.any():
        raise InputError(
            f"{name}: {int(repeated.sum())} repeated (event, station, location) row(s), first "
            f"{out.loc[repeated, 'trace_name'].iloc[0]}; give one P pick per event and station"
        )
    return out


def read_picks(path: str | Path, inventory=None) -> pd.DataFrame:
    """Read picks from QuakeML (needs ``inventory``: a StationXML path or Inventory), an arrivals table or a picks table."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"picks file {path} does not exist")
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
        try:
            header = pd.read_csv(path, nrows=0)
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            raise InputError(f"picks file {path} is not a readable CSV file: {exc}") from exc
        if set(header.columns) & set(PICK_COLUMNS):  # a picks table (checked below), else ISC's format
            table = pd.read_csv(path, dtype=str, keep_default_na=False)
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
