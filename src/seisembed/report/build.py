"""Render the study report (see :mod:`seisembed.report`)."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
from pathlib import Path

from seisembed import paper
from seisembed.atomic import finite_json, write_text_atomic
from seisembed.errors import InputError
from seisembed.report.schemas import NA, read_csv_input, read_json_input

__all__ = ["INPUTS", "build_report", "compare"]

log = logging.getLogger(__name__)

#: every file the report reads: name -> (kind, required, what it is)
INPUTS: dict[str, tuple[str, bool, str]] = {
    # none when the dataset comes from a SeisBench folder (dataset.source: seisbench)
    "catalog_summary": ("json", False, "catalog stage summary (results/catalog/summary.json)"),
    "waveforms_summary": ("json", False, "waveform stage QC summary (results/waveforms/summary.json)"),
    "dataset_card": ("json", True, "dataset card (results/dataset/card.json)"),
    "dataset_map": ("png", True, "dataset map figure"),
    "dataset_distance": ("png", True, "distance histogram per split"),
    "dataset_magnitude": ("png", True, "magnitude histogram per split"),
    "calibration": ("json", False, "synthetic calibration table (synthetic studies only)"),
    "model_card": ("json", True, "model card (results/model/model_card.json)"),
    "training_curve": ("png", True, "training curve figure"),
    "association": ("json", True, "association metrics (results/metrics/association.json)"),
    "association_by_distance": ("csv", True, "association by inter-station distance (Table II)"),
    "association_by_novelty": ("csv", True, "association by novelty (Tables III-V)"),
    "association_histogram": ("png", True, "distance histograms (Fig. 7)"),
    "association_roc": ("png", True, "association ROC (Fig. 8)"),
    "association_distance": ("png", True, "accuracy vs inter-station distance"),
    "discrimination": ("json", True, "one-shot discrimination (results/metrics/discrimination.json)"),
    "supervised": ("json", True, "supervised classifiers (results/metrics/supervised.json)"),
    "runtime": ("json", True, "runtime table (results/metrics/runtime.json)"),
    "discrimination_roc": ("png", True, "discrimination ROC (Fig. 11)"),
    "discrimination_confusion": ("png", True, "confusion matrices (Fig. 12)"),
    "tsne": ("png", True, "t-SNE figures (Figs. 9-10)"),
}
METHOD_LABELS = {
    "embedding": "embedding (ours)",
    "cross_correlation": "cross-correlation",
    "spectral_lda": "linear spectral metric (LDA)",
}


# --------------------------------------------------------------------------- reading
#: the last chunk of every complete PNG file
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def _read_png(path: Path, what: str) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc}) [{what}]") from exc
    if not raw.startswith(b"\x89PNG\r\n\x1a\n"):
        raise InputError(f"{path}: not a PNG file (no PNG signature) [{what}]")
    if not raw.endswith(PNG_END):
        raise InputError(f"{path}: a truncated PNG file (no end chunk; {len(raw)} bytes) [{what}]")
    return "data:image/png;base64," + base64.b64encode(raw).decode("ascii")


def _read(inputs: dict[str, str | Path | None]) -> dict:
    """Every input read and checked against its contract (:mod:`seisembed.report.schemas`).

    JSON inputs come back as dicts and CSV inputs as lists of row dicts, with undefined
    values as :class:`~seisembed.report.schemas.NA`; ``data["_undefined"]`` lists them all.
    """
    unknown = set(inputs) - set(INPUTS)
    if unknown:
        raise InputError(f"report: unknown input(s) {sorted(unknown)}; known: {', '.join(INPUTS)}")
    data: dict = {"_undefined": []}
    for name, (kind, required, what) in INPUTS.items():
        path = inputs.get(name)
        if path is None:
            if required:
                raise InputError(f"report: input '{name}' ({what}) is required")
            data[name] = None
            continue
        path = Path(path)
        if not path.is_file():
            raise InputError(f"report: {what} {path} does not exist (run the stage that makes it first)")
        if kind == "json":
            data[name], undefined = read_json_input(name, path, what)
        elif kind == "csv":
            data[name], undefined = read_csv_input(name, path, what)
        else:
            data[name], undefined = _read_png(path, what), []
        data["_undefined"].extend(undefined)
    return data


def _hashes(inputs: dict[str, str | Path | None]) -> list[dict]:
    rows = []
    for name, path in sorted(inputs.items()):
        if path is None:
            continue
        rows.append(
            {"input": name, "path": str(path), "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]}
        )
    return rows


# --------------------------------------------------------------------------- sentences
def _number(value) -> float | None:
    """``value`` as a float when it is a finite number, else ``None`` (n/a, null, NaN, a string)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _why(value) -> str:
    """Why ``value`` is not a number the report can compare."""
    if isinstance(value, NA):
        return value.text()
    if value is None:
        return "missing"
    return f"not a finite number: {value!r}"


