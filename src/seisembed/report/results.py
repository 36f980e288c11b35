"""``seisembed results``: write ``docs/results.md``, the measured results, from a finished run.

The one place where the numbers of a run are written out as text: the README, the config
comments, the config schema and the stage pages point to ``docs/results.md`` instead of
repeating them. :func:`results_markdown` reads a run's metrics files (each checked against
its contract, :mod:`seisembed.report.schemas`) and returns the page:

- ``metrics/association.json`` — event association (test pairs): the embedding, the
  linear spectral metric and cross-correlation (the association baselines), with their
  95 % event-bootstrap intervals;
- ``metrics/discrimination.json`` — one-shot discrimination from 1, 3 and 10 templates per
  class (the 5-95 % range of the trials);
- ``metrics/supervised.json`` — the supervised classifiers SVM-36 and SRSpec-CNN;
- ``metrics/runtime.json`` — milliseconds per window;
- ``model/model_card.json`` — the model, its training time and device;
- ``dataset/card.json`` — records per split.

The page ends with the provenance (config hash and git commit of each file, package
versions) and the date it was generated. Regenerate it after a default run with
``seisembed results --results results --out docs/results.md``.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import math
from pathlib import Path

from seisembed.errors import InputError
from seisembed.report.schemas import read_json_input

__all__ = ["RESULT_FILES", "configure_parser", "read_results", "results_markdown", "run", "write_results"]

log = logging.getLogger(__name__)

#: name (the contract in :data:`seisembed.report.schemas.SCHEMAS`) -> (path inside the results folder, what it is)
RESULT_FILES: dict[str, tuple[str, str]] = {
    "association": ("metrics/association.json", "association metrics (rule evaluate_association)"),
    "discrimination": ("metrics/discrimination.json", "one-shot discrimination (rule evaluate_discrimination)"),
    "supervised": ("metrics/supervised.json", "supervised classifiers (rule evaluate_supervised)"),
    "runtime": ("metrics/runtime.json", "runtime table (rule evaluate_runtime)"),
    "model_card": ("model/model_card.json", "model card (rule train_model)"),
    "dataset_card": ("dataset/card.json", "dataset card (rule build_dataset)"),
}
#: files of an older run under their former names
_FORMER_NAMES = {"supervised": "metrics/baselines.json"}
_ASSOCIATION = {
    "embedding": "embedding (ours)",
    "spectral_lda": "linear spectral metric (LDA)",
    "cross_correlation": "cross-correlation",
}
_SUPERVISED = ("svm36", "srspec_cnn")
_RUNTIME = {
    "embedding": "embedding",
    "svm36_features": "SVM-36 features",
    "srspec_spectrograms": "SRSpec spectrograms",
}


# --------------------------------------------------------------------------- reading
def read_results(results: str | Path) -> dict[str, dict]:
    """Every file of :data:`RESULT_FILES` under ``results``, read and checked against its contract.

    A missing file is an :class:`~seisembed.errors.InputError` naming it and the rule that
    makes it; undefined values come back as :class:`~seisembed.report.schemas.NA` ("n/a").
    """
    results = Path(results)
    if not results.is_dir():
        raise InputError(f"results: {results} is not a folder (give the results folder of a finished run)")
    data = {}
    for name, (relative, what) in RESULT_FILES.items():
        path = results / relative
        if not path.is_file():
            former = _FORMER_NAMES.get(name)
            hint = (
                f"; {results / former} is there: the same file under its former name, rename it to {path.name}"
                if former and (results / former).is_file()
                else "; run the workflow to the end first"
            )
            raise InputError(f"results: {path} does not exist: the {what}{hint}")
        data[name], _ = read_json_input(name, path, what)
    return data


# --------------------------------------------------------------------------- formatting
def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _f(value, spec: str = ".3f") -> str:
    number = _number(value)
    return "n/a" if number is None else format(number, spec)


def _ci(bounds) -> str:
    if not isinstance(bounds, (list, tuple)) or len(bounds) != 2:
        return ""
    lo, hi = (_number(b) for b in bounds)
    return "" if lo is None or hi is None else f" [{lo:.3f}, {hi:.3f}]"


def _with_ci(record: dict, key: str) -> str:
    return _f(record.get(key)) + _ci(record.get(f"{key}_ci95"))


def _range(record: dict, key: str, stem: str | None = None) -> str:
    """``record[key]`` with the 5-95 % range of the trials (``<stem>_p05``, ``<stem>_p95``; stem: ``key``)."""
    stem = stem or key
    lo, hi = _number(record.get(f"{stem}_p05")), _number(record.get(f"{stem}_p95"))
    return _f(record.get(key)) + ("" if lo is None or hi is None else f" ({lo:.3f}-{hi:.3f})")


def _count(value) -> str:
    number = _number(value)
    return "n/a" if number is None else f"{int(number):,}"


def _minutes(seconds) -> str:
    number = _number(seconds)
    return "n/a" if number is None else f"{number / 60:.1f} min ({number:.0f} s)"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def _provenance(record: dict) -> dict:
    """``config_hash``, ``git_commit``, ``packages`` of a file (a card keeps the first two at its top level)."""
    prov = record.get("provenance") if isinstance(record.get("provenance"), dict) else {}
    return {
        "config_hash": prov.get("config_hash", record.get("config_hash", "unknown")),
        "git_commit": prov.get("git_commit", record.get("git_commit", "unknown")),
        "packages": prov.get("packages") or {},
    }


# --------------------------------------------------------------------------- sections
def _association(assoc: dict) -> list[str]:
    test = assoc["embedding"]["test"]
    rows = []
    for method, label in _ASSOCIATION.items():
        t, v = assoc[method]["test"], assoc[method]["val"]
        rows.append(
            [
                label,
                _with_ci(t, "auc"),
                _with_ci(t, "accuracy"),
                _with_ci(t, "precision"),
                _with_ci(t, "recall"),
                _f(v.get("auc")),
            ]
        )
    return [
        "## Event association",
        "",
        f"Do two records come from one event? {_count(test.get('n_pairs'))} test pairs "
        f"({_count(test.get('n_matched'))} matched). AUC is threshold-free; accuracy, precision and recall "
        "at the val threshold of maximum accuracy, applied to test; [95 % event-bootstrap interval]. "
        "Cross-correlation and the linear spectral metric are the association baselines.",
        "",
        *_table(["method", "test AUC", "accuracy", "precision", "recall", "val AUC"], rows),
    ]


def _discrimination(disc: dict, supervised: dict) -> list[str]:
    symmetric, authors = disc["symmetric"], disc["authors"]
    rows = []
    for k in sorted(symmetric, key=int):
        s, b = symmetric[k], symmetric[k]["balanced"]
        rows.append(
            [
                k,
                _range(s, "auc_mean", "auc"),
                _f(s.get("accuracy")),
                _f(s.get("recall")),
                _range(b, "balanced_accuracy"),
                _f(b.get("recall")),
                _f(authors.get(k, {}).get("auc_mean")),
            ]
        )
    first = symmetric[min(symmetric, key=int)]
    lines = [
        "## One-shot discrimination",
        "",
        f"Explosion or earthquake from k template records per class: {_count(first.get('n_test_records'))} test "
        f"records, {_count(first.get('n_test_explosions'))} explosions, {_count(first.get('n_trials'))} seeded "
        "trials per k; mean over the trials (5-95 % of the trials). Accuracy and explosion recall at the val "
        "cut of maximum accuracy; balanced accuracy and its recall at the val cut of maximum balanced accuracy.",
        "",
        *_table(
            [
                "templates per class",
                "mean test AUC",
                "accuracy",
                "explosion recall",
                "balanced accuracy",
                "recall (balanced cut)",
                "authors' protocol mean AUC",
            ],
            rows,
        ),
        "",
        "## Supervised classifiers",
        "",
        "Trained on the train records, chosen and thresholded on val, scored on the test records "
        "(docs/evaluate.md); [95 % event-bootstrap interval].",
        "",
    ]
    rows = []
    for method in _SUPERVISED:
        r = supervised[method]
        rows.append(
            [
                str(r.get("method", method)),
                _with_ci(r, "auc"),
                _with_ci(r, "accuracy"),
                _with_ci(r, "precision"),
                _with_ci(r, "recall"),
                _f(r.get("balanced", {}).get("balanced_accuracy")),
                _f(r.get("training_seconds"), ".0f"),
            ]
        )
    lines += _table(
        ["method", "test AUC", "accuracy", "precision", "recall", "balanced accuracy (balanced cut)", "training s"],
        rows,
    )
    used = supervised.get("train_records")
    if isinstance(used, dict):
        lines += [
            "",
            f"Train records used: {_count(used.get('used'))} of {_count(used.get('available'))} "
            f"({_count(used.get('explosions_used'))} explosions).",
        ]
    return lines


def _training(model: dict) -> list[str]:
    row = [
        str(model["preset"]),
        _count(model["parameters"]),
        f"{_count(model['epochs'])} (best {_count(model['best_epoch'])})",
        _f(model.get("best_val_auc")),
        str(model.get("stopped_by", "n/a")),
        _minutes(model.get("training_seconds")),
        _minutes(model.get("wall_seconds")),
        str(model["device"]),
    ]
    return [
        "## Training",
        "",
        *_table(
            ["preset", "parameters", "epochs", "best val AUC", "stopped by", "training time", "wall time", "device"],
            [row],
        ),
    ]


def _runtime(runtime: dict) -> list[str]:
    rows = []
    for split in ("val", "test"):
        s = runtime["splits"].get(split)
        if s is None:
            continue
        rows.append(
            [split, _count(s.get("n_windows"))] + [_f(s.get(f"{task}_ms_per_window"), ".2f") for task in _RUNTIME]
        )
    return [
        "## Runtime",
        "",
        f"Milliseconds per window, windows in memory, the fastest of the repeats; {runtime['device']['text']}.",
        "",
        *_table(["split", "windows", *(f"{label} (ms)" for label in _RUNTIME.values())], rows),
    ]


def _dataset(card: dict) -> list[str]:
    rows = []
    splits = card["counts"]["splits"]
    for split in ("train", "val", "test"):
        s = splits[split]
        explosions = s.get("by_class", {}).get("explosion", {})
        rows.append([split, _count(s["records"]), _count(s["events"]), _count(explosions.get("records", 0))])
    total = card["counts"]["total"]
    rows.append(["total", _count(total["records"]), _count(total["events"]), ""])
    return ["## Dataset", "", *_table(["split", "records", "events", "explosion records"], rows)]


def _provenance_section(data: dict[str, dict], results: str, generated: str) -> list[str]:
    rows = []
    for name, (relative, _) in RESULT_FILES.items():
        p = _provenance(data[name])
        rows.append([f"`{relative}`", f"`{p['config_hash']}`", f"`{p['git_commit']}`"])
    packages = _provenance(data["association"])["packages"]
    lines = [
        "## Provenance",
        "",
        f"Generated {generated} from `{results}` by `seisembed results`. Each file's config hash covers the "
        "config sections its rule was given.",
        "",
        *_table(["file", "config hash", "git commit"], rows),
    ]
    if packages:
        lines += ["", "Packages: " + ", ".join(f"{name} {version}" for name, version in sorted(packages.items())) + "."]
    return lines


def results_markdown(results: str | Path, *, generated: str | None = None) -> str:
    """The ``docs/results.md`` page for the run whose outputs are under ``results``.

    ``generated``: the date written on the page (default: today, ISO 8601).
    """
    data = read_results(results)
    generated = generated or datetime.date.today().isoformat()
    card, model = data["dataset_card"], data["model_card"]
    study = card.get("study", "unknown")
    prov = _provenance(data["association"])
    lines = [
        "# Measured results",
        "",
        "<!-- Generated by `seisembed results` from a finished run's metrics files; do not edit by hand:",
        "     rerun `seisembed results --results results --out docs/results.md` after a run. -->",
        "",
        f"The numbers of one run of study `{study}` (git commit `{prov['git_commit']}`, model preset "
        f"`{model['preset']}`), generated {generated}. Every other page points here instead of repeating "
        "them; the one-page report (`results/report/index.html`) shows the same numbers beside the paper's.",
        "",
    ]
    for section in (
        _association(data["association"]),
        _discrimination(data["discrimination"], data["supervised"]),
        _training(model),
        _runtime(data["runtime"]),
        _dataset(card),
        _provenance_section(data, str(results), generated),
    ):
        lines += [*section, ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def write_results(results: str | Path, out: str | Path, *, generated: str | None = None) -> Path:
    """Write :func:`results_markdown` of ``results`` to ``out`` (atomically); return ``out``."""
    from seisembed.atomic import write_text_atomic

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out, results_markdown(results, generated=generated))
    return out


# --------------------------------------------------------------------------- command
def configure_parser(parser: argparse.ArgumentParser) -> None:
    """``--results`` (the run's results folder), ``--out`` and ``--date``."""
    parser.add_argument(
        "--results", default="results", help="the results folder of a finished run (default: %(default)s)"
    )
    parser.add_argument("--out", default="docs/results.md", help="the page to write (default: %(default)s)")
    parser.add_argument("--date", default=None, help="the date written on the page (default: today)")


def run(args: argparse.Namespace) -> int:
    """Write the page; return the exit status."""
    write_results(args.results, args.out, generated=args.date)
    log.info("wrote %s from %s", args.out, args.results)
    return 0
