"""One-shot source discrimination: explosion or earthquake from a few labelled templates (paper Sect. V).

For each trial, ``k`` template records are drawn from **train** events (never from the
scored split): ``k`` explosions and ``k`` earthquakes (protocol ``symmetric``), or ``k``
explosions against 1,000 random earthquakes (protocol ``authors``, as their code). The
class centroids are the normalised means of the template embeddings; a record's score is

    S = d(x, earthquake centroid) / (d(x, explosion centroid) + eps)      (paper Eq. 7)

(high: explosion). Per trial: the AUC on the test records; two thresholds chosen on the
**val** records with the same templates and applied to test: the one maximising accuracy
and the one maximising balanced accuracy (mean of the explosion and earthquake recalls,
the honest summary with ~18 % explosions), each with accuracy, precision, recall and
balanced accuracy (explosion = positive). Over ``evaluate.discrimination_trials`` seeded
trials: mean, standard deviation and 5-95 % range of the AUC, the val AUC, the mean
metrics at both thresholds (top level: the maximum-accuracy cut; ``balanced``: the
maximum-balanced-accuracy cut, with the 5-95 % range of its balanced accuracy) and their
confusion matrices summed over trials.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from seisembed.atomic import save_figure, write_json_atomic
from seisembed.columns import check_both_classes, other_source_types, two_class
from seisembed.config import validate_config
from seisembed.embeddings import read_embeddings
from seisembed.errors import InputError
from seisembed.evaluate.stats import best_threshold, confusion_record, decision_metrics
from seisembed.evaluate.supervised import LABELS, METHODS
from seisembed.metrics import auc, confusion_counts, roc
from seisembed.provenance import provenance
from seisembed.streams import Stream
from seisembed.vectors import EPS, centroid

__all__ = ["discrimination_trials", "evaluate_discrimination", "tsne_figures"]

log = logging.getLogger(__name__)


def discrimination_trials(
    embeddings: pd.DataFrame,
    k: int,
    protocol: str,
    trials: int,
    seed: int,
    n_authors_earthquakes: int = 1000,
    scored: str = "test",
) -> dict:
    """Per-trial AUC on the ``scored`` split, metrics at val thresholds, and their summary.

    Templates come from train. ``scored="test"`` (the evaluation): test AUCs, plus the
    test accuracy, precision, recall and balanced accuracy at two thresholds chosen on
    val with the same templates (maximum accuracy; maximum balanced accuracy), plus the
    val AUC. ``scored="val"`` (model selection, e.g. benchmarks/model_ablation.py): the
    val AUCs only; the test split is neither needed nor read.
    """

    if scored not in ("val", "test"):
        raise ValueError(f"scored split {scored!r} is not 'val' or 'test'")
    splits = ("val", "test") if scored == "test" else ("val",)
    for split in ("train", *splits):
        check_both_classes(embeddings, split)
    emb = embeddings.filter(like="emb_").to_numpy(dtype=np.float64)
    split = embeddings["split"].to_numpy()
    explosion = (embeddings["source_type"] == "explosion").to_numpy()
    train_ex = np.flatnonzero((split == "train") & explosion)
    train_eq = np.flatnonzero((split == "train") & ~explosion)
    n_eq = k if protocol == "symmetric" else min(n_authors_earthquakes, len(train_eq))
    if len(train_ex) < k or len(train_eq) < n_eq:
        raise InputError(
            f"train split has {len(train_ex)} explosion / {len(train_eq)} earthquake records; "
            f"{k} and {n_eq} templates are needed"
        )
    rows = {s: np.flatnonzero(split == s) for s in splits}
    truth = {s: explosion[i] for s, i in rows.items()}
    rng = np.random.default_rng([seed, Stream.TEMPLATES, k, {"symmetric": 0, "authors": 1}[protocol]])
    aucs: dict[str, list] = {s: [] for s in splits}
    metrics: dict[str, list] = {"accuracy": [], "balanced_accuracy": []}
    confusion = {c: np.zeros((2, 2), dtype=np.int64) for c in metrics}
    curves, used = [], []
    for _ in range(trials):
        ex_t, eq_t = rng.choice(train_ex, k, replace=False), rng.choice(train_eq, n_eq, replace=False)
        used.append(np.r_[ex_t, eq_t])
        ex_c = centroid(emb[ex_t])
        eq_c = centroid(emb[eq_t])
        score = {
            s: np.linalg.norm(emb[i] - eq_c, axis=1) / (np.linalg.norm(emb[i] - ex_c, axis=1) + EPS)
            for s, i in rows.items()
        }
        for s in splits:
            aucs[s].append(auc(score[s], truth[s]))
        if scored == "val":
            continue
        for criterion in metrics:
            threshold = best_threshold(score["val"], truth["val"], criterion=criterion)
            metrics[criterion].append(decision_metrics(score["test"], truth["test"], threshold))
            confusion[criterion] += confusion_counts(truth["test"], score["test"] >= threshold)
        if len(curves) < 100:
            curves.append((score["test"], truth["test"]))
    values = np.asarray(aucs[scored])
    summary = {
        "k": k,
        "protocol": protocol,
        "templates": {"explosion": k, "earthquake": n_eq, "from": "train events"},
        "n_trials": trials,
        "scored": scored,
        "auc_mean": float(values.mean()),
        "auc_std": float(values.std()),
        "auc_p05": float(np.percentile(values, 5)),
        "auc_p95": float(np.percentile(values, 95)),
    }
    if scored == "val":
        summary["n_val_records"] = int(len(rows["val"]))
        return {"summary": summary, "curves": curves, "aucs": values, "template_rows": used}

    def mean_of(criterion: str, key: str) -> float:
        return float(np.nanmean([m[key] for m in metrics[criterion]]))

    balanced = np.asarray([m["balanced_accuracy"] for m in metrics["balanced_accuracy"]])
    summary.update(
        {
            "val_auc_mean": float(np.mean(aucs["val"])),
            # the cut maximising accuracy on val: every metric at the top level is at this cut
            "accuracy": mean_of("accuracy", "accuracy"),
            "precision": mean_of("accuracy", "precision"),
            "recall": mean_of("accuracy", "recall"),
            "balanced_accuracy": mean_of("accuracy", "balanced_accuracy"),
            "threshold_from": "val (maximum accuracy, same templates)",
            "confusion_test_summed": confusion_record(confusion["accuracy"]),
            # with ~18 % explosions the maximum-accuracy cut calls most records earthquakes: the
            # cut maximising balanced accuracy on val is the honest one for a rare class
            "balanced": {
                "threshold_from": "val (maximum balanced accuracy, same templates)",
                "accuracy": mean_of("balanced_accuracy", "accuracy"),
                "precision": mean_of("balanced_accuracy", "precision"),
                "recall": mean_of("balanced_accuracy", "recall"),
                "balanced_accuracy": float(np.nanmean(balanced)),
                "balanced_accuracy_p05": float(np.nanpercentile(balanced, 5)),
                "balanced_accuracy_p95": float(np.nanpercentile(balanced, 95)),
                "confusion_test_summed": confusion_record(confusion["balanced_accuracy"]),
            },
            "n_test_records": int(len(rows["test"])),
            "n_test_explosions": int(explosion[rows["test"]].sum()),
        }
    )
    return {"summary": summary, "curves": curves, "aucs": values, "template_rows": used}


def _supervised_curves(path: str | Path | None) -> dict:
    """Test ROC and the confusion at the val threshold of each supervised classifier in ``supervised_scores.parquet``."""

    if path is None:
        return {}
    if not Path(path).is_file():
        raise InputError(f"supervised scores {path} does not exist (run the evaluate_supervised rule first)")
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"supervised scores {path} is not a readable parquet file: {exc}") from exc
    missing = {"split", "source_type", *METHODS} - set(frame.columns)
    if missing:
        raise InputError(f"{path} has no column(s) {sorted(missing)}: not a supervised_scores.parquet")
    for method in METHODS:
        scores = pd.to_numeric(frame[method], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(scores)
        if bad.any():
            raise InputError(
                f"{path}: column {method} has {int(bad.sum())} missing or non-finite score(s), first in row "
                f"{int(np.flatnonzero(bad)[0])}; rerun the evaluate_supervised rule"
            )
    for split in ("val", "test"):
        check_both_classes(frame, split, where=str(path))
    out = {}
    for method in METHODS:
        part = {s: frame[frame["split"] == s] for s in ("val", "test")}
        score = {s: part[s][method].to_numpy(dtype=np.float64) for s in part}
        truth = {s: (part[s]["source_type"] == "explosion").to_numpy() for s in part}
        threshold = best_threshold(score["val"], truth["val"])
        predicted, t = score["test"] >= threshold, truth["test"]
        out[method] = {
            "label": LABELS[method],
            "roc": roc(score["test"], t),
            "auc": auc(score["test"], t),
            "confusion": confusion_counts(t, predicted),
        }
    return out


def _confusion_panel(ax, counts: np.ndarray, title: str) -> None:
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for (i, j), v in np.ndenumerate(share):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", color="w" if v > 0.5 else "k")
    ax.set(
        xticks=[0, 1],
        yticks=[0, 1],
        xticklabels=["eq", "ex"],
        yticklabels=["eq", "ex"],
        xlabel="predicted",
        ylabel="true",
        title=title,
    )


def _figures(results: dict, folder: Path, supervised: dict | None = None) -> None:
    import matplotlib.pyplot as plt

    ks = sorted(results["symmetric"])
    fig, axes = plt.subplots(1, len(ks), figsize=(4 * len(ks), 4), squeeze=False)
    grid = np.linspace(0, 1, 101)
    for ax, k in zip(axes[0], ks):
        run = results["symmetric"][k]
        tprs = []
        for score, truth in run["curves"]:
            fp, tp = roc(score, truth)
            ax.plot(fp, tp, color="C0", alpha=0.05, lw=0.8)
            tprs.append(np.interp(grid, fp, tp))
        ax.plot(grid, np.mean(tprs, axis=0), color="k", lw=2, label=f"mean, AUC {run['summary']['auc_mean']:.3f}")
        for (method, base), style in zip((supervised or {}).items(), ("--", ":"), strict=False):
            ax.plot(
                *base["roc"],
                color="C3" if method == "svm36" else "C2",
                ls=style,
                lw=1.8,
                label=f"{base['label'].split(' (')[0]}, AUC {base['auc']:.3f}",
            )
        ax.plot([0, 1], [0, 1], color="0.7", lw=0.8)
        ax.set(xlabel="false positive rate", ylabel="true positive rate", title=f"{k} template(s) per class")
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(
        "One-shot discrimination, test records, 100 of the trials"
        + ("; supervised classifiers dashed/dotted" if supervised else "")
        + " (paper Fig. 11)"
    )
    save_figure(fig, folder / "discrimination_roc.png")
    panels = [
        (
            np.asarray(results["symmetric"][k]["summary"]["confusion_test_summed"]["counts"], dtype=float),
            f"{k} template(s)",
        )
        for k in ks
    ]
    panels += [(base["confusion"].astype(float), base["label"].split(" (")[0]) for base in (supervised or {}).values()]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.4), squeeze=False)
    for ax, (counts, title) in zip(axes[0], panels, strict=True):
        _confusion_panel(ax, counts, title)
    fig.suptitle("Confusion, row shares (test, val threshold; one-shot: all trials summed; paper Fig. 12)")
    save_figure(fig, folder / "discrimination_confusion.png")


def tsne_figures(embeddings: pd.DataFrame, folder: Path, seed: int) -> None:
    """t-SNE of 6 test events' records (by event) and of 200 test records (by class) (paper Figs. 9-10)."""
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    test = embeddings[embeddings["split"] == "test"]
    rng = np.random.default_rng([seed, Stream.TSNE])
    counts = test["source_id"].value_counts()
    events = list(counts.index[:6]) if len(counts) >= 6 else list(counts.index)
    events = sorted(events)
    some = test[test["source_id"].isin(events)].groupby("source_id").head(20)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    if len(some) > 5:
        xy = TSNE(2, perplexity=min(10, len(some) - 1), random_state=seed, init="pca").fit_transform(
            some.filter(like="emb_").to_numpy()
        )
        for sid in events:
            mask = (some["source_id"] == sid).to_numpy()
            axes[0].scatter(*xy[mask].T, s=25, label=sid)
        axes[0].legend(fontsize=7, title="event")
    axes[0].set(title="t-SNE: records of 6 test events (Fig. 9)")
    sample = test.iloc[rng.choice(len(test), min(200, len(test)), replace=False)]
    if len(sample) > 5:
        xy = TSNE(2, perplexity=min(30, len(sample) - 1), random_state=seed, init="pca").fit_transform(
            sample.filter(like="emb_").to_numpy()
        )
        for kind, color in (("earthquake", "C0"), ("explosion", "C3")):
            mask = (sample["source_type"] == kind).to_numpy()
            axes[1].scatter(*xy[mask].T, s=12, color=color, label=kind)
        axes[1].legend(fontsize=8)
    axes[1].set(title="t-SNE: 200 test records by class (Fig. 10)")
    for ax in axes:
        ax.set(xticks=[], yticks=[])
    save_figure(fig, folder / "tsne.png")