def _fmt(value, spec: str = ".3f") -> str:
    number = _number(value)
    return "n/a" if number is None else format(number, spec)


def _where(value: float, reference: float) -> str:
    return "above" if value > reference else "below" if value < reference else "equal to"


def _interval(interval) -> tuple[float, float] | None:
    """``(low, high)`` of a two-number ordered interval, else ``None``."""
    if interval is None or isinstance(interval, NA) or len(interval) != 2:
        return None
    lo, hi = (_number(v) for v in interval)
    return None if lo is None or hi is None or lo > hi else (lo, hi)


def compare(name: str, value: float, interval: list[float] | None, reference: float, reference_name: str) -> str:
    """A sentence saying whether ``value`` (with its 95 % interval) is above or below ``reference``.

    A value that is not a finite number (n/a, null, NaN) is never compared: the sentence
    says it is not available, and why.

    >>> compare("Our AUC", 0.80, [0.78, 0.82], 0.868, "the paper's")
    "Our AUC 0.800 [0.780, 0.820] is below the paper's 0.868 (the 95 % interval excludes it)."
    >>> compare("Our AUC", float("nan"), [0.78, 0.82], 0.868, "the paper's")
    "Our AUC is not available (not a finite number: nan), so it is not compared with the paper's 0.868."
    """
    number = _number(value)
    if number is None:
        return f"{name} is not available ({_why(value)}), so it is not compared with {reference_name} {reference:.3f}."
    where = _where(number, reference)
    text = f"{name} {number:.3f}"
    if interval is not None:
        bounds = _interval(interval)
        if bounds is None:
            tail = " (the 95 % interval is not available)"
        else:
            lo, hi = bounds
            text += f" [{lo:.3f}, {hi:.3f}]"
            inside = lo <= reference <= hi
            tail = " (within the 95 % interval: not distinguishable)" if inside else " (the 95 % interval excludes it)"
    else:
        tail = ""
    return f"{text} is {where} {reference_name} {reference:.3f}{tail}."


def _association_rows(assoc: dict) -> list[dict]:
    rows = [
        {
            "method": "embedding (the paper's)",
            "paper": True,
            "auc": paper.ASSOCIATION["auc"],
            "accuracy": paper.ASSOCIATION["accuracy"],
            "precision": paper.ASSOCIATION["precision"],
            "recall": paper.ASSOCIATION["recall"],
            "n_pairs": paper.ASSOCIATION["n_pairs"],
        }
    ]
    for method, label in METHOD_LABELS.items():
        if method not in assoc:
            continue
        t = assoc[method]["test"]
        rows.append({"method": label, "key": method, "paper": False, **t})
    return rows


