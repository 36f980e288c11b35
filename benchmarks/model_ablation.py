"""Model ablation on val only: each candidate trained for the same time budget, scored on one val split.

Run on two stores of the default study, one with ``synthetic.max_records_per_event: 8`` (whose
val split scores every candidate) and one with 16 (the default run's store since this table
chose it)::

    python benchmarks/model_ablation.py --store ../run8/results/dataset/waveforms.zarr \
        --store16 results/dataset/waveforms.zarr               # every candidate, 3 minutes each
    python benchmarks/model_ablation.py --store STORE --minutes 1 --candidates demo spectral

Each candidate is the default config (``config.yaml``) with a few keys changed, trained by
:func:`seisembed.train.train_model` with ``train.max_minutes`` = the budget (no early
stopping, no epoch limit before it). Then, on the **val** split of ``--store`` only
(the test split is never read):

* val association AUC on ``--pairs`` fixed, seeded val pairs of ``--store`` (half one event at two
  stations, half two events; the evaluation's pair drawing);
* one-shot val AUC, k = 1 and 3 templates per class drawn from train events (the
  evaluation's symmetric protocol, ``--trials`` seeded trials);
* seconds per training step, epochs run, minutes to the best val epoch and parameters.

``--store16``: a store of the same study built with ``synthetic.max_records_per_event: 16``
(the paper's K = 10 needs more records per event); the ``spectral (16 records/event)``
candidate trains on it and is scored on ``--store``'s val split like the others (the
benchmark checks that none of its train events is a val event of ``--store``).

Prints a markdown table (docs/train.md) and writes it with the raw figures to ``--out``.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: candidate name -> (changes to the default config, which store)
CANDIDATES: dict[str, tuple[dict, str]] = {
    "demo (learned filterbank + TCN)": ({"model": {"preset": "demo"}}, "default"),
    "spectral (4 s frames, TCN)": ({"model": {"preset": "spectral"}}, "default"),
    "spectral, MLP head": (
        {
            "model": {
                "preset": "spectral",
                "overrides": {"tcn_filters": 0, "head": "mlp", "head_units": 256, "dropout_rate": 0.2},
            }
        },
        "default",
    ),
    "spectral, 2 s frames": ({"model": {"preset": "spectral", "spectral": {"frame_s": 2.0}}}, "default"),
    "spectral, 8 s frames": ({"model": {"preset": "spectral", "spectral": {"frame_s": 8.0}}}, "default"),
    "spectral (16 records/event)": ({"model": {"preset": "spectral"}}, "store16"),
    "spectral, 8 s frames (16 records/event)": (
        {"model": {"preset": "spectral", "spectral": {"frame_s": 8.0}}},
        "store16",
    ),
}
SHORT = {
    "demo": "demo (learned filterbank + TCN)",
    "spectral": "spectral (4 s frames, TCN)",
    "mlp": "spectral, MLP head",
    "frame2": "spectral, 2 s frames",
    "frame8": "spectral, 8 s frames",
    "records16": "spectral (16 records/event)",
    "frame8_records16": "spectral, 8 s frames (16 records/event)",
}


def merge(base: dict, changes: dict) -> dict:
    """``base`` with the nested ``changes`` applied (a copy)."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def embed_positions(model_path: Path, store: Path, positions: np.ndarray, batch: int = 256) -> np.ndarray:
    """Embeddings of the store's records at ``positions`` (raw windows through the saved model)."""
    from seisembed.dataset.store import channels_last, open_waveforms, read_traces
    from seisembed.train.model import load_model

    model = load_model(model_path)
    array = open_waveforms(store)
    out = []
    for i in range(0, len(positions), batch):
        x = channels_last(read_traces(array, positions[i : i + batch]))
        out.append(np.asarray(model.predict(x, batch_size=batch, verbose=0)))
    return np.concatenate(out)


def score_on_val(model_path: Path, store: Path, config: dict, pairs: int, trials: int) -> dict:
    """Val association AUC and one-shot val AUC (k = 1, 3) of a saved model on ``store``'s val split."""
    import pandas as pd

    from seisembed.dataset.store import read_index, read_metadata
    from seisembed.evaluate.discrimination import discrimination_trials
    from seisembed.train.pairs import association_pairs, embedding_auc

    index = read_index(store)
    chosen = np.flatnonzero(np.isin(index["split"], ["train", "val"]))
    emb = embed_positions(model_path, store, chosen)
    drawn = association_pairs(index, "val", pairs, config["seed"])
    result = {"val_auc": embedding_auc(emb, chosen, drawn), "val_pairs": int(len(drawn["matched"]))}
    frame = pd.DataFrame(emb, columns=[f"emb_{i:02d}" for i in range(emb.shape[1])])
    frame["split"] = index["split"][chosen]
    frame["source_type"] = read_metadata(store, ["source_type"])["source_type"].astype(str).to_numpy()[chosen]
    for k in (1, 3):
        run = discrimination_trials(frame, k, "symmetric", trials, config["seed"], scored="val")
        result[f"one_shot_val_k{k}"] = run["summary"]["auc_mean"]
    return result


