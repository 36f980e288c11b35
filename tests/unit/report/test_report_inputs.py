"""The report's input contracts (:mod:`seisembed.report.schemas`): damaged inputs are refused by name.

Every JSON input is checked against its schema and every CSV input against its required
columns before anything is rendered: a missing key, a wrong type, a value out of range,
an unordered interval, a table with wrong columns or no rows is an ``InputError`` naming
the file, the key (or line and column) and the value; the CLI exits 1 with one line, no
traceback. ``null`` (how strict JSON writes a non-finite number) is allowed where a metric
can be undefined and shown as "n/a" with its reason; no verdict sentence compares it. The
property-based tests damage the real fixture inputs at random and check that the report
ends in a clean ``InputError`` or a valid page, never in another exception.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import re
import tempfile
from html import unescape
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seisembed.cli import main
from seisembed.config import validate_config
from seisembed.errors import InputError
from seisembed.report import INPUTS, build_report, compare
from seisembed.report.schemas import CSV_COLUMNS, NA, SCHEMAS, read_csv_input, read_json_input

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "report"
JSON_INPUTS = [name for name, (kind, _, _) in INPUTS.items() if kind == "json"]
CSV_INPUTS = [name for name, (kind, _, _) in INPUTS.items() if kind == "csv"]
PNG_INPUTS = [name for name, (kind, _, _) in INPUTS.items() if kind == "png"]
CONFIG = validate_config({"study": "ci-tiny"})
FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fixture_inputs() -> dict[str, Path]:
    return {name: FIXTURES / f"{name}.{kind}" for name, (kind, _, _) in INPUTS.items()}


def fixture_json(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def render(folder: Path, replace: dict[str, Path] | None = None) -> tuple[dict, str]:
    """Render the fixtures with some inputs replaced; return the headline and the page."""
    headline = build_report({**fixture_inputs(), **(replace or {})}, folder / "index.html", CONFIG)
    return headline, (folder / "index.html").read_text()


def with_json(folder: Path, name: str, record, allow_nan: bool = True) -> dict[str, Path]:
    path = folder / f"{name}.json"
    path.write_text(json.dumps(record, indent=2, allow_nan=allow_nan))
    return {name: path}


def with_text(folder: Path, name: str, text: str | bytes, kind: str) -> dict[str, Path]:
    path = folder / f"{name}.{kind}"
    path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text)
    return {name: path}


def visible_text(html: str) -> str:
    """The page's text without embedded images."""
    return unescape(re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html))


def verdicts(html: str) -> list[str]:
    return [unescape(p) for block in re.findall(r'<div class="verdict">(.*?)</div>', html, re.S) for p in re.findall(r"<p>(.*?)</p>", block, re.S)]  # fmt: skip


def without_provenance(html: str) -> str:
    """The page without its provenance tables (git commit, input paths and hashes: they change with any byte)."""
    return re.sub(r'<h2 id="provenance">.*?<h3>Inputs of this page</h3>.*?</table>', "", html, flags=re.S)


def set_key(record: dict, path: list, value) -> dict:
    record = copy.deepcopy(record)
    node = record
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return record


def drop_key(record: dict, path: list) -> dict:
    record = copy.deepcopy(record)
    node = record
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return record


# --------------------------------------------------------------------------- the contracts
def test_every_input_has_a_contract_and_the_fixtures_meet_it(caplog):
    assert set(SCHEMAS) == set(JSON_INPUTS)
    assert set(CSV_COLUMNS) == set(CSV_INPUTS)
    with caplog.at_level(logging.WARNING):
        for name in JSON_INPUTS:
            record, _ = read_json_input(name, FIXTURES / f"{name}.json", name)
            assert isinstance(record, dict)
        for name in CSV_INPUTS:
            rows, _ = read_csv_input(name, FIXTURES / f"{name}.csv", name)
            assert rows
    assert not caplog.records, [r.getMessage() for r in caplog.records]  # the fixtures are strict JSON