def _association_sentences(assoc: dict) -> list[str]:
    t = assoc["embedding"]["test"]
    out = [compare("Our embedding's test AUC", t["auc"], t["auc_ci95"], paper.ASSOCIATION["auc"], "the paper's")]
    out.append(
        compare(
            "Our embedding's test accuracy",
            t["accuracy"],
            t["accuracy_ci95"],
            paper.ASSOCIATION["accuracy"],
            "the paper's",
        )
    )
    ours = _number(t["auc"])
    for method in ("cross_correlation", "spectral_lda"):
        if method not in assoc:
            continue
        b = assoc[method]["test"]
        theirs = _number(b["auc"])
        label = METHOD_LABELS[method]
        if ours is None:
            out.append(
                f"The embedding's test AUC is not available ({_why(t['auc'])}), so it is not compared with "
                f"the {label}'s {_fmt(b['auc'])}."
            )
            continue
        if theirs is None:
            out.append(
                f"The embedding's test AUC {ours:.3f} is not compared with the {label}'s, which is not available "
                f"({_why(b['auc'])})."
            )
            continue
        text = f"The embedding's test AUC {ours:.3f} is {_where(ours, theirs)} the {label}'s {theirs:.3f}"
        mine, other = _interval(t["auc_ci95"]), _interval(b["auc_ci95"])
        if other is not None:
            text += f" [{other[0]:.3f}, {other[1]:.3f}]"
        text += " on the same pairs"
        if mine is None or other is None:
            text += " (an interval is not available)."
        else:
            overlap = not (mine[1] < other[0] or other[1] < mine[0])
            text += " (the intervals overlap)." if overlap else " (the intervals do not overlap)."
        out.append(text)
    return out


def _distance_table(table: list[dict]) -> list[dict]:
    reference = {row[0]: row[1:] for row in paper.TABLE_II}
    rows = []
    for r in table:
        p = reference.get(str(r["distance_km"]))
        rows.append({**r, "paper_precision": p and p[0], "paper_recall": p and p[1], "paper_accuracy": p and p[2]})
    return rows


def _novelty_table(table: list[dict]) -> list[dict]:
    rows = []
    for r in table:
        p = paper.TABLES_III_V.get(str(r["pairs"]), {}).get("yes")
        rows.append({**r, "paper_count": p and p[0], "paper_accuracy": p and p[2]})
    return rows


def _discrimination(disc: dict, supervised: dict) -> dict:
    ks = sorted(disc["symmetric"], key=int)
    rows = []
    for k in ks:
        row = {"k": int(k), "paper_auc": paper.DISCRIMINATION["auc_by_templates"].get(int(k))}
        for protocol in ("symmetric", "authors"):
            row[protocol] = disc[protocol][k]
        rows.append(row)
    sentences = []
    for row in rows:
        s = row["symmetric"]
        if row["paper_auc"] is not None:
            sentences.append(
                compare(
                    f"With {row['k']} template(s) per class our mean test AUC",
                    s["auc_mean"],
                    [s["auc_p05"], s["auc_p95"]],
                    row["paper_auc"],
                    "the paper's",
                ).replace("95 % interval", "5-95 % range of the trials")
            )
    paper_balanced = paper.DISCRIMINATION["balanced_accuracy"]
    for row in rows:
        s = row["symmetric"]
        b = s["balanced"]
        balanced = _number(b["balanced_accuracy"])
        if balanced is None:
            versus = (
                f"; that balanced accuracy is not available ({_why(b['balanced_accuracy'])}), so it is not "
                f"compared with the paper's {paper_balanced:.3f}."
            )
        else:
            versus = (
                f", {_where(balanced, paper_balanced)} the paper's {paper_balanced:.3f} (from its confusion "
                "counts; its threshold was chosen on test)."
            )
        sentences.append(
            f"With {row['k']} template(s) per class the maximum-accuracy cut (val) gives test accuracy "
            f"{_fmt(s['accuracy'])}, explosion recall {_fmt(s['recall'])} and balanced accuracy "
            f"{_fmt(s['balanced_accuracy'])}; the maximum-balanced-accuracy cut (val) gives balanced accuracy "
            f"{_fmt(b['balanced_accuracy'])} (5-95 % of trials {_fmt(b['balanced_accuracy_p05'])}-"
            f"{_fmt(b['balanced_accuracy_p95'])}) with explosion recall {_fmt(b['recall'])}{versus}"
        )
    best = max(rows, key=lambda r: r["k"])
    for method in ("svm36", "srspec_cnn"):
        b = supervised[method]
        mean, theirs = _number(best["symmetric"]["auc_mean"]), _number(b["auc"])
        bounds = _interval(b["auc_ci95"])
        interval = "" if bounds is None else f" [{bounds[0]:.3f}, {bounds[1]:.3f}]"
        if mean is None:
            sentences.append(
                f"With {best['k']} templates the one-shot embedding's mean test AUC is not available "
                f"({_why(best['symmetric']['auc_mean'])}), so it is not compared with the supervised "
                f"{b['method']}'s {_fmt(theirs)}."
            )
            continue
        if theirs is None:
            sentences.append(
                f"With {best['k']} templates the one-shot embedding's mean test AUC {mean:.3f} is not compared "
                f"with the supervised {b['method']}'s, which is not available ({_why(b['auc'])})."
            )
            continue
        sentences.append(
            f"With {best['k']} templates the one-shot embedding's mean test AUC {mean:.3f} is {_where(mean, theirs)} "
            f"the supervised {b['method']}'s {theirs:.3f}{interval}, trained on every train record."
        )
    cnn = supervised["srspec_cnn"]
    sentences.append(
        compare(
            "Our SRSpec-CNN test accuracy",
            cnn["accuracy"],
            cnn.get("accuracy_ci95"),
            paper.SUPERVISED["srspec_cnn"]["accuracy"],
            "the paper's SRSpec-CNN",
        )  # fmt: skip
    )
    first = rows[0]["symmetric"]
    share = first["n_test_explosions"] / first["n_test_records"] if first["n_test_records"] else None
    return {"rows": rows, "sentences": sentences, "explosion_percent": None if share is None else round(100 * share)}


