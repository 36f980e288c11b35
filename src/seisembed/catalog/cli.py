"""``seisembed catalog``: build ``results/catalog/arrivals.parquet`` and its summary."""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger(__name__)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the catalog stage's options to ``parser``."""
    group = parser.add_argument_group("catalog options")
    group.add_argument(
        "--output", default="results/catalog/arrivals.parquet", help="arrivals parquet to write (default: %(default)s)"
    )
    group.add_argument(
        "--summary", default="results/catalog/summary.json", help="summary JSON to write (default: %(default)s)"
    )
    group.add_argument("--source", choices=["synthetic", "file", "isc"], help="override config key catalog.source")
    group.add_argument("--file", help="override config key catalog.file (ISC CSV, arrivals parquet or QuakeML)")
    group.add_argument("--inventory", help="override config key catalog.inventory (StationXML for QuakeML)")


def _apply_overrides(config: dict, args: argparse.Namespace) -> dict:
    """Config with the command-line overrides applied (a shallow copy of the catalog section)."""
    config = dict(config)
    catalog = dict(config["catalog"])
    for key in ("source", "file", "inventory"):
        value = getattr(args, key, None)
        if value is not None:
            catalog[key] = value
    config["catalog"] = catalog
    return config


def run(args: argparse.Namespace) -> int:
    """Build the arrivals table and summary from ``args.config``; return an exit status."""
    from seisembed.atomic import write_parquet_atomic
    from seisembed.catalog.build import build_catalog, write_json_atomic
    from seisembed.config import validate_config

    config = validate_config(_apply_overrides(args.config, args))
    table, summary = build_catalog(config)
    write_parquet_atomic(table, args.output)
    write_json_atomic(summary, args.summary)
    log.info(
        "wrote %s: %d arrivals, %d events (%d explosions, %d earthquakes), %d stations; summary %s",
        args.output,
        len(table),
        summary["events"],
        summary["explosions"],
        summary["earthquakes"],
        summary["stations"],
        args.summary,
    )
    return 0
