"""Catalog stage: build the arrivals table (one row per event-station, first P arrival).

Sources: ISC's STNARRIVALS web service (:mod:`seisembed.catalog.isc_web`), a local
ISC arrivals CSV (:func:`read_isc_csv`), QuakeML with picks plus StationXML
(:func:`read_quakeml`), an arrivals parquet (:func:`read_arrivals_table`) and the
synthetic study's QuakeML. Every source goes through
:func:`seisembed.catalog.assemble.assemble_arrivals`, so the same rules (first P-type
arrival, labels, magnitudes, geometry) apply to all; :func:`build_catalog` adds the
configured filters and the summary.
"""

from seisembed.arrivals import coerce_arrivals, empty_arrivals, validate_arrivals
from seisembed.atomic import write_parquet_atomic
from seisembed.catalog.build import build_catalog
from seisembed.catalog.filters import apply_filters
from seisembed.catalog.isc_csv import parse_isc_csv_text, read_isc_csv
from seisembed.catalog.quakeml import read_quakeml
from seisembed.catalog.readers import read_arrivals_table
from seisembed.catalog.skips import Skips

__all__ = [
    "Skips",
    "apply_filters",
    "build_catalog",
    "coerce_arrivals",
    "empty_arrivals",
    "parse_isc_csv_text",
    "read_arrivals_table",
    "read_isc_csv",
    "read_quakeml",
    "validate_arrivals",
    "write_parquet_atomic",
]
