"""The analyst commands: ``seisembed embed | index | similar | discriminate | score-events``.

Each is an object with ``configure_parser(parser)`` and ``run(args)`` (what
:mod:`seisembed.cli` expects of a sub-command; their one-line help is in
:data:`seisembed.cli.SUBCOMMANDS`). Tables are written as CSV
or parquet by the output file's suffix; every command logs what it read, wrote
and refused.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from types import SimpleNamespace

from seisembed.argtypes import (
    check_distinct,
    existing_dir,
    existing_file,
    int_range,
    non_negative_int,
    open_probability,
    output_dir,
    output_file,
    positive_int,
)
from seisembed.errors import InputError

log = logging.getLogger(__name__)

TABLE_SUFFIXES = (".csv", ".parquet")


def _examples(text: str) -> str:
    return "examples:\n" + text


def write_table(frame, path: str | Path) -> Path:
    """Write ``frame`` to ``path`` (``.csv`` or ``.parquet``) atomically, the folder created."""
    from seisembed.atomic import atomic_path, write_parquet_atomic

    path = Path(path)
    if path.suffix not in TABLE_SUFFIXES:
        raise InputError(f"output {path}: use a .csv or .parquet file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        return write_parquet_atomic(frame, path)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
    return path


def table_output(text: str) -> str:
    """argparse type: a ``.csv`` or ``.parquet`` file to write (checked before any work is done)."""
    text = output_file(text)
    if Path(text).suffix not in TABLE_SUFFIXES:
        raise argparse.ArgumentTypeError(f"{text}: use a .csv or .parquet file name")
    return text


def parquet_output(text: str) -> str:
    """argparse type: a ``.parquet`` file to write (embeddings keep their model hash in its metadata)."""
    text = output_file(text)
    if Path(text).suffix != ".parquet":
        raise argparse.ArgumentTypeError(f"{text}: embeddings are written as parquet (it keeps the model hash)")
    return text


def _result_paths(output) -> list[Path]:
    """The three files of :func:`_write_results`."""
    return [Path(output), _sibling(output, "events"), _sibling(output, "summary", ".json")]


def _sibling(path: str | Path, tag: str, suffix: str | None = None) -> Path:
    path = Path(path)
    return path.with_name(f"{path.stem}_{tag}{suffix or path.suffix}")


def _write_results(records, events, summary: dict, output: str | Path) -> None:
    """``output`` (per record), ``<output>_events`` (per event) and ``<output>_summary.json``."""
    from seisembed.atomic import write_json_atomic

    write_table(records, output)
    write_table(events, _sibling(output, "events"))
    write_json_atomic(summary, _sibling(output, "summary", ".json"))
    log.info("wrote %s, %s and %s", output, _sibling(output, "events"), _sibling(output, "summary", ".json"))


def _user_waveforms(args) -> dict | None:
    """The ``waveforms`` section when the user gave a config; ``None``: the model card's."""
    return args.config["waveforms"] if (args.configfile or args.config_json) else None


