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

from seisembed.config import validate_config
from seisembed.errors import ConfigError
from seisembed.partitions import check_partition
from seisembed.paths import sds_paths

log = logging.getLogger(__name__)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the waveform stage's options to ``parser``."""
    group = parser.add_argument_group("partition mode")
    group.add_argument("--arrivals", help="the catalog's arrivals.parquet")
    group.add_argument("--partition", help="partition name YYYY-MM (events of that origin month)")
    group.add_argument(
        "--output-dir",
        help="folder for windows.npy, windows.parquet, qc.parquet (default: results/waveforms/<partition>)",
    )
    group = parser.add_argument_group("summary mode")
    group.add_argument("--summary", metavar="JSON", help="write the counts of the given --qc ledgers here")
    group.add_argument("--qc", nargs="*", default=[], help="qc.parquet files of the partitions")


def make_source(config: dict):
    """The configured waveform source (``waveforms.source``: ``sds`` or ``fdsn``)."""
    config = validate_config(config)
    if config["waveforms"]["source"] == "sds":
        from seisembed.waveforms.sds import SDSSource

        return SDSSource(*sds_paths(config))
    from seisembed.waveforms.fdsn import FDSNSource

    return FDSNSource(config["waveforms"]["fdsn"], seed=config["seed"])


def run(args: argparse.Namespace) -> int:
    """Run partition or summary mode; return the exit status."""
    config = args.config
    if args.summary:
        from seisembed.waveforms.summary import summarize

        summary = summarize(args.qc, args.summary, config)
        log.info("waveforms summary: %d of %d arrivals ok -> %s", summary["ok"], summary["requested"], args.summary)
        return 0
    if not args.arrivals or not args.partition:
        raise ConfigError("give --arrivals and --partition (or --summary with --qc)")
    check_partition(args.partition, config["catalog"])
    from seisembed.waveforms.driver import run_partition

    out_dir = args.output_dir or f"results/waveforms/{args.partition}"
    source = make_source(config)
    try:
        run_partition(args.arrivals, args.partition, out_dir, config, source)
    finally:
        source.close()
    return 0