def check_disjoint(store16: Path, store: Path) -> None:
    """Refuse a 16-record store whose train events include a val event of ``--store``."""
    from seisembed.dataset.store import read_index

    a, b = read_index(store16), read_index(store)
    leak = set(a["source_id"][a["split"] == "train"]) & set(b["source_id"][b["split"] == "val"])
    if leak:
        raise SystemExit(f"{store16}: {len(leak)} of its train events are val events of {store}; not comparable")


def run_candidate(name: str, changes: dict, store: Path, base: dict, minutes: float, work: Path) -> dict:
    """Train one candidate for ``minutes``; return its card's figures."""
    from seisembed.config import validate_config
    from seisembed.train.loop import train_model

    config = validate_config(
        merge(
            base,
            {
                **changes,
                "train": {"max_minutes": minutes, "epochs": 1000, "early_stopping_patience": 1000},
            },
        )
    )
    out = work / name.replace(" ", "_").replace(",", "").replace("/", "-").replace("(", "").replace(")", "")
    started = time.perf_counter()
    card = train_model(store, out, config, threads=os.cpu_count())
    import pandas as pd

    history = pd.read_csv(out / "history.csv")
    best = int(card["best_epoch"])
    return {
        "model": out / "model.keras",
        "parameters": card["parameters"],
        "epochs": card["epochs"],
        "best_epoch": best,
        "minutes_to_best": float(history["wall_seconds"].iloc[:best].sum() / 60),
        "seconds_per_step": float((history["seconds"] / history["steps"]).mean()),
        "train_val_auc": card["best_val_auc"],
        "val_auc_by_epoch": [round(float(v), 4) for v in history["val_auc"]],
        "wall_minutes": (time.perf_counter() - started) / 60,
        "config": config["model"],
    }


def markdown(rows: list[dict], minutes: float) -> str:
    lines = [
        f"| candidate ({minutes:g} min budget each) | val AUC | one-shot val AUC k=1 | k=3 | s/step | epochs (best) "
        "| min to best | parameters |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['val_auc']:.3f} | {r['one_shot_val_k1']:.3f} | {r['one_shot_val_k3']:.3f} | "
            f"{r['seconds_per_step']:.3f} | {r['epochs']} ({r['best_epoch']}) | {r['minutes_to_best']:.1f} | "
            f"{r['parameters']:,} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="config.yaml", help="the default config (default: %(default)s)")
    parser.add_argument(
        "--store", default="results/dataset/waveforms.zarr", help="the store whose val split scores every candidate"
    )
    parser.add_argument("--store16", default=None, help="the same study's store with 16 records per event")
    parser.add_argument("--minutes", type=float, default=3.0, help="training budget per candidate (minutes)")
    parser.add_argument("--candidates", nargs="*", default=list(SHORT), choices=list(SHORT), help="which to run")
    parser.add_argument("--pairs", type=int, default=4000, help="val pairs for the val AUC")
    parser.add_argument("--trials", type=int, default=200, help="one-shot trials per k")
    parser.add_argument("--out", default="results/benchmarks/model_ablation.json", help="figures as JSON (+ .md)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    import yaml

    from seisembed.provenance import describe_device

    base = yaml.safe_load(Path(args.config).read_text())
    store = Path(args.store)
    if not store.exists():
        raise SystemExit(f"{store} does not exist: run `snakemake --cores 2 --until build_dataset` first")
    if args.store16:
        check_disjoint(Path(args.store16), store)
    device = describe_device()
    print(f"machine: {device['text']}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="ablation-") as tmp:
        for short in args.candidates:
            name = SHORT[short]
            changes, which = CANDIDATES[name]
            if which == "store16" and not args.store16:
                print(f"skipping {name!r}: no --store16", flush=True)
                continue
            train_store = Path(args.store16) if which == "store16" else store
            result = run_candidate(name, changes, train_store, base, args.minutes, Path(tmp))
            from seisembed.config import validate_config

            result.update(score_on_val(result.pop("model"), store, validate_config(base), args.pairs, args.trials))
            result["name"] = name
            rows.append(result)
            print(
                f"{name}: val AUC {result['val_auc']:.3f}, one-shot val k=1 {result['one_shot_val_k1']:.3f}, "
                f"k=3 {result['one_shot_val_k3']:.3f}, {result['seconds_per_step']:.3f} s/step, "
                f"{result['epochs']} epochs (best {result['best_epoch']}, {result['minutes_to_best']:.1f} min)",
                flush=True,
            )
    table = markdown(rows, args.minutes)
    print()
    print(table)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": device, "minutes": args.minutes, "rows": rows}, indent=2, default=str))
    out.with_suffix(".md").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
