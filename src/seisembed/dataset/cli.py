"""``seisembed dataset``: assemble the waveform partitions into the Zarr dataset and its card.

``seisembed dataset`` builds the store from the waveform partitions, or from a SeisBench
dataset folder with ``dataset.source: seisbench`` (``--seisbench-dir``, else config key
``dataset.seisbench.path``); ``seisembed dataset export-seisbench STORE OUT`` writes a store
as a SeisBench dataset folder (:mod:`seisembed.dataset.seisbench_export`).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from seisembed.argtypes import positive_int

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
    parser.add_argument(
        "--seisbench-dir",
        default=None,
        help="with dataset.source 'seisbench': the SeisBench dataset folder (default: config key dataset.seisbench.path)",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", help="optional: export-seisbench")
    export = actions.add_parser(
        "export-seisbench",
        help="write a dataset store as a SeisBench dataset folder (metadata.csv + waveforms.hdf5)",
        description="Write the dataset store STORE as a SeisBench dataset folder OUT (metadata.csv + waveforms.hdf5, "
        "traces in buckets as SeisBench's WaveformDataWriter writes them); OUT is replaced when complete.",
    )
    export.add_argument("store", metavar="STORE", help="dataset store (e.g. results/dataset/waveforms.zarr)")
    export.add_argument("out", metavar="OUT", help="output folder (e.g. results/seisbench)")
    export.add_argument(
        "--bucket-size",
        type=positive_int,
        default=None,
        help="traces per HDF5 bucket (default: config key dataset.export_seisbench.bucket_size, 1024)",
    )
    export.add_argument(
        "--compression",
        choices=["none", "gzip", "lzf"],
        default="none",
        help="HDF5 compression of the buckets (default: %(default)s, as WaveformDataWriter)",
    )
    # the common options also after the action (argparse.SUPPRESS: the stage parser's values stay when not given)
    export.add_argument("--log", default=argparse.SUPPRESS, help="also write the log to this file")
    export.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS, help="debug logging")
    export.add_argument("--configfile", default=argparse.SUPPRESS, help="a seisembed config YAML")
    export.add_argument("--config-json", default=argparse.SUPPRESS, help="config sections as JSON")


def run(args: argparse.Namespace) -> int:
    """Build the store and write the card (or export a store to SeisBench); return 0 on success."""
    from seisembed.dataset.build import STORE_NAME, build_dataset
    from seisembed.dataset.card import write_card

    config = args.config
    if getattr(args, "action", None) == "export-seisbench":
        from seisembed.dataset.seisbench_export import export_seisbench

        size = (
            args.bucket_size if args.bucket_size is not None else config["dataset"]["export_seisbench"]["bucket_size"]
        )
        compression = None if args.compression == "none" else args.compression
        export_seisbench(args.store, args.out, bucket_size=size, compression=compression)
        return 0
    out_dir = Path(args.out_dir)
    if args.seisbench_dir is not None and config["dataset"]["source"] != "seisbench":
        from seisembed.errors import ConfigError

        raise ConfigError(
            f"--seisbench-dir {args.seisbench_dir} is given but config key 'dataset.source' is "
            f"{config['dataset']['source']!r}; set dataset.source: seisbench to build from a SeisBench folder"
        )
    if config["dataset"]["source"] == "seisbench":
        from seisembed.dataset.seisbench_import import build_from_seisbench

        result = build_from_seisbench(args.seisbench_dir, out_dir / STORE_NAME, config, threads=args.threads)
    else:
        result = build_dataset(
            args.waveforms_dir,
            out_dir / STORE_NAME,
            config,
            partitions=args.partitions or None,
            threads=args.threads,
            summary=args.summary,
        )
    from seisembed.dataset.store import store_attributes

    attrs = store_attributes(result.store)
    attrs["store"] = str(result.store)
    attrs["store_hash"] = result.store_hash
    write_card(out_dir, result.frame, result.splits.removed, result.splits.details, result.inputs, attrs)
    return 0
