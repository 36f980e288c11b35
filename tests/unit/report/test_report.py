"""The one-page study report: computed verdicts, clear errors, and the page in headless Chromium.

The fixtures under ``tests/fixtures/report`` are the real outputs of the tiny CI study
(``snakemake --configfile tests/workflow/config.yaml``). With ``SEISEMBED_REPORT_RESULTS``
set to a finished run's ``results/`` folder (``.ci/run`` does), the browser test checks that
run's ``report/index.html`` against its metrics instead, and keeps a screenshot beside it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from html import unescape
from pathlib import Path

import pytest

from seisembed.config import validate_config
from seisembed.errors import InputError
from seisembed.report import INPUTS, build_report, compare

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "report"


def fixture_inputs() -> dict[str, Path]:
    return {name: FIXTURES / f"{name}.{kind}" for name, (kind, _, _) in INPUTS.items()}


def test_compare_says_above_below_and_whether_the_interval_decides():
    assert compare("AUC", 0.80, [0.78, 0.82], 0.868, "the paper's") == (
        "AUC 0.800 [0.780, 0.820] is below the paper's 0.868 (the 95 % interval excludes it)."
    )
    assert "above" in compare("AUC", 0.90, [0.85, 0.95], 0.868, "the paper's")
    assert "not distinguishable" in compare("AUC", 0.86, [0.84, 0.88], 0.868, "the paper's")
    assert compare("AUC", 0.9, None, 0.8, "x").endswith("above x 0.800.")


def test_the_rule_s_named_inputs_are_the_report_inputs_and_become_its_options(tmp_path):
    """The report rule lists its inputs once: their names are INPUTS and they drive the command's options."""
    from seisembed import cli
    from seisembed import workflow as sw

    rule = (Path(__file__).resolve().parents[3] / "workflow" / "rules" / "report.smk").read_text()
    block = rule.split("    input:\n", 1)[1].split("    output:\n", 1)[0]
    assert re.findall(r"^        (\w+)=", block, flags=re.M) == list(INPUTS)
    inputs = {name: str(tmp_path / f"{name} x.{kind}") for name, (kind, _, _) in INPUTS.items()}
    inputs["calibration"] = []  # an optional input left out gives no option
    line = sw.input_options(inputs)
    assert "--calibration" not in line and f"--dataset-card '{inputs['dataset_card']}'" in line
    parser, _ = cli._stage_parser("report")
    args = parser.parse_args(shlex.split(line))
    assert args.calibration is None
    assert {name: getattr(args, name) for name in INPUTS if name != "calibration"} == {
        name: path for name, path in inputs.items() if name != "calibration"
    }


def test_missing_or_broken_input_is_named(tmp_path):
    config = validate_config({"study": "t"})
    inputs = fixture_inputs()
    with pytest.raises(InputError, match="model card"):
        build_report({**inputs, "model_card": tmp_path / "nope.json"}, tmp_path / "index.html", config)
    (tmp_path / "fake.png").write_text("not an image")
    with pytest.raises(InputError, match="not a PNG"):
        build_report({**inputs, "tsne": tmp_path / "fake.png"}, tmp_path / "index.html", config)
    with pytest.raises(InputError, match="required"):
        build_report({k: v for k, v in inputs.items() if k != "runtime"}, tmp_path / "index.html", config)
    with pytest.raises(InputError, match="unknown input"):
        build_report({**inputs, "extra": inputs["runtime"]}, tmp_path / "index.html", config)