# -- embed ------------------------------------------------------------------------------
def _embed_parser(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = _examples(
        "  seisembed embed --model results/model/model.keras --sds resources/synthetic/sds \\\n"
        "      --inventory resources/synthetic/stations.xml --picks resources/synthetic/events.xml \\\n"
        "      -o new/embeddings.parquet\n"
        "  seisembed embed --model model.keras --mseed day1/*.mseed --inventory stations.xml \\\n"
        "      --picks picks.csv -o new/embeddings.parquet --qc new/qc.csv\n"
        "picks: QuakeML (needs --inventory), an arrivals parquet/ISC CSV, or a CSV/parquet with\n"
        "source_id, station_network_code, station_code, [station_location_code], trace_p_arrival_time.\n"
        "The window geometry is the model's (model_card.json); --configfile overrides it."
    )
    parser.add_argument(
        "--model", required=True, type=existing_file, help="a trained model.keras (results/model/model.keras)"
    )
    data = parser.add_mutually_exclusive_group(required=True)
    data.add_argument("--sds", type=existing_dir, help="root of an SDS miniSEED archive")
    data.add_argument("--mseed", nargs="+", type=existing_file, help="miniSEED files")
    parser.add_argument("--inventory", required=True, type=existing_file, help="StationXML with the stations' channels")
    parser.add_argument(
        "--picks", required=True, type=existing_file, help="P picks: QuakeML, arrivals table or picks table"
    )
    parser.add_argument("--events", nargs="+", help="embed only the picks of these event ids (source_id)")
    parser.add_argument("-o", "--output", required=True, type=parquet_output, help="embeddings table (.parquet)")
    parser.add_argument("--qc", type=table_output, help="QC table, one row per pick (default: <output>_qc.<suffix>)")
    parser.add_argument("--batch", type=positive_int, default=256, help="windows per model call (default 256)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def _embed_run(args) -> int:
    from seisembed.catalog.quakeml import read_inventory_file
    from seisembed.use.embedder import Embedder
    from seisembed.use.picks import read_picks
    from seisembed.waveforms.sds import SDSSource
    from seisembed.waveforms.stream import StreamSource, read_miniseed_files

    qc_path = args.qc or _sibling(args.output, "qc")
    check_distinct([args.model, args.inventory, args.picks, *(args.mseed or [])], [args.output, qc_path])
    embedder = Embedder.load(args.model, waveforms=_user_waveforms(args))
    if args.sds:
        source = SDSSource(args.sds, args.inventory)
        inventory = source.inventory
    else:
        inventory = read_inventory_file(args.inventory)
        source = StreamSource(read_miniseed_files(args.mseed), inventory, name=f"{len(args.mseed)} miniSEED file(s)")
    picks = read_picks(args.picks, inventory)
    if args.events:
        unknown = sorted(set(args.events) - set(picks["source_id"]))
        if unknown:
            raise InputError(f"picks file {args.picks} has no event(s) {unknown[:5]} (--events)")
        picks = picks[picks["source_id"].isin(args.events)].reset_index(drop=True)
    frame, qc = embedder.embed_source(picks, source, batch=args.batch, progress=not args.no_progress)
    write_table(qc, qc_path)
    write_table(frame, args.output)
    counts = qc["qc_status"].value_counts().to_dict()
    log.info(
        "wrote %s (%d records, model %s) and %s: %s", args.output, len(frame), embedder.model_hash, qc_path, counts
    )
    if frame.empty:
        log.error("no record could be embedded: see the reasons in %s", qc_path)
        return 1
    return 0


# -- index / similar ----------------------------------------------------------------------
def _index_parser(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = _examples(
        "  seisembed index results/embeddings/embeddings.parquet -o archive.index\n"
        "  seisembed index big/embeddings.parquet -o big.index --approximate --m 32 --ef-construction 200\n"
        "exact search (scikit-learn, brute force) by default; --approximate: a FAISS HNSW graph\n"
        "(pip install 'seisembed[search]'). The index records the model hash of its embeddings."
    )
    parser.add_argument(
        "embeddings", type=existing_file, help="embeddings table (parquet) of `seisembed embed` or the evaluation stage"
    )
    parser.add_argument("-o", "--output", required=True, type=output_dir, help="index folder to write")
    parser.add_argument("--approximate", action="store_true", help="an HNSW index (FAISS) instead of exact search")
    parser.add_argument("--m", type=int_range(2, 1024), default=32, help="HNSW links per node (default 32)")
    parser.add_argument("--ef-construction", type=positive_int, default=200, help="HNSW build breadth (default 200)")
    parser.add_argument("--ef-search", type=positive_int, default=128, help="default HNSW search breadth (default 128)")
    parser.add_argument("--threads", type=int_range(1, 1024), help="threads for building the HNSW graph")


def _index_run(args) -> int:
    from seisembed.embeddings import read_embeddings
    from seisembed.use.search import build_index

    out = Path(args.output)
    check_distinct([args.embeddings], [out / n for n in ("index.json", "records.parquet", "vectors.npy", "hnsw.faiss")])
    frame = read_embeddings(args.embeddings)
    build_index(
        frame,
        args.output,
        "hnsw" if args.approximate else "exact",
        m=args.m,
        ef_construction=args.ef_construction,
        ef_search=args.ef_search,
        source=str(args.embeddings),
        threads=args.threads,
    )
    return 0


def _similar_parser(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = _examples(
        "  seisembed similar archive.index new/embeddings.parquet -k 10 -o new/similar.csv\n"
        "  seisembed similar archive.index new/embeddings.parquet --by event -k 5 -o new/similar_events.csv\n"
        "queries must be embedded by the index's model (refused otherwise); a record never matches itself."
    )
    parser.add_argument("index", type=existing_dir, help="an index folder of `seisembed index`")
    parser.add_argument("queries", type=existing_file, help="embeddings table of the query records")
    parser.add_argument("-k", type=positive_int, default=10, help="neighbours per query (default 10)")
    parser.add_argument("--by", choices=("record", "event"), default="record", help="rank records or events")
    parser.add_argument("--exclude-same-event", action="store_true", help="never return the query's own event")
    parser.add_argument("--ef-search", type=positive_int, help="HNSW search breadth (approximate index)")
    parser.add_argument("-o", "--output", required=True, type=table_output, help="neighbours table (.csv or .parquet)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def _similar_run(args) -> int:
    from seisembed.embeddings import read_embeddings
    from seisembed.use.search import load_index, similar

    check_distinct(
        [args.queries, *(Path(args.index) / n for n in ("index.json", "records.parquet", "vectors.npy", "hnsw.faiss"))],
        [args.output],
    )
    index = load_index(args.index)
    queries = read_embeddings(args.queries, "queries")
    table = similar(
        index,
        queries,
        args.k,
        by=args.by,
        exclude_same_event=args.exclude_same_event,
        ef_search=args.ef_search,
        where=f"queries {args.queries}",
        progress=not args.no_progress,
    )
    write_table(table, args.output)
    log.info(
        "wrote %s: %d neighbours of %d queries (%s index)", args.output, len(table), len(queries), index.info["kind"]
    )
    return 0


# -- discriminate ------------------------------------------------------------------------
def _discriminate_parser(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = _examples(
        "  seisembed discriminate --templates results/embeddings/embeddings.parquet --template-split train \\\n"
        "      --per-class 3 new/embeddings.parquet -o new/labels.csv\n"
        "  seisembed discriminate --templates my_templates.parquet --label-column my_class \\\n"
        "      new/embeddings.parquet -o new/labels.parquet\n"
        "writes <output> (one row per record), <output>_events (one row per event) and <output>_summary.json."
    )
    parser.add_argument("queries", type=existing_file, help="embeddings table of the records to label")
    parser.add_argument("--templates", required=True, type=existing_file, help="embeddings table of labelled templates")
    parser.add_argument("--label-column", default="source_type", help="column of the templates' labels")
    parser.add_argument("--template-split", help="use only templates of this split (e.g. train)")
    parser.add_argument("--per-class", type=positive_int, help="draw this many templates per class (seeded by --seed)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="seed of the template draw (default 0)")
    parser.add_argument("-o", "--output", required=True, type=table_output, help="per-record labels (.csv or .parquet)")


def _discriminate_run(args) -> int:
    import numpy as np
    import pandas as pd

    from seisembed.embeddings import read_embeddings
    from seisembed.use.templates import discriminate, template_labels

    check_distinct([args.queries, args.templates], _result_paths(args.output))
    where = f"templates file {args.templates}"
    templates = read_embeddings(args.templates, "templates")
    if args.template_split is not None:
        if "split" not in templates:
            raise InputError(f"templates {args.templates} have no split column (--template-split)")
        splits = sorted(set(templates["split"].astype(str)))
        templates = templates[templates["split"].astype(str) == args.template_split]
        if templates.empty:
            raise InputError(
                f"templates {args.templates} hold no record of split {args.template_split!r} (--template-split); "
                f"its splits are {splits}"
            )
    labels = template_labels(templates, args.label_column, where)  # every template labelled, before any draw
    if args.per_class:
        rng = np.random.default_rng(args.seed)
        picked = []
        for label, group in templates.groupby(labels, sort=True):
            if len(group) < args.per_class:
                raise InputError(
                    f"templates {args.templates}: class {label!r} has {len(group)} < {args.per_class} records"
                )
            picked.append(group.iloc[np.sort(rng.choice(len(group), args.per_class, replace=False))])
        attrs = templates.attrs
        templates = pd.concat(picked)
        templates.attrs = attrs
    if templates.empty:
        raise InputError(f"templates {args.templates}: no template left (check --template-split)")
    queries = read_embeddings(args.queries, "queries")
    records, events, summary = discriminate(
        templates, queries, args.label_column, where=f"queries {args.queries}", templates_where=where
    )
    summary["templates"] = {
        "file": str(args.templates),
        "split": args.template_split,
        "per_class": args.per_class,
        "seed": args.seed,
    }
    _write_results(records, events, summary, args.output)
    return 0


# -- score-events --------------------------------------------------------------------------
def _score_parser(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = _examples(
        "  seisembed score-events new/embeddings.parquet --calibration results/embeddings/embeddings.parquet \\\n"
        "      --far 0.05 -o new/scores.csv\n"
        "the records' source_id is the associator's event id (embed its QuakeML with `seisembed embed`);\n"
        "writes <output> (records), <output>_events and <output>_summary.json."
    )
    parser.add_argument(
        "events", type=existing_file, help="embeddings table of the associator's records (source_id = its event)"
    )
    parser.add_argument(
        "--calibration", required=True, type=existing_file, help="the evaluation stage's embeddings.parquet"
    )
    parser.add_argument("--calibration-split", default="val", help="split that sets the threshold (default val)")
    parser.add_argument(
        "--far", type=open_probability, default=0.05, help="false-alarm rate per correct record (default 0.05)"
    )
    parser.add_argument(
        "--seed", type=non_negative_int, default=0, help="seed of the wrong-event draws of the calibration"
    )
    parser.add_argument("-o", "--output", required=True, type=table_output, help="per-record scores (.csv or .parquet)")


def _score_run(args) -> int:
    from seisembed.embeddings import read_embeddings
    from seisembed.use.scoring import calibrate, score_events

    check_distinct([args.events, args.calibration], _result_paths(args.output))
    calibration = calibrate(
        read_embeddings(args.calibration, "calibration", ("split", "source_id")),
        args.far,
        split=args.calibration_split,
        seed=args.seed,
        where=f"calibration {args.calibration}",
    )
    records, events, summary = score_events(
        read_embeddings(args.events, "events", ("source_id",)), calibration, where=f"events {args.events}"
    )
    summary["calibration"]["file"] = str(args.calibration)
    _write_results(records, events, summary, args.output)
    return 0


EMBED = SimpleNamespace(
    configure_parser=_embed_parser,
    run=_embed_run,
)
INDEX = SimpleNamespace(
    configure_parser=_index_parser,
    run=_index_run,
)
SIMILAR = SimpleNamespace(
    configure_parser=_similar_parser,
    run=_similar_run,
)
DISCRIMINATE = SimpleNamespace(
    configure_parser=_discriminate_parser,
    run=_discriminate_run,
)
SCORE_EVENTS = SimpleNamespace(
    configure_parser=_score_parser,
    run=_score_run,
)