JSON_CASES = [
    # (input, damage, words the message must hold)
    ("association", lambda r: drop_key(r, ["embedding", "test", "auc"]), ["embedding.test.auc", "missing"]),
    (
        "association",
        lambda r: set_key(r, ["embedding", "test", "auc"], "0.6"),
        ["embedding.test.auc", "'0.6'", "not a number"],
    ),  # fmt: skip
    ("association", lambda r: set_key(r, ["embedding", "test", "auc"], 1.7), ["embedding.test.auc = 1.7", "[0, 1]"]),
    (
        "association",
        lambda r: set_key(r, ["spectral_lda", "test", "accuracy"], -0.1),
        ["spectral_lda.test.accuracy = -0.1"],
    ),  # fmt: skip
    (
        "association",
        lambda r: set_key(r, ["embedding", "test", "auc_ci95"], [0.9, 0.1]),
        ["embedding.test.auc_ci95", "not ordered"],
    ),  # fmt: skip
    (
        "association",
        lambda r: set_key(r, ["embedding", "test", "auc_ci95"], [0.5]),
        ["embedding.test.auc_ci95 = [0.5]"],
    ),
    (
        "association",
        lambda r: set_key(r, ["embedding", "test", "n_pairs"], -5),
        ["embedding.test.n_pairs = -5", ">= 0"],
    ),
    ("association", lambda r: set_key(r, ["embedding", "test", "n_pairs"], None), ["embedding.test.n_pairs is null"]),
    ("association", lambda r: set_key(r, ["embedding", "test", "n_matched"], 99), ["n_matched = 99", "n_pairs = 80"]),
    ("association", lambda r: drop_key(r, ["spectral_lda"]), ["spectral_lda is missing"]),
    ("association", lambda r: [1, 2], ["(top level) = [1, 2]", "not an object"]),
    ("association", lambda r: "", ["(top level) = ''", "not an object"]),
    ("discrimination", lambda r: set_key(r, ["symmetric"], {}), ["symmetric is empty"]),
    (
        "discrimination",
        lambda r: set_key(r, ["symmetric", "one"], r["symmetric"]["1"]),
        ["symmetric", "'one'", "template count"],
    ),  # fmt: skip
    ("discrimination", lambda r: drop_key(r, ["authors", "2"]), ["authors has no template count 2"]),
    (
        "discrimination",
        lambda r: set_key(r, ["symmetric", "1", "auc_p05"], 0.99),
        ["symmetric.1.auc_p05 = 0.99", "auc_p95"],
    ),  # fmt: skip
    (
        "discrimination",
        lambda r: set_key(r, ["symmetric", "1", "n_test_records"], 0),
        ["n_test_explosions = 5", "n_test_records = 0"],
    ),  # fmt: skip
    ("discrimination", lambda r: drop_key(r, ["symmetric", "1", "balanced"]), ["symmetric.1.balanced is missing"]),
    ("supervised", lambda r: set_key(r, ["svm36", "auc"], 1.7), ["svm36.auc = 1.7"]),
    ("supervised", lambda r: drop_key(r, ["svm36", "windows"]), ["svm36.windows is missing"]),
    (
        "supervised",
        lambda r: set_key(r, ["srspec_cnn", "training_seconds"], "fast"),
        ["srspec_cnn.training_seconds = 'fast'"],
    ),  # fmt: skip
    (
        "runtime",
        lambda r: set_key(r, ["splits", "test", "embedding_ms_per_window"], 0),
        ["splits.test.embedding_ms_per_window = 0", "> 0"],
    ),  # fmt: skip
    ("runtime", lambda r: set_key(r, ["splits"], {}), ["neither 'val' nor 'test'"]),
    ("runtime", lambda r: drop_key(r, ["device", "text"]), ["device.text is missing"]),
    ("model_card", lambda r: set_key(r, ["parameters"], "12k"), ["parameters = '12k'", "not an integer"]),
    ("model_card", lambda r: set_key(r, ["parameters"], 12.5), ["parameters = 12.5", "not an integer"]),
    ("model_card", lambda r: set_key(r, ["best_val_auc"], 3), ["best_val_auc = 3"]),
    ("model_card", lambda r: set_key(r, ["training_seconds"], -1), ["training_seconds = -1"]),
    ("dataset_card", lambda r: drop_key(r, ["counts", "splits", "val"]), ["counts.splits.val is missing"]),
    ("dataset_card", lambda r: set_key(r, ["window", "n_samples"], 0), ["window.n_samples = 0", ">= 1"]),
    ("catalog_summary", lambda r: drop_key(r, ["events"]), ["events is missing"]),
    ("catalog_summary", lambda r: set_key(r, ["explosions"], 99), ["explosions = 99", "events = 24"]),
    ("waveforms_summary", lambda r: set_key(r, ["ok"], "many"), ["ok = 'many'"]),
    ("waveforms_summary", lambda r: set_key(r, ["counts", "gap"], True), ["counts.gap = true", "not an integer"]),
    ("calibration", lambda r: set_key(r, ["pass"], "yes"), ["pass = 'yes'", "not a boolean"]),
    ("calibration", lambda r: drop_key(r, ["bounds"]), ["bounds is missing"]),
]


