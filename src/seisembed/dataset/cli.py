"""``seisembed dataset``: assemble the waveform partitions into the Zarr dataset and its card."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the stage's options to ``parser``."""
    parser.add_argument(
        "--waveforms-dir", default="results/waveforms", help="folder of the waveform partitions (default: %(default)s)"
    )
    parser.add_argument(
        "--partitions",
        nargs="*",
        default=None,
        help="partition names (sub-folders); default: every sub-folder with windows.npy",
    )
    parser.add_argument("--summary", default=None, help="the waveform stage's summary.json (copied into the card)")
    parser.add_argument(
        "--out-dir",
        default="results/dataset",
        help="output folder: waveforms.zarr, card.md, card.json, figures/ (default: %(default)s)",
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="worker threads for reading and compressing (default: %(default)s)"
    )


def run(args: argparse.Namespace) -> int:
    """Build the store and write the card; return 0 on success."""
    from seisembed.dataset.build import STORE_NAME, build_dataset
    from seisembed.dataset.card import write_card

    config = args.config
    out_dir = Path(args.out_dir)
    result = build_dataset(
        args.waveforms_dir,
        out_dir / STORE_NAME,
        config,
        partitions=args.partitions or None,
        threads=args.threads,
        summary=args.summary,
    )
    import xarray as xr

    attrs = dict(xr.open_zarr(result.store).attrs)
    attrs["store"] = str(result.store)
    attrs["store_hash"] = result.store_hash
    write_card(out_dir, result.frame, result.splits.removed, result.splits.details, result.inputs, attrs)
    return 0
