"""Read any arrivals table: an ISC arrivals CSV or an arrivals parquet (the contract)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from seisembed.arrivals import validate_arrivals
from seisembed.catalog.isc_csv import read_isc_csv
from seisembed.errors import InputError

CSV_SUFFIXES = (".csv", ".csv.gz", ".txt", ".txt.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")


def read_arrivals_parquet(path: str | Path) -> pd.DataFrame:
    """Read and validate an arrivals parquet following the catalog contract.

    Raises :class:`InputError` naming ``path`` when it cannot be read or breaks
    the contract (see :func:`seisembed.arrivals.validate_arrivals`).
    """
    try:
        table = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"arrivals table {path} is not a readable parquet file: {exc}") from exc
    return validate_arrivals(table, name=f"arrivals table {path}")


def read_arrivals_table(path: str | Path, **isc_options) -> pd.DataFrame:
    """Read an arrivals table from an ISC CSV (``.csv``/``.csv.gz``) or a parquet file.

    A parquet file must follow the catalog contract (a previous
    ``results/catalog/arrivals.parquet`` or a user's own table); it is validated
    and returned with the contract's columns, order and dtypes. For a CSV,
    ``isc_options`` go to :func:`read_isc_csv` (default ``label_rule="auto"``:
    event types when present, else the depth-0 rule).
    """
    path = Path(path)
    name = path.name.lower()
    if not path.is_file():
        raise InputError(f"arrivals table {path} does not exist")
    if name.endswith(PARQUET_SUFFIXES):
        return read_arrivals_parquet(path)
    if name.endswith(CSV_SUFFIXES):
        return read_isc_csv(path, **isc_options)
    raise InputError(
        f"arrivals table {path}: unknown format; expected an ISC arrivals CSV (.csv, .csv.gz) or an arrivals parquet (.parquet)"
    )