def evaluate_discrimination(
    embeddings_path: str | Path,
    out_dir: str | Path,
    figures_dir: str | Path,
    config: dict,
    supervised: str | Path | None = None,
) -> dict:
    """Both protocols for every ``evaluate.discrimination_templates`` k; writes discrimination.json and figures.

    ``supervised``: the supervised classifiers' ``supervised_scores.parquet``
    (:func:`seisembed.evaluate.supervised.evaluate_supervised`), drawn beside the
    one-shot results in both figures (Fig. 11 dashed/dotted, Fig. 12 two more panels).
    """

    config = validate_config(config)
    ev = config["evaluate"]
    embeddings = read_embeddings(embeddings_path, "embeddings", ("source_id", "split", "source_type"), complete=True)
    # records of other source types (a SeisBench import's own labels) are left out of the two classes, counted
    excluded = other_source_types(embeddings)
    if excluded:
        log.info("discrimination leaves out records of other source types: %s", excluded)
        embeddings = embeddings.loc[two_class(embeddings)].reset_index(drop=True)
    curves = _supervised_curves(supervised)  # read first: a bad file fails before the trials
    results: dict[str, dict] = {"symmetric": {}, "authors": {}}
    record: dict = {}
    for protocol in results:
        record[protocol] = {}
        for k in ev["discrimination_templates"]:
            run = discrimination_trials(embeddings, k, protocol, ev["discrimination_trials"], config["seed"])
            results[protocol][k] = run
            record[protocol][str(k)] = run["summary"]
            s = run["summary"]
            log.info(
                "discrimination %-9s k=%-2d AUC %.3f +- %.3f (5-95 %% %.3f-%.3f), accuracy %.3f, precision %.3f, "
                "recall %.3f; balanced accuracy %.3f (recall %.3f at the val balanced-accuracy threshold)",
                protocol,
                k,
                s["auc_mean"],
                s["auc_std"],
                s["auc_p05"],
                s["auc_p95"],
                s["accuracy"],
                s["precision"],
                s["recall"],
                s["balanced"]["balanced_accuracy"],
                s["balanced"]["recall"],
            )
    if curves:
        record["supervised_test_auc"] = {m: float(c["auc"]) for m, c in curves.items()}
    record["excluded_source_types"] = excluded  # records per other source type, left out
    record["provenance"] = provenance({k: config[k] for k in ("evaluate", "seed", "study")})
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    write_json_atomic(record, Path(out_dir) / "discrimination.json")
    _figures(results, Path(figures_dir), curves)
    tsne_figures(embeddings, Path(figures_dir), config["seed"])
    return record