def test_page_is_self_contained_and_verdicts_follow_the_numbers(tmp_path):
    config = validate_config({"study": "ci-tiny"})
    headline = build_report(fixture_inputs(), tmp_path / "index.html", config)
    html = (tmp_path / "index.html").read_text()
    assert not re.findall(r'(?:src|href)\s*=\s*"(?!data:|#)[^"]*"', html)  # no external resource, no link off the page
    assert html.count('src="data:image/png;base64,') == sum(kind == "png" for kind, _, _ in INPUTS.values())
    assoc = json.loads((FIXTURES / "association.json").read_text())
    auc = assoc["embedding"]["test"]["auc"]
    assert headline["association.embedding.test.auc"] == auc
    word = "above" if auc > 0.868 else "below"
    text = unescape(html)
    assert f"Our embedding's test AUC {auc:.3f}" in text and f"is {word} the paper's 0.868" in text
    # without a calibration table (real data) the section is left out, not broken
    inputs = {**fixture_inputs(), "calibration": None}
    build_report(inputs, tmp_path / "real.html", validate_config({"catalog": {"source": "isc"}}))
    assert "Synthetic calibration" not in (tmp_path / "real.html").read_text()


# --------------------------------------------------------------------------- the browser
def _chromium() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.skip("headless Chromium is not installed (Debian: apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
    return path


def _metric(results: Path, name: str):
    """The value a ``data-metric`` path names: ``<file>.<key>.<key>...``."""
    file, *keys = name.split(".")
    path = results / "model" / "model_card.json" if file == "model_card" else results / "metrics" / f"{file}.json"
    value = json.loads(path.read_text())
    for key in keys:
        value = value[key]
    return value


def _fixture_results(tmp_path: Path) -> Path:
    """Lay the fixtures out as a results/ folder and render its report."""
    results = tmp_path / "results"
    (results / "metrics").mkdir(parents=True)
    (results / "model").mkdir()
    for name in ("association", "discrimination", "supervised", "runtime"):
        shutil.copy(FIXTURES / f"{name}.json", results / "metrics" / f"{name}.json")
    shutil.copy(FIXTURES / "model_card.json", results / "model" / "model_card.json")
    build_report(fixture_inputs(), results / "report" / "index.html", validate_config({"study": "ci-tiny"}))
    return results


def test_report_renders_in_headless_chromium_with_the_metrics_numbers(tmp_path):
    chromium = _chromium()
    from playwright.sync_api import sync_playwright

    given = os.environ.get("SEISEMBED_REPORT_RESULTS")
    results = Path(given) if given else _fixture_results(tmp_path)
    page_path = results / "report" / "index.html"
    assert page_path.is_file(), f"{page_path} was not made"
    console, failed, requests = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: console.append(str(e)))
        page.on("requestfailed", lambda r: failed.append(r.url[:80]))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_path.resolve().as_uri(), wait_until="load")
        images = page.eval_on_selector_all(
            "img", "els => els.map(e => [e.alt, e.complete && e.naturalWidth > 0 && e.naturalHeight > 0])"
        )
        metrics = page.eval_on_selector_all("[data-metric]", "els => els.map(e => [e.dataset.metric, e.textContent])")
        shot = (results / "report" / "screenshot.png") if given else tmp_path / "screenshot.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert not console, console
    assert not failed, failed
    outside = [u for u in requests if not u.startswith(("file://", "data:"))]
    assert not outside, f"the page made network requests: {outside[:3]}"
    assert len(images) == sum(kind == "png" for kind, _, _ in INPUTS.values())
    assert all(ok for _, ok in images), [alt for alt, ok in images if not ok]
    names = {name for name, _ in metrics}
    for needed in (
        "association.embedding.test.auc",
        "association.cross_correlation.test.auc",
        "association.spectral_lda.test.auc",
        "supervised.svm36.auc",
        "supervised.srspec_cnn.auc",
        "supervised.srspec_cnn.balanced.balanced_accuracy",
        "discrimination.symmetric.1.balanced.balanced_accuracy",
        "model_card.parameters",
    ):
        assert needed in names, needed
    for name, text in metrics:
        value = _metric(results, name)
        if value is None:  # null in the metrics file (an undefined metric): the page says n/a
            expected = "n/a"
        elif name.startswith("runtime."):
            expected = f"{value:.2f}"
        elif isinstance(value, int):
            expected = f"{value:,}"
        else:
            expected = f"{value:.3f}"
        assert text.strip() == expected, (name, text, value)
    assert shot.stat().st_size > 10_000
