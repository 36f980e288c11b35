"""``seisembed train``: the training stage's command line (rule ``train_model``)."""

from __future__ import annotations

__all__ = ["configure_parser", "run"]


def configure_parser(parser) -> None:
    """Add the ``seisembed train`` options."""
    from seisembed.argtypes import non_negative_int, output_dir, positive_int

    group = parser.add_argument_group("train options")
    group.add_argument("--store", default="results/dataset/waveforms.zarr", help="dataset store (default: %(default)s)")
    group.add_argument(
        "--out-dir", type=output_dir, default="results/model", help="output folder (default: %(default)s)"
    )
    group.add_argument("--threads", type=positive_int, default=None, help="CPU threads for TensorFlow (default: all)")
    # throughput-only settings: the workflow passes them outside --config-json (as Snakemake
    # resources), so changing them does not rerun training; they override the config's
    group.add_argument(
        "--prefetch-batches",
        type=non_negative_int,
        default=None,
        help="batches read ahead (overrides sampling.prefetch_batches; throughput only, same result)",
    )
    group.add_argument(
        "--cache",
        choices=("none", "memory"),
        default=None,
        help="read the split into memory first (overrides sampling.cache; throughput only, same result)",
    )


def run(args) -> int:
    """Train from ``args.config``; return the exit status."""
    config = args.config
    overrides = {"prefetch_batches": args.prefetch_batches, "cache": args.cache}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if overrides:
        config = {**config, "sampling": {**config["sampling"], **overrides}}
    from seisembed.train.loop import train_model

    train_model(args.store, args.out_dir, config, threads=args.threads)
    return 0