def _runtime(runtime: dict) -> dict:
    from seisembed.evaluate.runtime import TASKS

    rows = []
    splits = [s for s in ("val", "test") if s in runtime["splits"]]
    for task, label in TASKS.items():
        row = {"task": task, "label": label, "paper_ms": paper.RUNTIME_MS_PER_WINDOW.get(task)}
        for split in splits:
            row[split] = runtime["splits"][split][f"{task}_ms_per_window"]
        rows.append(row)
    sentences = []
    paper_ratio = paper.RUNTIME_MS_PER_WINDOW["svm36_features"] / paper.RUNTIME_MS_PER_WINDOW["embedding"]
    for split in splits:
        values = runtime["splits"][split]
        ratio = values["svm36_features_ms_per_window"] / values["embedding_ms_per_window"]  # both > 0 (schema)
        sentences.append(
            f"On the {split} windows embedding is {ratio:.2f}x as fast as the SVM-36 feature extraction "
            f"({'faster' if ratio > 1 else 'slower'}), against the paper's {paper_ratio:.1f}x "
            f"({paper.RUNTIME_DEVICE}); ours on {runtime['device']['text']}."
        )
    return {"rows": rows, "sentences": sentences, "splits": splits}


def _calibration(cal: dict | None) -> list[dict] | None:
    if not cal:
        return None
    rows = []
    for name, bound in sorted(cal.get("bounds", {}).items()):
        rows.append(
            {
                "check": name,
                "value": cal.get("values", {}).get(name),
                "kind": bound.get("kind"),
                "bound": bound.get("bound"),
                "pass": cal.get("checks", {}).get(name),
            }
        )
    return rows


# --------------------------------------------------------------------------- the page
def _number_filter(spec: str):
    """A Jinja filter: ``–`` for no value (a paper cell left empty), the :class:`NA` itself for n/a."""

    def apply(value):
        if isinstance(value, NA):
            return value
        if value is None or value != value:
            return "–"
        return format(int(value), spec) if spec == "," else format(value, spec)

    return apply


def _ci_filter(value):
    if isinstance(value, NA) or not value:
        return value or ""
    lo, hi = value
    if isinstance(lo, NA) or isinstance(hi, NA):
        return lo if isinstance(lo, NA) else hi
    return f"[{lo:.3f}, {hi:.3f}]"


