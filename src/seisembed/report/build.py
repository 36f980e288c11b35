"""Render the study report (see :mod:`seisembed.report`)."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from pathlib import Path

import pandas as pd

from seisembed import paper
from seisembed.atomic import write_text_atomic
from seisembed.errors import InputError

__all__ = ["INPUTS", "build_report", "compare"]

log = logging.getLogger(__name__)

#: every file the report reads: name -> (kind, required, what it is)
INPUTS: dict[str, tuple[str, bool, str]] = {
    "catalog_summary": ("json", True, "catalog stage summary (results/catalog/summary.json)"),
    "waveforms_summary": ("json", True, "waveform stage QC summary (results/waveforms/summary.json)"),
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
    "baselines": ("json", True, "supervised baselines (results/metrics/baselines.json)"),
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
def _read(inputs: dict[str, str | Path | None]) -> dict:
    unknown = set(inputs) - set(INPUTS)
    if unknown:
        raise InputError(f"report: unknown input(s) {sorted(unknown)}; known: {', '.join(INPUTS)}")
    data = {}
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
        try:
            if kind == "json":
                data[name] = json.loads(path.read_text())
            elif kind == "csv":
                data[name] = pd.read_csv(path)
            else:
                raw = path.read_bytes()
                if not raw.startswith(b"\x89PNG\r\n\x1a\n"):
                    raise ValueError("not a PNG file")
                data[name] = "data:image/png;base64," + base64.b64encode(raw).decode("ascii")
        except (ValueError, OSError, pd.errors.ParserError) as exc:
            raise InputError(f"report: cannot read {what} {path}: {exc}") from exc
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
def _where(value: float, reference: float) -> str:
    return "above" if value > reference else "below" if value < reference else "equal to"


def compare(name: str, value: float, interval: list[float] | None, reference: float, reference_name: str) -> str:
    """A sentence saying whether ``value`` (with its 95 % interval) is above or below ``reference``.

    >>> compare("Our AUC", 0.80, [0.78, 0.82], 0.868, "the paper's")
    "Our AUC 0.800 [0.780, 0.820] is below the paper's 0.868 (the 95 % interval excludes it)."
    """
    where = _where(value, reference)
    text = f"{name} {value:.3f}"
    if interval is not None:
        lo, hi = interval
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
    for method in ("cross_correlation", "spectral_lda"):
        if method not in assoc:
            continue
        b = assoc[method]["test"]
        overlap = not (t["auc_ci95"][1] < b["auc_ci95"][0] or b["auc_ci95"][1] < t["auc_ci95"][0])
        where = "above" if t["auc"] > b["auc"] else "below"
        out.append(
            f"The embedding's test AUC {t['auc']:.3f} is {where} the {METHOD_LABELS[method]}'s {b['auc']:.3f} "
            f"[{b['auc_ci95'][0]:.3f}, {b['auc_ci95'][1]:.3f}] on the same pairs"
            + (" (the intervals overlap)." if overlap else " (the intervals do not overlap).")
        )
    return out


def _distance_table(frame: pd.DataFrame) -> list[dict]:
    reference = {row[0]: row[1:] for row in paper.TABLE_II}
    rows = []
    for r in frame.to_dict("records"):
        p = reference.get(str(r["distance_km"]))
        rows.append({**r, "paper_precision": p and p[0], "paper_recall": p and p[1], "paper_accuracy": p and p[2]})
    return rows


def _novelty_table(frame: pd.DataFrame) -> list[dict]:
    rows = []
    for r in frame.to_dict("records"):
        p = paper.TABLES_III_V.get(str(r["pairs"]), {}).get("yes")
        rows.append({**r, "paper_count": p and p[0], "paper_accuracy": p and p[2]})
    return rows


def _discrimination(disc: dict, baselines: dict) -> dict:
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
    for row in rows:
        s = row["symmetric"]
        b = s["balanced"]
        sentences.append(
            f"With {row['k']} template(s) per class the maximum-accuracy cut (val) gives test accuracy "
            f"{s['accuracy']:.3f}, explosion recall {s['recall']:.3f} and balanced accuracy "
            f"{s['balanced_accuracy']:.3f}; the maximum-balanced-accuracy cut (val) gives balanced accuracy "
            f"{b['balanced_accuracy']:.3f} (5-95 % of trials {b['balanced_accuracy_p05']:.3f}-"
            f"{b['balanced_accuracy_p95']:.3f}) with explosion recall {b['recall']:.3f}, {_where(b['balanced_accuracy'], paper.DISCRIMINATION['balanced_accuracy'])} "
            f"the paper's {paper.DISCRIMINATION['balanced_accuracy']:.3f} (from its confusion counts; its threshold "
            "was chosen on test)."
        )
    best = max(rows, key=lambda r: r["k"])
    for method in ("svm36", "srspec_cnn"):
        b = baselines[method]
        mean = best["symmetric"]["auc_mean"]
        where = "above" if mean > b["auc"] else "below"
        sentences.append(
            f"With {best['k']} templates the one-shot embedding's mean test AUC {mean:.3f} is {where} the "
            f"supervised {b['method']}'s {b['auc']:.3f} [{b['auc_ci95'][0]:.3f}, {b['auc_ci95'][1]:.3f}], "
            "trained on every train record."
        )
    cnn = baselines["srspec_cnn"]
    sentences.append(
        compare(
            "Our SRSpec-CNN test accuracy",
            cnn["accuracy"],
            cnn.get("accuracy_ci95"),
            paper.BASELINES["srspec_cnn"]["accuracy"],
            "the paper's SRSpec-CNN",
        )  # fmt: skip
    )
    return {"rows": rows, "sentences": sentences}


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
    for split in splits:
        values = runtime["splits"][split]
        ratio = values["svm36_features_ms_per_window"] / values["embedding_ms_per_window"]
        paper_ratio = paper.RUNTIME_MS_PER_WINDOW["svm36_features"] / paper.RUNTIME_MS_PER_WINDOW["embedding"]
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
def _environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(Path(__file__).with_name("templates"))),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["f3"] = lambda v: "–" if v is None or v != v else f"{v:.3f}"
    env.filters["f2"] = lambda v: "–" if v is None or v != v else f"{v:.2f}"
    env.filters["int"] = lambda v: "–" if v is None or v != v else f"{int(v):,}"
    env.filters["ci"] = lambda v: "" if not v else f"[{v[0]:.3f}, {v[1]:.3f}]"
    return env


def build_report(inputs: dict[str, str | Path | None], out: str | Path, config: dict) -> dict:
    """Render ``out`` (index.html) from the stage outputs named in ``inputs`` (see :data:`INPUTS`).

    Returns the headline numbers the page shows, keyed by their ``data-metric`` path.
    """
    from seisembed.provenance import provenance

    data = _read(inputs)
    assoc, disc, base, runtime = data["association"], data["discrimination"], data["baselines"], data["runtime"]
    card, model = data["dataset_card"], data["model_card"]
    context = {
        "paper": paper,
        "config": config,
        "study": config.get("study", card.get("study")),
        "source": config.get("catalog", {}).get("source", "unknown"),
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
        "discrimination": _discrimination(disc, base),
        "baselines": base,
        "runtime": _runtime(runtime),
        "runtime_record": runtime,
        "figures": {name: data[name] for name, (kind, _, _) in INPUTS.items() if kind == "png"},
        "provenance": provenance(config),
        "hashes": _hashes(inputs),
    }
    html = _environment().get_template("index.html.j2").render(**context)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out, html)
    headline = {
        "association.embedding.test.auc": assoc["embedding"]["test"]["auc"],
        "association.embedding.test.accuracy": assoc["embedding"]["test"]["accuracy"],
        "association.cross_correlation.test.auc": assoc["cross_correlation"]["test"]["auc"],
        "association.spectral_lda.test.auc": assoc["spectral_lda"]["test"]["auc"],
        "baselines.svm36.auc": base["svm36"]["auc"],
        "baselines.srspec_cnn.auc": base["srspec_cnn"]["auc"],
        "baselines.svm36.balanced.balanced_accuracy": base["svm36"]["balanced"]["balanced_accuracy"],
        "baselines.srspec_cnn.balanced.balanced_accuracy": base["srspec_cnn"]["balanced"]["balanced_accuracy"],
        **{f"discrimination.symmetric.{k}.auc_mean": disc["symmetric"][k]["auc_mean"] for k in disc["symmetric"]},
        **{
            f"discrimination.symmetric.{k}.balanced.balanced_accuracy": disc["symmetric"][k]["balanced"][
                "balanced_accuracy"
            ]
            for k in disc["symmetric"]
        },
    }
    log.info("wrote %s (%.0f kB)", out, len(html) / 1e3)
    return headline
