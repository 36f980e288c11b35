"""Reading the arrivals table for the generator.

Prefers the catalog stage's reader (``seisembed.catalog.read_arrivals_table``);
until that exists, falls back to a minimal reader of the ISC STNARRIVALS CSV
(26 columns + Y) and of arrivals parquet files with the catalog contract columns.
The fallback takes the first P-type arrival per event-station, network "TA" for
Transportable-Array-style codes (a letter-digit-digit-letter pattern such as
``Q24A``) else "XX", and labels explosions by the Y column (depth-0 rule).
"""

from __future__ import annotations

import importlib
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

TA_PATTERN = re.compile(r"^[A-Z]\d{2}[A-Z]$|^[A-Z]{3}\d{2}$|^TA[A-Z0-9]{1,3}$")


def read_arrivals(path: str | Path) -> pd.DataFrame:
    """The arrivals table from an ISC CSV (.csv/.csv.gz) or a parquet file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"arrivals table {path} does not exist")
    try:
        catalog = importlib.import_module("seisembed.catalog")
        reader = getattr(catalog, "read_arrivals_table")
    except (ImportError, AttributeError):
        reader = None
    if reader is not None:
        return reader(path)
    logger.info("seisembed.catalog.read_arrivals_table not available; using the generator's own reader")
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return isc_csv_to_arrivals(path)


def isc_csv_to_arrivals(path: str | Path, default_network: str = "XX") -> pd.DataFrame:
    """Minimal ISC STNARRIVALS CSV -> catalog contract table (first P-type arrival per event-station)."""
    raw = pd.read_csv(path)
    need = ["EVENTID", "STA", "LAT", "LON", "ELEV", "DIST", "BAZ", "ISCPHASE", "TIME", "DATE_1", "TIME_1",
            "LAT_1", "LON_1", "DEPTH", "TYPE", "MAG", "Y"]
    missing = [c for c in need if c not in raw.columns]
    if missing:
        raise ValueError(f"{path}: missing ISC CSV column(s) {missing}")
    raw = raw[raw["ISCPHASE"].astype(str).str.startswith("P")].copy()
    raw["t"] = pd.to_datetime(raw["TIME"], utc=True, format="ISO8601")
    raw = raw.sort_values(["EVENTID", "STA", "t"], kind="mergesort").drop_duplicates(["EVENTID", "STA"])
    sta = raw["STA"].astype(str)
    out = pd.DataFrame({
        "source_id": raw["EVENTID"].astype(str),
        "source_origin_time": pd.to_datetime(raw["DATE_1"] + " " + raw["TIME_1"], utc=True, format="ISO8601"),
        "source_latitude_deg": raw["LAT_1"].astype(float),
        "source_longitude_deg": raw["LON_1"].astype(float),
        "source_depth_km": raw["DEPTH"].astype(float),
        "source_magnitude": raw["MAG"].astype(float),
        "source_magnitude_type": raw["TYPE"].fillna("").astype(str),
        "source_type": np.where(raw["Y"] == 1, "explosion", "earthquake"),
        "source_type_raw": np.where(raw["Y"] == 1, "depth0", ""),
        "station_network_code": np.where(sta.str.match(TA_PATTERN), "TA", default_network),
        "station_code": sta,
        "station_location_code": "",
        "station_latitude_deg": raw["LAT"].astype(float),
        "station_longitude_deg": raw["LON"].astype(float),
        "station_elevation_m": raw["ELEV"].astype(float),
        "trace_phase": raw["ISCPHASE"].astype(str),
        "trace_p_arrival_time": raw["t"],
        "path_ep_distance_deg": raw["DIST"].astype(float),
        "path_ep_distance_km": raw["DIST"].astype(float) * 111.19,
        "path_back_azimuth_deg": raw["BAZ"].astype(float),
    })
    return out.reset_index(drop=True)