@pytest.mark.parametrize(("name", "damage", "words"), JSON_CASES, ids=[f"{c[0]}-{c[2][0]}" for c in JSON_CASES])
def test_damaged_json_input_is_refused_naming_file_key_and_value(tmp_path, name, damage, words):
    replace = with_json(tmp_path, name, damage(fixture_json(name)))
    with pytest.raises(InputError) as caught:
        render(tmp_path, replace)
    message = str(caught.value)
    assert f"{name}.json: " in message, message
    for word in words:
        assert word in message, (word, message)
    assert not (tmp_path / "index.html").exists()


DISTANCE = (FIXTURES / "association_by_distance.csv").read_text()
NOVELTY = (FIXTURES / "association_by_novelty.csv").read_text()


def drop_column(text: str, column: str) -> str:
    lines = [line.split(",") for line in text.splitlines()]
    i = lines[0].index(column)
    return "\n".join(",".join(cells[:i] + cells[i + 1 :]) for cells in lines) + "\n"


CSV_CASES = [
    ("association_by_distance", "a,b,c\n1,2,3\n", ["column(s) distance_km, pairs", "found a, b, c"]),
    ("association_by_distance", DISTANCE.replace(",", ";"), ["missing", "other than commas"]),
    ("association_by_distance", DISTANCE.splitlines()[0] + "\n", ["no rows"]),
    ("association_by_distance", "", ["cannot read"]),
    ("association_by_distance", drop_column(DISTANCE, "embedding_recall"), ["column(s) embedding_recall missing"]),
    (
        "association_by_distance",
        DISTANCE.replace("0-250,10,4,0.4,", "0-250,10,4,1.7,"),
        ["line 2 (distance_km 0-250), column embedding_accuracy = 1.7", "[0, 1]"],
    ),  # fmt: skip
    (
        "association_by_distance",
        DISTANCE.replace("0-250,10,", "0-250,ten,"),
        ["line 2", "column pairs = 'ten'", "not a number"],
    ),  # fmt: skip
    ("association_by_distance", DISTANCE.replace("0-250,10,", "0-250,-3,"), ["column pairs = -3", "not a count"]),
    ("association_by_distance", DISTANCE.replace("0-250,10,", "0-250,2.5,"), ["column pairs = 2.5", "not a count"]),
    ("association_by_distance", DISTANCE.replace("0-250,10,", "0-250,,"), ["line 2", "column pairs is empty"]),
    ("association_by_distance", DISTANCE.replace("0-250,10,4,", "0-250,10,11,"), ["column matched = 11", "pairs = 10"]),
    ("association_by_distance", DISTANCE.replace("0-250,", "250-0,"), ["distance_km = '250-0'", "low < high"]),
    ("association_by_distance", DISTANCE + DISTANCE.splitlines()[1] + "\n", ["distance_km = '0-250' repeats a bin"]),
    ("association_by_distance", DISTANCE.replace("0.4,0.25,0.25", "inf,0.25,0.25"), ["embedding_accuracy = inf"]),
    ("association_by_novelty", "x,y\n1,2\n", ["column(s) pairs, count"]),
    (
        "association_by_novelty",
        NOVELTY.replace("all,80,40,0.6,", "all,80,40,high,"),
        ["line 2 (pairs all), column embedding_accuracy = 'high'"],
    ),  # fmt: skip
    (
        "association_by_novelty",
        NOVELTY.replace("all,80,40,0.6,32.0,", "all,80,40,0.6,81,"),
        ["embedding_errors = 81", "count = 80"],
    ),  # fmt: skip
    ("association_by_novelty", NOVELTY.replace("\nall,", "\n,"), ["line 2", "column pairs is empty"]),
]


