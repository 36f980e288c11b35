"""``seisembed evaluate``: embed the dataset store, evaluate on it, train the supervised classifiers, time it.

``seisembed evaluate embed-store`` embeds the *dataset store* for the evaluation stage; the analyst
tool ``seisembed embed`` (:mod:`seisembed.use`) embeds *new records* with a trained model.
"""

from __future__ import annotations

import argparse
import logging

from seisembed.argtypes import check_outside, output_dir, positive_int

log = logging.getLogger(__name__)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``seisembed evaluate`` options."""
    parser.add_argument(
        "task",
        choices=["embed-store", "association", "discrimination", "supervised", "runtime"],
        help="embed-store: embeddings of every record of the dataset store (new records: seisembed embed); "
        "association: pairs, metrics, tables, figures; discrimination: one-shot trials (with the supervised "
        "classifiers' curves when --supervised-scores is given); supervised: SVM-36 and SRSpec-CNN "
        "trained on train, chosen on val, scored on test; runtime: ms per window to embed vs to extract features",
    )
    parser.add_argument(
        "--store", default="results/dataset/waveforms.zarr", help="dataset store (default: %(default)s)"
    )
    parser.add_argument(
        "--model", default="results/model/model.keras", help="model (embed-store, runtime; default: %(default)s)"
    )
    parser.add_argument(
        "--embeddings",
        default="results/embeddings/embeddings.parquet",
        help="embeddings parquet (written by embed-store, read by association and discrimination; default: %(default)s)",
    )
    parser.add_argument(
        "--supervised-scores",
        default=None,
        help="supervised_scores.parquet written by the supervised task (discrimination: drawn beside the one-shot "
        "results; default: none)",
    )
    parser.add_argument(
        "--out-dir", type=output_dir, default="results/metrics", help="metrics folder (default: %(default)s)"
    )
    parser.add_argument(
        "--threads", type=positive_int, default=None, help="CPU threads for TensorFlow (runtime; default: all)"
    )
    parser.add_argument(
        "--figures-dir", type=output_dir, default="results/figures", help="figures folder (default: %(default)s)"
    )


def run(args: argparse.Namespace) -> int:
    """Run the task from ``args.config``; return the exit status."""
    from seisembed.atomic import write_parquet_atomic

    # the metrics, figures and embeddings never go inside the store they are computed from
    written = [args.out_dir, args.figures_dir] + ([args.embeddings] if args.task == "embed-store" else [])
    check_outside(args.store, written)
    if args.task == "embed-store":
        from seisembed.embeddings import validate_embeddings
        from seisembed.evaluate.association import embed_store

        frame = embed_store(
            args.store, args.model, batch=args.config["evaluate"]["embed_batch"], dask_config=args.config["dask"]
        )
        # the contract every reader checks, checked before writing: a model that gives NaN or
        # non-unit vectors fails here, naming the records, not in a later stage
        validate_embeddings(frame, f"embeddings of {args.store} by {args.model}")
        write_parquet_atomic(frame, args.embeddings)
        log.info("wrote %s: %d records", args.embeddings, len(frame))
        return 0
    if args.task == "discrimination":
        from seisembed.evaluate.discrimination import evaluate_discrimination

        evaluate_discrimination(
            args.embeddings, args.out_dir, args.figures_dir, args.config, supervised=args.supervised_scores
        )
        return 0
    if args.task == "supervised":
        from seisembed.evaluate.supervised import enable_determinism, evaluate_supervised

        enable_determinism()  # global state: set here, in the entry point
        evaluate_supervised(args.store, args.out_dir, args.config)
        return 0
    if args.task == "runtime":
        from pathlib import Path

        from seisembed.atomic import write_json_atomic, write_text_atomic
        from seisembed.evaluate.runtime import measure_runtime, runtime_markdown

        record = measure_runtime(args.store, args.model, args.config, threads=args.threads)
        write_json_atomic(record, Path(args.out_dir) / "runtime.json")
        write_text_atomic(Path(args.out_dir) / "runtime.md", runtime_markdown(record))
        return 0
    from seisembed.evaluate.association import evaluate_association

    evaluate_association(args.store, args.embeddings, args.out_dir, args.figures_dir, args.config)
    return 0
