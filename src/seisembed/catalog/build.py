"""Build the arrivals table from the configured source, filter it, summarise it.

:func:`build_catalog` is what ``seisembed catalog`` runs. Sources (config
``catalog.source``):

``isc``
    ISC's STNARRIVALS web service (:mod:`seisembed.catalog.isc_web`).
``file``
    ``catalog.file``: an ISC arrivals CSV (``.csv``, ``.csv.gz``, ``.txt``), an
    arrivals parquet following the catalog contract (a user's own table; its
    labels are kept), or QuakeML (``.xml``, ``.quakeml``, ``.qml``; any other
    suffix is tried as an ObsPy event format such as IMS1.0) with station
    coordinates from ``catalog.inventory`` (StationXML).
``synthetic``
    ``<synthetic.output_dir>/events.xml`` + ``stations.xml``, the generator's
    QuakeML and StationXML, read exactly like a user's QuakeML.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from seisembed.atomic import write_json_atomic
from seisembed.catalog.assemble import assemble_arrivals
from seisembed.catalog.filters import apply_filters
from seisembed.catalog.isc_csv import parse_isc_csv_text, read_text
from seisembed.catalog.networks import read_station_networks
from seisembed.catalog.quakeml import quakeml_raw_rows, read_catalog_file, read_inventory_file
from seisembed.catalog.readers import CSV_SUFFIXES, PARQUET_SUFFIXES, read_arrivals_parquet
from seisembed.catalog.skips import Skips
from seisembed.config import validate_config
from seisembed.errors import ConfigError, InputError
from seisembed.paths import synthetic_paths

log = logging.getLogger(__name__)

__all__ = ["build_catalog", "input_files", "summarise", "write_json_atomic"]


def input_files(config: dict) -> list[Path]:
    """The input files the configured source reads (empty for ``isc``)."""
    config = validate_config(config)
    catalog = config["catalog"]
    source = catalog["source"]
    if source == "synthetic":
        paths = synthetic_paths(config["synthetic"])
        return [paths["events"], paths["stations"]]
    if source == "file":
        if not catalog["file"]:
            raise ConfigError(
                "config key 'catalog.file' must name an arrivals CSV, parquet or QuakeML file when catalog.source is 'file'"
            )
        files = [Path(catalog["file"])]
        if _kind(files[0]) == "quakeml":
            if not catalog["inventory"]:
                raise ConfigError(
                    f"config key 'catalog.inventory' must name a StationXML file: the QuakeML {files[0]} carries no station coordinates"
                )
            files.append(Path(catalog["inventory"]))
        return files
    return []  # isc: nothing local (the schema allows only synthetic, file, isc)


def _kind(path: Path) -> str:
    """``csv``, ``parquet`` or ``quakeml`` from the file name."""
    name = path.name.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    return "quakeml"


def _label_options(catalog: dict) -> dict:
    return {
        "label_rule": catalog["label_rule"],
        "suspected_explosions": catalog["suspected_explosions"],
        "default_magnitude": catalog["default_magnitude"],
    }


def _raw_from_source(config: dict, skips: Skips) -> tuple[pd.DataFrame | None, pd.DataFrame | None, dict]:
    """(raw rows, or None) and (ready table, or None) and a record of what was read."""
    catalog = config["catalog"]
    source = catalog["source"]
    networks = read_station_networks(catalog["station_networks"])
    files = input_files(config)
    for path in files:
        if not path.is_file():
            hint = (
                " (run the synthesize rule first: snakemake resources/synthetic/events.xml)"
                if source == "synthetic"
                else ""
            )
            raise InputError(f"catalog source '{source}': input file {path} does not exist{hint}")
    record: dict = {"source": source, "inputs": [str(p) for p in files]}
    if source == "isc":
        from seisembed.catalog.isc_web import fetch_isc_raw

        raw, record["isc"] = fetch_isc_raw(catalog, skips=skips, station_networks=networks)
        return raw, None, record
    kind = _kind(files[0])
    if kind == "csv":
        raw = parse_isc_csv_text(
            read_text(files[0]),
            origin=str(files[0]),
            default_network_code=catalog["default_network_code"],
            station_networks=networks,
            skips=skips,
        )
        return raw.drop(columns=["label_y"], errors="ignore"), None, record
    if kind == "parquet":
        return None, read_arrivals_parquet(files[0]), record
    events = read_catalog_file(files[0])
    inventory = read_inventory_file(files[1])
    raw = quakeml_raw_rows(events, inventory, origin_name=str(files[0]), skips=skips)
    record["quakeml_events"] = len(events)
    return raw, None, record


def build_catalog(config: dict) -> tuple[pd.DataFrame, dict]:
    """Build, filter and summarise the arrivals table for ``config`` (sections dict).

    Returns ``(arrivals, summary)``; the summary is JSON-able (see
    :func:`summarise`).
    """
    from seisembed.provenance import provenance

    config = validate_config(config)
    catalog = config["catalog"]
    skips = Skips()
    raw, table, record = _raw_from_source(config, skips)
    # rows the readers dropped (malformed lines, bad times, unknown stations...) were read too
    rows_read = (len(raw) if raw is not None else len(table)) + _row_skips(skips)
    if table is None:
        table = assemble_arrivals(
            raw,
            skips=skips,
            source=f"catalog source '{record['source']}' ({', '.join(record['inputs']) or 'ISC web service'})",
            **_label_options(catalog),
        )
    rows_in = len(table)
    filtered, filters = apply_filters(table, catalog)
    if filtered.empty:
        log.warning("the arrivals table is empty after the filters; check the catalog section of the config")
    skips.log(log)
    summary = summarise(filtered, record=record, rows_read=rows_read, rows_in=rows_in, filters=filters, skips=skips)
    summary["provenance"] = provenance({k: config[k] for k in ("catalog", "synthetic", "seed", "study")})
    return filtered, summary


def _row_skips(skips: Skips) -> int:
    """Number of skipped rows (reasons starting ``rows:``) counted so far."""
    return int(sum(count for reason, count in skips.counts.items() if reason.startswith("rows:")))


def summarise(
    table: pd.DataFrame, *, record: dict, rows_read: int, rows_in: int, filters: list[dict], skips: Skips
) -> dict:
    """The ``summary.json`` record: counts in, per filter and out; skips with reasons.

    ``rows_read``: reported arrivals (or picks) in the input, including the rows
    the reader skipped; ``rows_in``: first-P arrivals before the filters.
    """
    events = table.drop_duplicates("source_id")
    return {
        **record,
        "rows_read": int(rows_read),
        "rows_in": int(rows_in),
        "filters": filters,
        "rows_out": int(len(table)),
        "events": int(len(events)),
        "stations": int(table[["station_network_code", "station_code"]].drop_duplicates().shape[0]),
        "explosions": int((events["source_type"] == "explosion").sum()),
        "earthquakes": int((events["source_type"] == "earthquake").sum()),
        "explosion_rows": int((table["source_type"] == "explosion").sum()),
        "earthquake_rows": int((table["source_type"] == "earthquake").sum()),
        "source_type_raw": {str(k): int(v) for k, v in events["source_type_raw"].value_counts().sort_index().items()},
        "skipped": skips.as_dict(),
    }