@pytest.mark.parametrize(("name", "text", "words"), CSV_CASES, ids=[f"{c[0]}-{c[2][0]}" for c in CSV_CASES])
def test_damaged_csv_input_is_refused_naming_file_row_and_column(tmp_path, name, text, words):
    """Before: wrong columns were a KeyError, a header-only table rendered an empty Table II with exit 0."""
    replace = with_text(tmp_path, name, text, "csv")
    with pytest.raises(InputError) as caught:
        render(tmp_path, replace)
    message = str(caught.value)
    assert f"{name}.csv: " in message, message
    for word in words:
        assert word in message, (word, message)


def test_truncated_json_is_refused_as_not_valid_json(tmp_path):
    text = (FIXTURES / "discrimination.json").read_text()
    with pytest.raises(InputError, match=r"discrimination\.json: not valid JSON \(.*line \d+.*; truncated\?\)"):
        render(tmp_path, with_text(tmp_path, "discrimination", text[: len(text) // 3], "json"))


def test_truncated_png_is_refused(tmp_path):
    raw = (FIXTURES / "tsne.png").read_bytes()
    with pytest.raises(InputError, match=r"tsne\.png: a truncated PNG file"):
        render(tmp_path, with_text(tmp_path, "tsne", raw[: len(raw) // 2], "png"))


def _report_argv(inputs: dict[str, Path], out: Path, log: Path) -> list[str]:
    argv = ["report", "--config-json", '{"study": "t"}', "--out", str(out), "--log", str(log)]
    for name, path in inputs.items():
        argv += [f"--{name.replace('_', '-')}", str(path)]
    return argv


def test_cli_exits_non_zero_with_one_line_and_no_traceback(tmp_path, capsys):
    """Before: AUC 1.7 rendered silently (exit 0); a missing key was a traceback."""
    bad = set_key(fixture_json("association"), ["embedding", "test", "auc"], 1.7)
    inputs = {**fixture_inputs(), **with_json(tmp_path, "association", bad)}
    code = main(_report_argv(inputs, tmp_path / "out" / "index.html", tmp_path / "report.log"))
    err = capsys.readouterr().err
    assert code == 1
    assert "association.json: embedding.test.auc = 1.7 is out of range" in err
    assert "Traceback" not in err  # (the --log file keeps the details at DEBUG, as for every stage)
    assert len([line for line in err.splitlines() if "ERROR" in line]) == 1
    assert not (tmp_path / "out" / "index.html").exists()
    missing = drop_key(fixture_json("discrimination"), ["symmetric", "1", "balanced"])
    inputs = {**fixture_inputs(), **with_json(tmp_path, "discrimination", missing)}
    code = main(_report_argv(inputs, tmp_path / "out" / "index.html", tmp_path / "report.log"))
    err = capsys.readouterr().err
    assert code == 1 and "discrimination.json: symmetric.1.balanced is missing" in err and "Traceback" not in err
    code = main(_report_argv(fixture_inputs(), tmp_path / "out" / "index.html", tmp_path / "report.log"))
    assert code == 0 and (tmp_path / "out" / "index.html").is_file()


# --------------------------------------------------------------------------- undefined values
def test_compare_never_compares_a_non_finite_or_missing_number():
    """Before: compare("AUC", nan, ...) said "AUC nan ... is equal to the paper's 0.868"."""
    for value in (float("nan"), float("inf"), None, NA("association.json: embedding.test.auc", "one class absent"), "0.8"):  # fmt: skip
        text = compare("Our AUC", value, [0.78, 0.82], 0.868, "the paper's")
        assert text.startswith("Our AUC is not available (") and "not compared with the paper's 0.868" in text, text
        assert not re.search(r"\b(above|below|equal to)\b", text), text
    assert "one class absent" in compare("AUC", NA("a.json: x", "one class absent"), None, 0.8, "x")
    # an interval that is not available is left out, the value is still compared
    text = compare("Our AUC", 0.80, [float("nan"), 0.82], 0.868, "the paper's")
    assert text == "Our AUC 0.800 is below the paper's 0.868 (the 95 % interval is not available)."
    text = compare("Our AUC", 0.80, [NA("a", "b"), NA("a", "b")], 0.868, "the paper's")
    assert "interval is not available" in text and "nan" not in text


def test_null_metrics_are_shown_as_na_with_their_reason_and_never_compared(tmp_path):
    assoc = set_key(fixture_json("association"), ["embedding", "test", "auc"], None)
    assoc = set_key(assoc, ["embedding", "test", "auc_ci95"], [None, None])
    disc = set_key(fixture_json("discrimination"), ["symmetric", "1", "auc_mean"], None)
    disc = set_key(disc, ["symmetric", "2", "balanced", "balanced_accuracy"], None)
    base = set_key(fixture_json("supervised"), ["srspec_cnn", "accuracy"], None)
    base = set_key(base, ["svm36", "auc"], None)
    model = set_key(fixture_json("model_card"), ["best_val_auc"], None)
    replace = {
        **with_json(tmp_path, "association", assoc, allow_nan=False),
        **with_json(tmp_path, "discrimination", disc, allow_nan=False),
        **with_json(tmp_path, "supervised", base, allow_nan=False),
        **with_json(tmp_path, "model_card", model, allow_nan=False),
    }
    headline, html = render(tmp_path, replace)
    assert headline["association.embedding.test.auc"] is None
    assert headline["supervised.svm36.auc"] is None
    assert headline["discrimination.symmetric.1.auc_mean"] is None
    sentences = verdicts(html)
    for sentence in sentences:
        assert not re.search(r"\b(nan|inf|None|n/a is)\b", sentence), sentence
    joined = " ".join(sentences)
    assert (
        "Our embedding's test AUC is not available (association.json: embedding.test.auc is undefined: "
        "the file gives no number (an AUC is undefined when the scored set lacks one class)), so it is not compared "
        "with the paper's 0.868." in joined
    )
    assert "With 1 template(s) per class our mean test AUC is not available" in joined
    assert "SVM-36 (Kortström et al. 2016)'s, which is not available" in joined
    assert "Our SRSpec-CNN test accuracy is not available" in joined
    assert "that balanced accuracy is not available" in joined
    # the cells say n/a with the reason; the note lists every one
    assert 'data-metric="association.embedding.test.auc"><span class="na" title="association.json: embedding.test.auc is undefined' in html  # fmt: skip
    assert 'data-metric="model_card.best_val_auc"><span class="na"' in html
    note = re.search(r'<details class="note" id="undefined">(.*?)</details>', html, re.S).group(1)
    for where in ("embedding.test.auc", "embedding.test.auc_ci95[0]", "symmetric.1.auc_mean", "svm36.auc", "best_val_auc"):  # fmt: skip
        assert where in note, where
    assert not re.search(r"\b(nan|NaN|inf|None)\b", visible_text(html))


def test_bare_nan_token_is_read_as_null_with_a_warning_and_refused_where_a_number_is_needed(tmp_path, caplog):
    """Old (pre-strict) JSON has bare NaN tokens where a metric was undefined: they mean null.

    Read as null with a warning naming the file and keys: shown as n/a where the metric can be
    undefined, refused (saying it was a bare NaN token) where the report needs a number.
    """
    text = (FIXTURES / "association.json").read_text().replace('"auc": 0.624375', '"auc": NaN')
    assert text.count("NaN") == 1
    with caplog.at_level(logging.WARNING):
        headline, html = render(tmp_path, with_text(tmp_path, "association", text, "json"))
    assert headline["association.embedding.test.auc"] is None
    assert any("association.json" in r.getMessage() and "embedding.test.auc" in r.getMessage() for r in caplog.records)
    assert "AUC nan" not in unescape(html) and "Our embedding's test AUC is not available" in unescape(html)
    text = (FIXTURES / "association.json").read_text().replace('"n_pairs": 80', '"n_pairs": Infinity', 1)
    with pytest.raises(InputError, match=r"association\.json: .*n_pairs is null \(a bare NaN/Infinity token"):
        render(tmp_path, with_text(tmp_path, "association", text, "json"))
    # a number too large for a float (1e999) is non-finite too
    text = re.sub(r'"embedding_ms_per_window": [0-9.]+', '"embedding_ms_per_window": 1e999', (FIXTURES / "runtime.json").read_text(), count=1)  # fmt: skip
    with pytest.raises(InputError, match=r"runtime\.json: splits\.test\.embedding_ms_per_window is null"):
        render(tmp_path, with_text(tmp_path, "runtime", text, "json"))


def test_the_page_writes_strict_json_and_nothing_else(tmp_path):
    """The report writes one file, index.html; the config shown in it is strict JSON (no NaN token)."""
    out = tmp_path / "out"
    build_report(fixture_inputs(), out / "index.html", {**CONFIG, "note": float("nan"), "big": [float("inf")]})
    assert sorted(p.name for p in out.iterdir()) == ["index.html"]
    shown = re.search(r"<pre>(.*?)</pre>", (out / "index.html").read_text(), re.S).group(1)
    record = json.loads(unescape(shown), parse_constant=lambda token: pytest.fail(f"{token} in the page's JSON"))
    assert record["note"] is None and record["big"] == [None]


def test_undamaged_inputs_give_the_same_page(tmp_path):
    """Deterministic: the same inputs give the same page; the headline equals the metrics files."""
    first_headline, first = render(tmp_path / "a")
    second_headline, second = render(tmp_path / "b")
    assert first == second and first_headline == second_headline
    assoc, base = fixture_json("association"), fixture_json("supervised")
    assert first_headline["association.embedding.test.auc"] == assoc["embedding"]["test"]["auc"]
    assert first_headline["supervised.svm36.auc"] == base["svm36"]["auc"]
    # the fixtures' undefined values: the svm36 precision (nothing predicted positive) and empty table cells
    note = re.search(r'<details class="note" id="undefined">(.*?)</details>', first, re.S).group(1)
    assert "supervised.json: svm36.precision is undefined: nothing was predicted positive" in note
    assert "association_by_novelty.csv: line 5 (pairs novel location), embedding_accuracy is undefined" in note


# --------------------------------------------------------------------------- property-based
def _paths(value, prefix=()) -> list[tuple]:
    """Every key path in a JSON value (objects and lists)."""
    out = []
    if isinstance(value, dict):
        for key, sub in value.items():
            out.append((*prefix, key))
            out.extend(_paths(sub, (*prefix, key)))
    elif isinstance(value, list):
        for i, sub in enumerate(value[:3]):
            out.append((*prefix, i))
            out.extend(_paths(sub, (*prefix, i)))
    return out


def _read_paths(value, schema: dict, prefix=()) -> list[tuple]:
    """The key paths the report reads (those its schema names)."""
    out = []
    if isinstance(value, dict):
        props, extra = schema.get("properties", {}), schema.get("additionalProperties")
        for key, sub in value.items():
            sub_schema = props.get(key, extra if isinstance(extra, dict) else None)
            if sub_schema is not None:
                out.append((*prefix, key))
                out.extend(_read_paths(sub, sub_schema, (*prefix, key)))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, sub in enumerate(value):
            out.append((*prefix, i))
            out.extend(_read_paths(sub, schema["items"], (*prefix, i)))
    return out


ALL_PATHS = {name: _paths(fixture_json(name)) for name in JSON_INPUTS}
READ_PATHS = {name: _read_paths(fixture_json(name), SCHEMAS[name]) for name in JSON_INPUTS}
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1.7, -0.2, 0.5, 0, -1, float("nan"), float("inf"), "0.5", "", [0.9, 0.1], [], {}]),
    st.text(max_size=6),
    st.lists(st.floats(allow_nan=True), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _outcome(replace: dict[str, Path], folder: Path) -> str | None:
    """Render; ``None`` for a valid page, the message for an ``InputError``; any other exception fails the test."""
    try:
        headline, html = render(folder, replace)
    except InputError as exc:
        message = str(exc)
        assert message and "\n" not in message and "Traceback" not in message
        return message
    text = visible_text(html)
    assert text.rstrip().endswith("</html>")
    for sentence in verdicts(html):
        assert not re.search(r"\b(nan|inf|None)\b", sentence, re.I), sentence
    for value in headline.values():
        assert value is None or (isinstance(value, (int, float)) and math.isfinite(value)), headline
    return None


@FAST
@given(data=st.data())
def test_randomly_damaged_json_ends_in_an_input_error_or_a_valid_page(data):
    name = data.draw(st.sampled_from(JSON_INPUTS), label="input")
    record = fixture_json(name)
    action = data.draw(st.sampled_from(["drop", "replace", "replace", "truncate", "wrong top level"]), label="action")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if action == "truncate":
            text = json.dumps(record, indent=2)
            cut = data.draw(st.integers(0, len(text) - 1), label="cut")
            replace = with_text(folder, name, text[:cut], "json")
        elif action == "wrong top level":
            replace = with_json(folder, name, data.draw(JUNK, label="document"))
        else:
            pool = READ_PATHS[name] if data.draw(st.booleans(), label="a key the report reads") else ALL_PATHS[name]
            path = list(data.draw(st.sampled_from(pool), label="path"))
            if action == "drop":
                damaged = copy.deepcopy(record)
                node = damaged
                for key in path[:-1]:
                    node = node[key]
                node.pop(path[-1]) if isinstance(node, dict) else node.pop(path[-1])
            else:
                damaged = set_key(record, path, data.draw(JUNK, label="value"))
            replace = with_json(folder, name, damaged)  # NaN/inf written as bare tokens (old JSON)
        message = _outcome(replace, folder)
        if message is not None:
            assert f"{name}.json" in message, message


@FAST
@given(data=st.data())
def test_randomly_damaged_csv_ends_in_an_input_error_or_a_valid_page(data):
    name = data.draw(st.sampled_from(CSV_INPUTS), label="input")
    text = (FIXTURES / f"{name}.csv").read_text()
    lines = [line.split(",") for line in text.splitlines()]
    action = data.draw(st.sampled_from(["cell", "cell", "drop column", "rename column", "truncate", "separator", "drop rows"]))  # fmt: skip
    if action == "cell":
        row = data.draw(st.integers(1, len(lines) - 1), label="row")
        column = data.draw(st.integers(0, len(lines[0]) - 1), label="column")
        value = data.draw(
            st.one_of(
                st.sampled_from(["", "nan", "inf", "-1", "1.7", "2.5", "abc", "True", "1e999", '"a,b"']),
                st.floats(allow_nan=True, allow_infinity=True).map(repr),
                st.integers(-5, 200).map(str),
                st.text(alphabet="0123456789.-e ;", max_size=5),
            ),
            label="value",
        )
        lines[row][column] = value
        damaged = "\n".join(",".join(cells) for cells in lines) + "\n"
    elif action in ("drop column", "rename column"):
        column = data.draw(st.integers(0, len(lines[0]) - 1), label="column")
        if action == "drop column":
            lines = [cells[:column] + cells[column + 1 :] for cells in lines]
        else:
            lines[0][column] = data.draw(st.text(alphabet="abcxyz_", min_size=1, max_size=8), label="new name")
        damaged = "\n".join(",".join(cells) for cells in lines) + "\n"
    elif action == "truncate":
        damaged = text[: data.draw(st.integers(0, len(text) - 1), label="cut")]
    elif action == "separator":
        damaged = text.replace(",", data.draw(st.sampled_from([";", "\t", "|", " "]), label="separator"))
    else:
        keep = data.draw(st.integers(0, len(lines) - 2), label="rows kept")
        damaged = "\n".join(",".join(cells) for cells in lines[: keep + 1]) + "\n"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        message = _outcome(with_text(folder, name, damaged, "csv"), folder)
        if message is not None:
            assert f"{name}.csv" in message, message


@FAST
@given(name=st.sampled_from(PNG_INPUTS), data=st.data())
def test_randomly_truncated_png_is_refused(name, data):
    raw = (FIXTURES / f"{name}.png").read_bytes()
    cut = data.draw(st.integers(0, len(raw) - 1), label="cut")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        message = _outcome(with_text(folder, name, raw[:cut], "png"), folder)
        assert message is not None and f"{name}.png" in message


@FAST
@given(data=st.data())
def test_damage_the_report_does_not_read_leaves_the_page_unchanged(data):
    """Extra keys, changed provenance and extra CSV columns: the same page (but for the input hashes)."""
    name = data.draw(st.sampled_from(JSON_INPUTS + CSV_INPUTS), label="input")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if name in CSV_INPUTS:
            lines = (FIXTURES / f"{name}.csv").read_text().splitlines()
            extra = data.draw(st.lists(st.sampled_from(["1", "", "x", "nan", "-7"]), min_size=len(lines) - 1, max_size=len(lines) - 1))  # fmt: skip
            text = "\n".join([lines[0] + ",extra_column"] + [f"{line},{v}" for line, v in zip(lines[1:], extra)]) + "\n"
            replace = with_text(folder, name, text, "csv")
        else:
            record = fixture_json(name)
            unread = [p for p in ALL_PATHS[name] if not any(p[: len(r)] == r for r in READ_PATHS[name])]
            if unread and data.draw(st.booleans(), label="change an unread key"):
                record = set_key(record, list(data.draw(st.sampled_from(unread), label="path")), data.draw(JUNK))
            else:
                parent = list(data.draw(st.sampled_from(FIXED_OBJECTS[name]), label="where"))
                key = data.draw(st.text(alphabet="qwz_", min_size=3, max_size=6), label="new key")
                node = _get(record, parent)
                if key in node:
                    return
                node[key] = data.draw(JUNK, label="value")
            replace = with_json(folder, name, record)
        (folder / "undamaged").mkdir()
        _headline, undamaged = render(folder / "undamaged")
        _headline, html = render(folder, replace)
        assert without_provenance(html) == without_provenance(undamaged)


def _get(record, path):
    node = record
    for key in path:
        node = node[key]
    return node


def _fixed_objects(value, schema: dict, prefix=()) -> list[tuple]:
    """Paths of the objects the report reads by fixed keys (a new key there is not read)."""
    out = []
    if isinstance(value, dict) and "properties" in schema and "additionalProperties" not in schema:
        out.append(prefix)
        for key, sub_schema in schema["properties"].items():
            if key in value:
                out.extend(_fixed_objects(value[key], sub_schema, (*prefix, key)))
    elif isinstance(value, dict) and isinstance(schema.get("additionalProperties"), dict):
        for key, sub in value.items():
            out.extend(_fixed_objects(sub, schema["additionalProperties"], (*prefix, key)))
    return out


FIXED_OBJECTS = {name: _fixed_objects(fixture_json(name), SCHEMAS[name]) for name in JSON_INPUTS}
