"""``seisembed results``: docs/results.md generated from a run's metrics files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from seisembed import cli
from seisembed.errors import InputError
from seisembed.report.results import RESULT_FILES, results_markdown

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "report"


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """The report fixtures laid out as a run's results folder."""
    root = tmp_path / "results"
    for name, (relative, _) in RESULT_FILES.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / f"{name}.json", root / relative)
    return root


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def _f(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _ci(bounds) -> str:
    return f"[{bounds[0]:.3f}, {bounds[1]:.3f}]"


def test_the_page_holds_every_headline_number_with_its_interval(results):
    page = results_markdown(results, generated="2000-01-02")
    assoc, disc, sup = _fixture("association"), _fixture("discrimination"), _fixture("supervised")
    model, runtime = _fixture("model_card"), _fixture("runtime")
    for method in ("embedding", "cross_correlation", "spectral_lda"):
        test = assoc[method]["test"]
        assert f"{_f(test['auc'])} {_ci(test['auc_ci95'])}" in page, method
        assert f"{_f(test['accuracy'])} {_ci(test['accuracy_ci95'])}" in page, method
    assert f"{assoc['embedding']['test']['n_pairs']:,} test pairs" in page
    for k, s in disc["symmetric"].items():
        assert f"| {k} | {_f(s['auc_mean'])} ({s['auc_p05']:.3f}-{s['auc_p95']:.3f}) |" in page, k
        assert _f(s["balanced"]["balanced_accuracy"]) in page
        assert _f(disc["authors"][k]["auc_mean"]) in page
    for method in ("svm36", "srspec_cnn"):
        r = sup[method]
        assert f"| {r['method']} | {_f(r['auc'])} {_ci(r['auc_ci95'])} |" in page, method
        assert f"| {r['training_seconds']:.0f} |" in page
    assert "## Supervised classifiers" in page and "association baselines" in page
    assert f"{model['parameters']:,}" in page and f"({model['training_seconds']:.0f} s)" in page
    assert f"{runtime['splits']['test']['embedding_ms_per_window']:.2f}" in page
    assert "Generated 2000-01-02" in page
    assert f"`{assoc['provenance']['config_hash']}`" in page
    for package, version in assoc["provenance"]["packages"].items():
        assert f"{package} {version}" in page


def test_the_command_writes_the_page(results, tmp_path):
    out = tmp_path / "docs" / "results.md"
    code = cli.main(["results", "--results", str(results), "--out", str(out), "--date", "2000-01-02"])
    assert code == 0
    assert out.read_text() == results_markdown(results, generated="2000-01-02")


@pytest.mark.parametrize("name", list(RESULT_FILES))
def test_a_missing_file_is_named_with_the_rule_that_makes_it(results, name):
    relative, what = RESULT_FILES[name]
    (results / relative).unlink()
    with pytest.raises(InputError, match="does not exist") as caught:
        results_markdown(results)
    message = str(caught.value)
    assert str(results / relative) in message and what in message


def test_the_former_name_of_the_supervised_metrics_is_pointed_out(results):
    (results / "metrics" / "supervised.json").rename(results / "metrics" / "baselines.json")
    with pytest.raises(InputError, match="former name, rename it to supervised.json"):
        results_markdown(results)


def test_a_results_folder_that_is_not_there_is_refused(tmp_path):
    with pytest.raises(InputError, match="is not a folder"):
        results_markdown(tmp_path / "nowhere")


def test_a_file_breaking_its_contract_is_refused(results):
    path = results / "metrics" / "association.json"
    record = json.loads(path.read_text())
    record["embedding"]["test"]["auc"] = 1.5
    path.write_text(json.dumps(record))
    with pytest.raises(InputError, match=r"association\.json.*embedding\.test\.auc"):
        results_markdown(results)