def _strict_dumps(value, **kwargs) -> str:
    """``tojson`` in the page: strict JSON (non-finite numbers as null, never a NaN token)."""
    return json.dumps(finite_json(value)[0], allow_nan=False, default=str, **kwargs)


def _environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(Path(__file__).with_name("templates"))),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["f3"] = _number_filter(".3f")
    env.filters["f2"] = _number_filter(".2f")
    env.filters["int"] = _number_filter(",")
    env.filters["ci"] = _ci_filter
    env.policies["json.dumps_function"] = _strict_dumps
    return env


def _plain(value):
    """A headline value: the number, or ``None`` where it is n/a."""
    return None if isinstance(value, NA) else value


def build_report(inputs: dict[str, str | Path | None], out: str | Path, config: dict) -> dict:
    """Render ``out`` (index.html) from the stage outputs named in ``inputs`` (see :data:`INPUTS`).

    Every input is checked against its contract first (:mod:`seisembed.report.schemas`): a
    missing key, a wrong type or a value out of range raises :class:`InputError` naming
    the file, the key and the value. Returns the headline numbers the page shows, keyed
    by their ``data-metric`` path (``None`` where a value is undefined, shown as n/a).
    """
    from seisembed.provenance import provenance

    data = _read(inputs)
    assoc, disc, sup, runtime = data["association"], data["discrimination"], data["supervised"], data["runtime"]
    card, model = data["dataset_card"], data["model_card"]
    context = {
        "paper": paper,
        "config": config,
        "study": config.get("study", card.get("study")),
        "source": (
            "seisbench"
            if config.get("dataset", {}).get("source") == "seisbench"
            else config.get("catalog", {}).get("source", "unknown")
        ),
        "catalog": data["catalog_summary"],
        "waveforms": data["waveforms_summary"],
        "card": card,
        "calibration": _calibration(data["calibration"]),
        "calibration_pass": (data["calibration"] or {}).get("pass"),
        "model": model,
        "association_rows": _association_rows(assoc),
        "association_sentences": _association_sentences(assoc),
        "association_val": {m: assoc[m]["val"] for m in METHOD_LABELS if m in assoc},
        "method_labels": METHOD_LABELS,
        "distance_rows": _distance_table(data["association_by_distance"]),
        "novelty_rows": _novelty_table(data["association_by_novelty"]),
        "discrimination": _discrimination(disc, sup),
        "supervised": sup,
        "runtime": _runtime(runtime),
        "runtime_record": runtime,
        "figures": {name: data[name] for name, (kind, _, _) in INPUTS.items() if kind == "png"},
        "provenance": provenance(config),
        "hashes": _hashes(inputs),
        "undefined": data["_undefined"],
    }
    html = _environment().get_template("index.html.j2").render(**context)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out, html)
    headline = {
        key: _plain(value)
        for key, value in {
            "association.embedding.test.auc": assoc["embedding"]["test"]["auc"],
            "association.embedding.test.accuracy": assoc["embedding"]["test"]["accuracy"],
            "association.cross_correlation.test.auc": assoc["cross_correlation"]["test"]["auc"],
            "association.spectral_lda.test.auc": assoc["spectral_lda"]["test"]["auc"],
            "supervised.svm36.auc": sup["svm36"]["auc"],
            "supervised.srspec_cnn.auc": sup["srspec_cnn"]["auc"],
            "supervised.svm36.balanced.balanced_accuracy": sup["svm36"]["balanced"]["balanced_accuracy"],
            "supervised.srspec_cnn.balanced.balanced_accuracy": sup["srspec_cnn"]["balanced"]["balanced_accuracy"],
            **{f"discrimination.symmetric.{k}.auc_mean": disc["symmetric"][k]["auc_mean"] for k in disc["symmetric"]},
            **{
                f"discrimination.symmetric.{k}.balanced.balanced_accuracy": disc["symmetric"][k]["balanced"][
                    "balanced_accuracy"
                ]
                for k in disc["symmetric"]
            },
        }.items()
    }
    log.info("wrote %s (%.0f kB)", out, len(html) / 1e3)
    return headline
