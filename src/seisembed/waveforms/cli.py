"""``seisembed waveforms``: make one partition's windows, or aggregate the ledgers.

Partition mode::

    seisembed waveforms --arrivals results/catalog/arrivals.parquet \\
        --partition 2014-03 --output-dir results/waveforms/2014-03

Summary mode::

    seisembed waveforms --summary results/waveforms/summary.json \\
        --qc results/waveforms/2014-*/qc.parquet
"""

from __future__ import annotations

import argparse
import logging
import re
from pathlib import Path

from seisembed.errors import ConfigError

HELP = "cut, rotate and resample P windows for one partition from FDSN or SDS"

log = logging.getLogger(__name__)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the waveform stage's options to ``parser``."""
    group = parser.add_argument_group("partition mode")
    group.add_argument("--arrivals", help="the catalog's arrivals.parquet")
    group.add_argument("--partition", help="partition name YYYY-MM (events of that origin month)")
    group.add_argument("--output-dir", help="folder for windows.npy, windows.parquet, qc.parquet "
                                            "(default: results/waveforms/<partition>)")
    group = parser.add_argument_group("summary mode")
    group.add_argument("--summary", metavar="JSON", help="write the counts of the given --qc ledgers here")
    group.add_argument("--qc", nargs="*", default=[], help="qc.parquet files of the partitions")


def sds_paths(config: dict) -> tuple[Path, Path]:
    """The SDS root and StationXML of source ``sds``.

    ``waveforms.sds.root``/``inventory`` when set; otherwise the synthetic study's
    ``<synthetic.output_dir>/sds`` and ``<synthetic.output_dir>/stations.xml``.
    """
    sds = config["waveforms"].get("sds", {}) or {}
    synth_dir = Path((config.get("synthetic") or {}).get("output_dir", "resources/synthetic"))
    root = Path(sds["root"]) if sds.get("root") else synth_dir / "sds"
    inventory = Path(sds["inventory"]) if sds.get("inventory") else synth_dir / "stations.xml"
    return root, inventory


def make_source(config: dict):
    """The configured waveform source (``waveforms.source``: ``sds`` or ``fdsn``)."""
    section = config["waveforms"]
    kind = section.get("source", "sds")
    if kind == "sds":
        from seisembed.waveforms.sds import SDSSource

        return SDSSource(*sds_paths(config))
    if kind == "fdsn":
        from seisembed.waveforms.fdsn import FDSNSource

        return FDSNSource(section.get("fdsn", {}) or {}, seed=int(config.get("seed", 0)))
    raise ConfigError(f"config key 'waveforms.source': unknown source {kind!r}; use 'sds' or 'fdsn'")


def run(args: argparse.Namespace) -> int:
    """Run partition or summary mode; return the exit status."""
    config = args.config
    if "waveforms" not in config:
        raise ConfigError("config section 'waveforms' is missing (pass --configfile or --config-json with it)")
    if args.summary:
        from seisembed.waveforms.summary import summarize

        summary = summarize(args.qc, args.summary, config)
        log.info("waveforms summary: %d of %d arrivals ok -> %s", summary["ok"], summary["requested"], args.summary)
        return 0
    if not args.arrivals or not args.partition:
        raise ConfigError("give --arrivals and --partition (or --summary with --qc)")
    if not re.fullmatch(r"\d{4}-\d{2}", args.partition):
        raise ConfigError(f"--partition {args.partition!r} is not a month name YYYY-MM")
    from seisembed.waveforms.partition import run_partition

    out_dir = args.output_dir or f"results/waveforms/{args.partition}"
    source = make_source(config)
    try:
        run_partition(args.arrivals, args.partition, out_dir, config, source)
    finally:
        source.close()
    return 0
