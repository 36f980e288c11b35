"""Tables and folders an analyst hands in: one contract each, refusals that name the fault.

The embeddings contract (:mod:`seisembed.embeddings`) is checked by every reader
(``index``, ``similar``, ``discriminate``, ``score-events``, the evaluation stage);
numeric options are checked when the command line is parsed; an index folder that
is incomplete or damaged is an :class:`InputError` naming the file. Each case
below was a traceback or a silently wrong answer before (issue 20).
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seisembed import cli
from seisembed.embeddings import (
    EMBEDDINGS_META_KEY,
    embeddings_frame,
    read_embeddings,
    validate_embeddings,
)
from seisembed.errors import InputError
from seisembed.testing.embeddings import clustered_embeddings


def _embeddings(n_events: int = 12, per: int = 4, dim: int = 8, seed: int = 0, model: str = "m1") -> pd.DataFrame:
    """A valid embeddings table: ``per`` records around each of ``n_events`` unit centres."""
    return clustered_embeddings(n_events, per, dim, seed, model=model)


def _write(frame: pd.DataFrame, path: Path) -> str:
    frame.to_parquet(path)
    return str(path)


# -- the embeddings contract -------------------------------------------------------------------
def test_a_valid_table_passes_and_round_trips_through_parquet(tmp_path):
    frame = _embeddings()
    back = read_embeddings(_write(frame, tmp_path / "e.parquet"), complete=True)
    assert back.attrs[EMBEDDINGS_META_KEY]["n"] == len(frame)
    pd.testing.assert_frame_equal(back, frame)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (
            lambda f: f.assign(emb_03=np.where(f.index == 5, np.nan, f["emb_03"])),
            r"NaN or infinite.*column emb_03.*row 5 \(ev1_XX.S1.\)",
        ),
        (lambda f: f.assign(emb_00=np.where(f.index == 2, np.inf, f["emb_00"])), r"row 2 \(ev0_XX.S2.\)"),
        (lambda f: f.assign(emb_00=f["emb_00"] * 3), r"not unit vectors \(norm .* tolerance 0.001\): row 0"),
        (
            lambda f: pd.concat([f, f.iloc[[4]]]).reset_index(drop=True),
            r"trace_name repeats 1 record.*row 4 \(ev1_XX.S0.\)",
        ),
        (
            lambda f: f.assign(trace_name=np.where(f.index == 3, None, f["trace_name"])),
            r"trace_name is empty in 1 row.*row 3",
        ),
        (lambda f: f.drop(columns="emb_04"), r"emb_04.*break the numbering"),
        (lambda f: f.assign(emb_01="x"), r"column emb_01 holds (str|object) values, not numbers"),
        (lambda f: f.iloc[:0], r"holds no records"),
        (lambda f: f.drop(columns=[c for c in f if c.startswith("emb_")]), r"no trace_name and emb_NN columns"),
    ],
)
def test_damaged_embeddings_are_refused_naming_the_column_and_rows(damage, message):
    frame = _embeddings()
    damaged = damage(frame.copy())
    damaged.attrs = dict(frame.attrs)
    with pytest.raises(InputError, match=message):
        validate_embeddings(damaged, "embeddings file e.parquet")


def test_required_columns_and_their_values_are_checked():
    frame = _embeddings()
    with pytest.raises(InputError, match=r"no column\(s\) \['source_id'\]"):
        validate_embeddings(frame.drop(columns="source_id"), "events", ("source_id",))
    empty = frame.assign(source_id=np.where(frame.index == 7, None, frame["source_id"]))
    with pytest.raises(InputError, match=r"source_id is empty in 1 row.*row 7"):
        validate_embeddings(empty, "events", ("source_id",))
    with pytest.raises(InputError, match=r"split holds \['validation'\]"):
        validate_embeddings(frame.assign(split="validation"), "calibration", ("split",))


def test_a_table_without_a_model_hash_or_with_two_models_is_refused():
    frame = _embeddings(model="")
    with pytest.raises(InputError, match="records no model hash"):
        validate_embeddings(frame, "t")
    validate_embeddings(frame, "t", model_hash=False)
    mixed = _embeddings().assign(model_hash=["a", "b"] * 24)
    with pytest.raises(InputError, match="mixes embeddings of 2 models"):
        validate_embeddings(mixed, "t")


def test_lost_rows_are_found_where_completeness_matters(tmp_path):
    frame = _embeddings()
    cut = frame.iloc[5:].reset_index(drop=True)
    cut.attrs = frame.attrs  # pandas keeps the attrs of a filtered table, as a user's edit would
    path = _write(cut, tmp_path / "e.parquet")
    read_embeddings(path)  # an analyst's subset is fine for the analyst commands ...
    with pytest.raises(InputError, match="holds 43 records but was written with 48"):
        read_embeddings(path, complete=True)  # ... not for the evaluation stage
    swapped = frame.iloc[::-1].reset_index(drop=True)
    swapped.attrs = frame.attrs
    with pytest.raises(InputError, match="reordered or renamed since it was written"):
        validate_embeddings(swapped, complete=True)


def test_evaluate_discrimination_refuses_missing_duplicated_and_nan_rows(tmp_path):
    from seisembed.evaluate.discrimination import evaluate_discrimination

    frame = _embeddings(n_events=30)
    cases = {
        "missing": frame.iloc[10:],
        "duplicated": pd.concat([frame, frame.iloc[:3]]),
        "nan": frame.assign(emb_02=np.where(frame.index == 11, np.nan, frame["emb_02"])),
    }
    messages = {"missing": "written with 120", "duplicated": "repeats 3", "nan": "row 11"}
    for name, table in cases.items():
        table = table.reset_index(drop=True)
        table.attrs = frame.attrs
        path = _write(table, tmp_path / f"{name}.parquet")
        with pytest.raises(InputError, match=messages[name]):
            evaluate_discrimination(path, tmp_path / "m", tmp_path / "f", {})
        assert not (tmp_path / "m" / "discrimination.json").exists()


# -- the analyst commands ----------------------------------------------------------------------
def _main(capsys, *argv: str) -> tuple[int, str]:
    """Exit status and terminal output of ``seisembed argv`` (output of earlier steps discarded)."""
    capsys.readouterr()
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as exc:  # argparse refuses an option
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_one_nan_template_is_refused_not_every_record_labelled_the_other_class(tmp_path, capsys):
    frame = _embeddings(n_events=30)
    bad = frame.assign(emb_00=np.where(frame.index == 0, np.nan, frame["emb_00"]))
    templates = _write(bad, tmp_path / "t.parquet")
    queries = _write(frame, tmp_path / "q.parquet")
    code, text = _main(capsys, "discriminate", queries, "--templates", templates, "-o", tmp_path / "l.csv")
    assert code == 1 and "templates file" in text and "row 0 (ev0_XX.S0.)" in text and "Traceback" not in text
    assert not (tmp_path / "l.csv").exists()


def test_a_nan_record_cannot_hide_an_intruder_from_score_events(tmp_path, capsys):
    frame = _embeddings(n_events=60, per=5)
    calibration = _write(frame, tmp_path / "c.parquet")
    events = frame.loc[frame["split"] == "test"].reset_index(drop=True)
    events.attrs = frame.attrs
    bad = events.assign(emb_01=np.where(events.index == 2, np.nan, events["emb_01"]))
    code, text = _main(
        capsys,
        "score-events",
        _write(bad, tmp_path / "e.parquet"),
        "--calibration",
        calibration,
        "-o",
        tmp_path / "s.csv",
    )
    assert code == 1 and "row 2" in text and "NaN" in text and not (tmp_path / "s.csv").exists()
    nan_val = frame.assign(emb_01=np.where(frame.index == 4, np.nan, frame["emb_01"]))
    code, text = _main(
        capsys, "score-events", _write(events, tmp_path / "ok.parquet"), "--calibration",
        _write(nan_val, tmp_path / "c2.parquet"), "-o", tmp_path / "s.csv",
    )  # fmt: skip
    assert code == 1 and "calibration file" in text and "row 4" in text


def test_score_events_without_source_id_is_named(tmp_path, capsys):
    frame = _embeddings(n_events=60, per=5)
    calibration = _write(frame, tmp_path / "c.parquet")
    events = _write(frame.drop(columns="source_id"), tmp_path / "e.parquet")
    code, text = _main(capsys, "score-events", events, "--calibration", calibration, "-o", tmp_path / "s.csv")
    assert code == 1 and "events file" in text and "source_id" in text and "Traceback" not in text
    assert "KeyError" not in text


def test_non_unit_vectors_are_refused_by_every_command(tmp_path, capsys):
    frame = _embeddings(n_events=30)
    scaled = frame.assign(**{c: frame[c] * 2 for c in frame if c.startswith("emb_")})
    bad = _write(scaled, tmp_path / "bad.parquet")
    good = _write(frame, tmp_path / "good.parquet")
    assert _main(capsys, "index", good, "-o", tmp_path / "idx")[0] == 0
    for argv in (
        ("index", bad, "-o", tmp_path / "idx2"),
        ("similar", tmp_path / "idx", bad, "-o", tmp_path / "s.csv"),
        ("discriminate", bad, "--templates", good, "-o", tmp_path / "l.csv"),
        ("discriminate", good, "--templates", bad, "-o", tmp_path / "l.csv"),
        ("score-events", bad, "--calibration", good, "-o", tmp_path / "s.csv"),
    ):
        code, text = _main(capsys, *argv)
        assert code == 1 and "not unit vectors" in text, (argv, text)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("index", "{good}", "-o", "{tmp}/i", "--approximate", "--m", "0"), "argument --m: must be at least 2, not 0"),
        (("index", "{good}", "-o", "{tmp}/i", "--ef-construction", "-1"), "--ef-construction: must be at least 1"),
        (("index", "{good}", "-o", "{good}"), "is a file, not a folder"),
        (("index", "{tmp}/none.parquet", "-o", "{tmp}/i"), "none.parquet does not exist"),
        (("index", "{tmp}", "-o", "{tmp}/i"), "is a folder; expected a file"),
        (("similar", "{tmp}", "{good}", "-k", "0", "-o", "{tmp}/s.csv"), "argument -k: must be at least 1"),
        (("similar", "{good}", "{good}", "-o", "{tmp}/s.csv"), "is a file; expected a folder"),
        (("similar", "{tmp}", "{good}", "-o", "{tmp}/s.txt"), "use a .csv or .parquet file name"),
        (("discriminate", "{good}", "--templates", "{good}", "--per-class", "0", "-o", "{tmp}/l.csv"), "--per-class: must be at least 1, not 0"),
        (("discriminate", "{good}", "--templates", "{good}", "--per-class", "-2", "-o", "{tmp}/l.csv"), "--per-class: must be at least 1, not -2"),
        (("discriminate", "{good}", "--templates", "{good}", "--per-class", "two", "-o", "{tmp}/l.csv"), "expected a whole number >= 1, not 'two'"),
        (("score-events", "{good}", "--calibration", "{good}", "--far", "1.5", "-o", "{tmp}/s.csv"), "--far: must lie strictly between 0 and 1"),
        (("score-events", "{good}", "--calibration", "{good}", "--far", "nan", "-o", "{tmp}/s.csv"), "--far: must lie strictly between 0 and 1"),
        (("score-events", "{good}", "--calibration", "{good}", "--seed", "-1", "-o", "{tmp}/s.csv"), "--seed: must be 0 or more"),
        (("embed", "--model", "{good}", "--sds", "{tmp}", "--inventory", "{good}", "--picks", "{good}", "-o", "{tmp}/e.parquet", "--batch", "0"), "--batch: must be at least 1, not 0"),
        (("embed", "--model", "{good}", "--sds", "{tmp}", "--inventory", "{good}", "--picks", "{good}", "-o", "{tmp}/e.csv"), "embeddings are written as parquet"),
        (("embed", "--model", "{tmp}/m.keras", "--sds", "{tmp}", "--inventory", "{good}", "--picks", "{good}", "-o", "{tmp}/e.parquet"), "m.keras does not exist"),
        (("embed", "--model", "{good}", "--sds", "{good}", "--inventory", "{good}", "--picks", "{good}", "-o", "{tmp}/e.parquet"), "is a file; expected a folder"),
    ],
)  # fmt: skip
def test_options_are_checked_when_the_command_line_is_parsed(tmp_path, capsys, argv, message):
    good = _write(_embeddings(), tmp_path / "good.parquet")
    argv = [a.format(good=good, tmp=tmp_path) for a in argv]
    code, text = _main(capsys, *argv)
    assert code == 2 and message in text and "Traceback" not in text, text
    assert not (tmp_path / "i").exists()  # refused before any work: no empty folder left


# -- index folders -----------------------------------------------------------------------------
def _index(tmp_path: Path, kind: str = "exact") -> Path:
    from seisembed.use.search import build_index

    build_index(_embeddings(), tmp_path / kind, kind)
    return tmp_path / kind


def _truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


@pytest.mark.parametrize(
    ("kind", "damage", "message"),
    [
        ("exact", lambda d: (d / "records.parquet").unlink(), "records.parquet is missing"),
        ("exact", lambda d: (d / "vectors.npy").unlink(), "vectors.npy is missing"),
        ("exact", lambda d: _truncate(d / "vectors.npy"), "vectors.npy changed since the index was written"),
        ("exact", lambda d: _truncate(d / "records.parquet"), "records.parquet changed since the index was written"),
        ("hnsw", lambda d: (d / "hnsw.faiss").unlink(), "hnsw.faiss is missing"),
        ("hnsw", lambda d: _truncate(d / "hnsw.faiss"), "hnsw.faiss changed since the index was written"),
        # indexes without checksums (written before they were recorded): the readers' own checks
        ("exact", lambda d: _old(d, _truncate, "vectors.npy"), "vectors.npy is not a readable NumPy array"),
        ("exact", lambda d: _old(d, _truncate, "records.parquet"), "records.parquet is not a readable parquet table"),
        ("hnsw", lambda d: _old(d, _truncate, "hnsw.faiss"), "hnsw.faiss is not a readable FAISS index"),
        ("exact", lambda d: _old(d, _nan_vectors, "vectors.npy"), "not finite unit vectors"),
        ("exact", lambda d: _edit(d, kind="ivf"), "unknown kind 'ivf'"),
        ("exact", lambda d: _edit(d, n=-1), "n is -1, not a positive whole number"),
        ("exact", lambda d: _edit(d, dim="8"), "dim is '8'"),
        ("exact", lambda d: _edit(d, n=47), r"vectors \(48, 8\) / records 48 disagree"),
        ("exact", lambda d: _edit(d, sha256={"../x": "0"}), "unknown file '../x'"),
        ("exact", lambda d: (d / "index.json").write_text("[1, 2]"), "has format 'list'"),
        ("exact", lambda d: (d / "index.json").write_bytes(b"\xff\xfe"), "is unreadable"),
    ],
)
def test_a_damaged_index_folder_is_an_input_error_naming_the_file(tmp_path, capsys, kind, damage, message):
    from seisembed.use.search import load_index

    folder = _index(tmp_path, kind)
    damage(folder)
    with pytest.raises(InputError, match=message):
        load_index(folder)
    queries = _write(_embeddings(), tmp_path / "q.parquet")
    code, text = _main(capsys, "similar", folder, queries, "-o", tmp_path / "s.csv")
    assert code == 1 and "unexpectedly" not in text and "Traceback" not in text


def _old(folder: Path, damage, name: str) -> None:
    """Damage ``name`` in an index that records no checksums (as written before checksums were recorded)."""
    info = json.loads((folder / "index.json").read_text())
    del info["sha256"]
    (folder / "index.json").write_text(json.dumps(info))
    damage(folder / name)


def _nan_vectors(path: Path) -> None:
    np.save(path, np.full((48, 8), np.nan, np.float32))


def _edit(folder: Path, **changes) -> None:
    info = json.loads((folder / "index.json").read_text())
    info.update(changes)
    (folder / "index.json").write_text(json.dumps(info))


def test_build_index_refuses_an_output_that_is_a_file_and_bad_hnsw_settings(tmp_path):
    from seisembed.use.search import build_index

    (tmp_path / "f").write_text("")
    with pytest.raises(InputError, match="is a file"):
        build_index(_embeddings(), tmp_path / "f")
    with pytest.raises(InputError, match=r"HNSW m must be a whole number in \[2, 1024\], not 0"):
        build_index(_embeddings(), tmp_path / "h", "hnsw", m=0)
    assert not (tmp_path / "h").exists()


# -- strict JSON ---------------------------------------------------------------------------------
def test_json_outputs_are_strict_with_non_finite_numbers_written_as_null_and_counted(tmp_path):
    from seisembed.atomic import write_json_atomic

    record = {"auc": float("nan"), "bounds": [np.float32(1.0), -math.inf], "nested": {"x": np.float64("inf")}}
    path = write_json_atomic(record, tmp_path / "m.json")
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    back = json.loads(text, parse_constant=lambda token: pytest.fail(f"non-strict token {token}"))
    assert back["auc"] is None and back["bounds"] == [1.0, None] and back["nested"] == {"x": None}
    assert back["non_finite_values"] == {"count": 3, "paths": ["auc", "bounds[1]", "nested.x"]}
    assert "non_finite_values" not in json.loads(write_json_atomic({"a": 1.5}, tmp_path / "ok.json").read_text())


# -- properties: damaged tables and folders end in a named error or the undamaged answer ------------
REFERENCE = _embeddings(n_events=9, per=4)


def _damage(frame: pd.DataFrame, op: str, row: int, value) -> pd.DataFrame:
    frame = frame.copy()
    emb = [c for c in frame if c.startswith("emb_")]
    if op == "value":
        frame.loc[row, emb[row % len(emb)]] = value
    elif op == "scale":
        frame.loc[row, emb] = frame.loc[row, emb] * value
    elif op == "drop_column":
        frame = frame.drop(columns=frame.columns[row % len(frame.columns)])
    elif op == "duplicate":
        frame = pd.concat([frame, frame.iloc[[row]]]).reset_index(drop=True)
    elif op == "drop_rows":
        frame = frame.drop(index=range(row, len(frame))).reset_index(drop=True)
    elif op == "shuffle_columns":
        frame = frame[list(np.random.default_rng(row).permutation(frame.columns))]
    elif op == "name":
        frame.loc[row, "trace_name"] = value if isinstance(value, str) else None
    elif op == "type":
        frame[emb[row % len(emb)]] = frame[emb[row % len(emb)]].astype(str)
    frame.attrs = dict(REFERENCE.attrs)
    return frame


damage_ops = st.tuples(
    st.sampled_from(["value", "scale", "drop_column", "duplicate", "drop_rows", "shuffle_columns", "name", "type"]),
    st.integers(0, len(REFERENCE) - 1),
    st.one_of(
        st.floats(allow_nan=True, allow_infinity=True, width=32),
        st.sampled_from(["", "ev0_XX.S1.", "x"]),
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damage=damage_ops)
def test_property_damaged_embeddings_end_in_a_named_error_or_the_same_answer(damage):
    from seisembed.use.search import build_index, load_index, similar
    from seisembed.use.templates import discriminate

    op, row, value = damage
    with tempfile.TemporaryDirectory() as tmp:
        build_index(REFERENCE, Path(tmp) / "idx")
        index = load_index(Path(tmp) / "idx")
        expected_similar = similar(index, REFERENCE, 3)
        expected_labels = discriminate(REFERENCE.iloc[:12], REFERENCE)[0]
        path = Path(tmp) / "damaged.parquet"
        try:
            _damage(REFERENCE, op, row, value).to_parquet(path)
        except (ValueError, TypeError):  # pandas/pyarrow cannot even write it: nothing to read
            return
        try:
            queries = read_embeddings(path, "queries")
            got_similar = similar(index, queries, 3)
            got_labels = discriminate(REFERENCE.iloc[:12], queries)[0]
        except InputError as exc:
            assert "queries" in str(exc) or "templates" in str(exc)
            return
        # accepted: every answer for a record of the reference is unchanged
        # the records left as they were (same name, same vector): their answers must not change
        emb = [c for c in REFERENCE if c.startswith("emb_")]
        kept = queries.merge(REFERENCE, on="trace_name", suffixes=("", "_ref"))
        same = np.ones(len(kept), bool)
        for c in emb:
            same &= (kept[c].to_numpy() == kept[f"{c}_ref"].to_numpy()) if c in kept and f"{c}_ref" in kept else False
        names = set(kept.loc[same, "trace_name"])
        want = expected_similar[expected_similar["query_trace_name"].isin(names)].reset_index(drop=True)
        got = got_similar[got_similar["query_trace_name"].isin(set(want["query_trace_name"]))].reset_index(drop=True)
        answer = ["query_trace_name", "rank", "distance", "match_trace_name"]  # the neighbours found
        pd.testing.assert_frame_equal(got[answer], want[answer], check_dtype=False, atol=1e-6)
        want_l = expected_labels.set_index("trace_name").sort_index()
        got_l = got_labels.set_index("trace_name").sort_index().loc[want_l.index.intersection(names)]
        assert (got_l["label"] == want_l.loc[got_l.index, "label"]).all()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(["exact", "hnsw"]),
    target=st.sampled_from(["index.json", "records.parquet", "payload"]),
    how=st.sampled_from(["truncate", "garbage", "delete", "flip"]),
    where=st.floats(0.0, 1.0),
)
def test_property_damaged_index_folders_end_in_a_named_error_or_the_same_answer(kind, target, how, where):
    from seisembed.use.search import build_index, load_index, similar

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "idx"
        build_index(REFERENCE, folder, kind)
        expected = similar(load_index(folder), REFERENCE, 3)
        name = target if target != "payload" else ("vectors.npy" if kind == "exact" else "hnsw.faiss")
        path = folder / name
        data = path.read_bytes()
        cut = int(where * len(data))
        if how == "truncate":
            path.write_bytes(data[:cut])
        elif how == "garbage":
            path.write_bytes(data[:cut] + b"\x00garbage\xff" + data[cut + 10 :])
        elif how == "delete":
            path.unlink()
        else:  # one byte changed
            path.write_bytes(data[:cut] + bytes([data[cut] ^ 0xFF]) + data[cut + 1 :] if cut < len(data) else data)
        try:
            got = similar(load_index(folder), REFERENCE, 3)
        except InputError as exc:
            assert str(folder) in str(exc)
            return
        # a change that leaves the index readable (trailing whitespace of index.json) never changes the answer
        pd.testing.assert_frame_equal(got, expected, atol=1e-5)


def test_a_file_system_refusal_is_one_line_naming_the_path(tmp_path, capsys):
    good = _write(_embeddings(), tmp_path / "good.parquet")
    code, text = _main(capsys, "index", good, "-o", "/proc/seisembed-no-such-folder")  # /proc takes no folders
    assert code == 1 and "could not read or write a file" in text and "/proc/seisembed-no-such-folder" in text
    assert "Traceback" not in text and "unexpectedly" not in text


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: f.drop(columns="svm36"), r"no column\(s\) \['svm36'\]"),
        (lambda f: f.assign(svm36=np.where(f.index == 3, np.nan, 0.5)), "svm36 has 1 missing or non-finite score"),
        (lambda f: f[f["split"] != "val"], "split 'val' holds records of no class"),
        (lambda f: f[~((f["split"] == "test") & (f["source_type"] == "explosion"))], r"split 'test' holds records of \['earthquake'\]"),
    ],
)  # fmt: skip
def test_damaged_supervised_scores_are_named_before_the_trials(tmp_path, damage, message):
    from seisembed.evaluate.discrimination import evaluate_discrimination
    from seisembed.evaluate.supervised import METHODS

    rng = np.random.default_rng(0)
    n = 60
    scores = pd.DataFrame(
        {
            "split": np.repeat(["train", "val", "test"], n // 3),
            "source_type": np.tile(["earthquake", "explosion"], n // 2),
            **{m: rng.random(n) for m in METHODS},
        }
    )
    path = _write(damage(scores).reset_index(drop=True), tmp_path / "b.parquet")
    emb = _write(_embeddings(n_events=30), tmp_path / "e.parquet")
    with pytest.raises(InputError, match=message):
        evaluate_discrimination(emb, tmp_path / "m", tmp_path / "f", {}, supervised=path)
    with pytest.raises(InputError, match="does not exist"):
        evaluate_discrimination(emb, tmp_path / "m", tmp_path / "f", {}, supervised=tmp_path / "none.parquet")


# -- the independent re-test's cases (issue 20) -------------------------------------------------------
def test_hnsw_settings_faiss_cannot_take_are_refused_not_a_crash(tmp_path, capsys):
    from seisembed.use.search import build_index

    good = _write(_embeddings(), tmp_path / "good.parquet")
    for argv in (("--m", "1"), ("--m", "1e20"), ("--m", "2000"), ("--ef-construction", str(2**40)), ("--threads", "0")):
        code, text = _main(capsys, "index", good, "-o", tmp_path / "i", "--approximate", *argv)
        assert code == 2 and "Traceback" not in text, (argv, text)  # before: a segfault (--m 1), FAISS tracebacks
    assert not (tmp_path / "i").exists()
    for bad in ({"m": 1}, {"m": 1.5}, {"m": True}, {"ef_search": 2**40}, {"threads": 0}):
        with pytest.raises(InputError, match="must be a whole number in"):
            build_index(_embeddings(), tmp_path / "h", "hnsw", **bad)
    build_index(_embeddings(), tmp_path / "h", "hnsw")
    code, text = _main(capsys, "similar", tmp_path / "h", good, "--ef-search", str(2**40), "-o", tmp_path / "s.csv")
    assert code == 2 and "must be at most 2147483647" in text


def test_identifiers_of_other_types_are_compared_as_text(tmp_path, capsys):
    from seisembed.use.search import build_index, load_index, similar

    frame = _embeddings()
    as_int = frame.assign(source_id=frame["source_id"].str[2:].astype(int), trace_name=np.arange(len(frame)))
    build_index(as_int, tmp_path / "i")
    index = load_index(tmp_path / "i")
    got = similar(index, as_int, 3, exclude_same_event=True)  # before: 16 % same-event matches
    assert (got["match_source_id"].astype(str) != got["query_source_id"]).all()
    got = similar(index, as_int, 3)  # before: every query's nearest record was itself
    assert (got["match_trace_name"].astype(str) != got["query_trace_name"]).all()


def test_event_options_need_events_in_the_index_and_the_queries(tmp_path):
    from seisembed.use.search import build_index, load_index, similar

    frame = _embeddings()
    build_index(frame.drop(columns="source_id"), tmp_path / "i")
    for options in ({"by": "event"}, {"exclude_same_event": True}):
        with pytest.raises(InputError, match="the index holds no source_id"):
            similar(load_index(tmp_path / "i"), frame, 3, **options)
    build_index(frame, tmp_path / "j")
    with pytest.raises(InputError, match="queries has no source_id"):
        similar(load_index(tmp_path / "j"), frame.drop(columns="source_id"), 3, exclude_same_event=True)


def test_blank_event_ids_of_any_text_dtype_are_refused():
    frame = _embeddings()
    for dtype in (object, "string", "category"):
        blank = frame.assign(source_id=np.where(frame.index == 6, " ", frame["source_id"])).astype({"source_id": dtype})
        with pytest.raises(InputError, match=r"source_id is empty in 1 row.*row 6"):
            validate_embeddings(blank, "events", ("source_id",))


def test_tables_of_a_hundred_dimensions_and_more_keep_their_order(tmp_path):
    frame = _embeddings(dim=128)
    back = read_embeddings(_write(frame, tmp_path / "e.parquet"))  # before: "emb_[] break the numbering"
    from seisembed.embeddings import embedding_columns, embedding_matrix

    assert embedding_columns(back)[98:101] == ["emb_98", "emb_99", "emb_100"]
    np.testing.assert_array_equal(embedding_matrix(back), embedding_matrix(frame))


def test_metadata_of_the_wrong_type_and_tables_without_row_records_are_named(tmp_path):
    frame = _embeddings()
    frame.attrs = {EMBEDDINGS_META_KEY: {**frame.attrs[EMBEDDINGS_META_KEY], "dim": "abc"}}
    with pytest.raises(InputError, match="'seisembed.dim' is 'abc', not a whole number"):
        validate_embeddings(frame, "t")
    legacy = _embeddings()
    legacy.attrs = {EMBEDDINGS_META_KEY: {"model_hash": "m1", "model": "", "dim": 8}}  # before the row records
    validate_embeddings(legacy, "t")
    with pytest.raises(InputError, match="does not record the rows it was written with"):
        validate_embeddings(legacy, "t", complete=True)  # before: 3 rows lost changed the metrics silently
    with pytest.raises(InputError, match="holds complex(64|128) values"):
        validate_embeddings(_embeddings().assign(emb_00=lambda f: f["emb_00"] + 0j), "t")


def test_score_events_refuses_embeddings_of_another_dimension_and_scores_mixed_id_types(tmp_path):
    from seisembed.use.scoring import calibrate, score_events

    frame = _embeddings(n_events=60, per=5)
    calibration = calibrate(frame, 0.1)
    with pytest.raises(InputError, match="16-d embeddings, the calibration 8-d"):
        score_events(_embeddings(n_events=60, per=5, dim=16), calibration)
    mixed = frame.copy()
    mixed["source_id"] = mixed["source_id"].astype(object)
    mixed.loc[0:4, "source_id"] = 123  # one event's id given as a number
    records, events, _ = score_events(mixed, calibration)
    assert "123" in set(events["source_id"]) and len(events) == 60
    with pytest.raises(InputError, match="false-alarm rate must be a number"):
        calibrate(frame, "0.1")
    with pytest.raises(InputError, match="the calibration record lacks"):
        score_events(frame, {"model_hash": "m1"})


def test_template_labels_are_checked_before_the_draw_and_errors_name_the_file(tmp_path, capsys):
    frame = _embeddings(n_events=30)
    labels = frame["source_type"].astype("category")
    labels.iloc[0] = np.nan  # a categorical label left empty
    templates = _write(frame.assign(source_type=labels), tmp_path / "t.parquet")
    queries = _write(frame, tmp_path / "q.parquet")
    for extra in ((), ("--per-class", "3")):  # before: a TypeError / the template dropped silently
        code, text = _main(capsys, "discriminate", queries, "--templates", templates, *extra, "-o", tmp_path / "l.csv")
        assert code == 1 and f"templates file {templates}: 1 template(s) have no label" in text, text
        assert "ev0_XX.S0." in text
    code, text = _main(capsys, "discriminate", queries, "--templates", queries, "--label-column", "nope", "-o", tmp_path / "l.csv")  # fmt: skip
    assert code == 1 and f"templates file {queries} has no column 'nope'" in text
    code, text = _main(capsys, "discriminate", queries, "--templates", queries, "--template-split", "", "-o", tmp_path / "l.csv")  # fmt: skip
    assert code == 1 and "no record of split ''" in text


@pytest.mark.parametrize(
    "argv",
    [
        ("index", "{d}/records.parquet", "-o", "{d}"),
        ("similar", "{d}/idx", "{d}/q.parquet", "-o", "{d}/q.parquet"),
        ("discriminate", "{d}/q.parquet", "--templates", "{d}/t.parquet", "-o", "{d}/q.parquet"),
        ("discriminate", "{d}/q.parquet", "--templates", "{d}/t.parquet", "-o", "{d}/t.parquet"),
        ("discriminate", "{d}/x_events.parquet", "--templates", "{d}/t.parquet", "-o", "{d}/x.parquet"),
        ("score-events", "{d}/q.parquet", "--calibration", "{d}/t.parquet", "-o", "{d}/./t.parquet"),
    ],
)
def test_an_output_never_overwrites_an_input(tmp_path, capsys, argv):
    frame = _embeddings(n_events=30)
    for name in ("records.parquet", "q.parquet", "t.parquet", "x_events.parquet"):
        _write(frame, tmp_path / name)
    from seisembed.use.search import build_index

    build_index(frame, tmp_path / "idx")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*.parquet")}
    code, text = _main(capsys, *(a.format(d=tmp_path) for a in argv))
    assert code == 1 and "is also an input of this command" in text, text
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.parquet")} == before  # before: the input was replaced


def test_the_log_never_overwrites_an_input_and_a_bad_log_path_is_named(tmp_path, capsys):
    good = _write(_embeddings(), tmp_path / "good.parquet")
    before = Path(good).read_bytes()
    code, text = _main(capsys, "index", good, "-o", tmp_path / "i", "--log", good)
    assert code == 2 and "the log would overwrite it" in text and Path(good).read_bytes() == before
    code, text = _main(capsys, "index", good, "-o", tmp_path / "i", "--log", tmp_path)
    assert code == 2 and "argument --log" in text and "is a folder" in text and "Traceback" not in text
    code, text = _main(capsys, "index", good, "-o", tmp_path / "i", "--log", "/proc/seisembed/x.log")
    assert code == 2 and "cannot write the log file" in text and "Traceback" not in text


def test_a_damaged_hnsw_record_in_index_json_is_named(tmp_path):
    from seisembed.use.search import load_index

    folder = _index(tmp_path, "hnsw")
    for change, message in (
        ({"params": None}, "params.ef_search is None"),
        ({"params": {"ef_search": 10**20}}, "params.ef_search is 100000000000000000000"),
        ({"model_hash": None}, "model_hash is None"),
    ):
        info = json.loads((folder / "index.json").read_text())
        _edit(folder, **change)
        with pytest.raises(InputError, match=message):
            load_index(folder)
        (folder / "index.json").write_text(json.dumps(info))


def test_a_folder_given_for_a_file_is_called_a_folder(tmp_path):
    from seisembed.catalog.quakeml import read_catalog_file
    from seisembed.train.model import load_model
    from seisembed.use.picks import read_picks

    for reader, name in (
        (load_model, "model file"),
        (read_picks, "picks file"),
        (read_catalog_file, "QuakeML file"),
    ):
        with pytest.raises(InputError, match=f"{name} {tmp_path} is a folder"):
            reader(tmp_path)  # before: "does not exist"


def test_quakeml_obspy_cannot_sniff_says_what_is_wrong_or_is_read(tmp_path):
    from seisembed.catalog.quakeml import read_catalog_file

    body = (
        '<?xml version="1.0"?><q:quakeml xmlns:q="http://quakeml.org/xmlns/quakeml/1.2"><eventParameters '
        'publicID="x"><event publicID="e1"/></eventParameters></q:quakeml>'
    )
    (tmp_path / "nons.xml").write_text(body)  # no BED namespace: ObsPy's sniffing says "Unknown format"
    assert len(read_catalog_file(tmp_path / "nons.xml")) == 1
    (tmp_path / "cut.xml").write_text(body[:90])
    with pytest.raises(InputError, match=r"cut.xml cannot be read: not valid QUAKEML \(.*parse"):
        read_catalog_file(tmp_path / "cut.xml")  # before: "TypeError: Unknown format for file"


# -- the second re-test's cases ------------------------------------------------------------------
def test_library_readers_name_a_missing_path_and_a_fifo(tmp_path):
    import os

    from seisembed.train.model import load_model
    from seisembed.use.picks import read_picks
    from seisembed.use.search import load_index

    os.mkfifo(tmp_path / "fifo.parquet")
    for reader in (read_embeddings, read_picks, load_model):
        with pytest.raises(InputError, match="expected a path, not None|does not exist"):
            reader(None)  # before: TypeError from pathlib
        with pytest.raises(InputError, match="is not a regular file"):
            reader(tmp_path / "fifo.parquet")  # before: "does not exist"
    with pytest.raises(InputError, match="expected a path, not None"):
        load_index(None)


def test_outputs_inside_the_store_are_refused(tmp_path, capsys):
    store = tmp_path / "waveforms.zarr"
    store.mkdir()
    (store / "zarr.json").write_text("{}")
    code, text = _main(
        capsys, "evaluate", "association", "--store", store, "--embeddings", tmp_path / "e.parquet",
        "--out-dir", store, "--figures-dir", tmp_path / "f",
    )  # fmt: skip
    assert code == 1 and "lies in the dataset store" in text  # before: six outputs written into the store
    assert sorted(p.name for p in store.iterdir()) == ["zarr.json"]
    code, text = _main(capsys, "train", "--store", store, "--out-dir", store / "model")
    assert code == 1 and "lies in the dataset store" in text and not (store / "model").exists()


def test_the_writer_keeps_the_contract_too():
    frame = _embeddings()
    emb = frame[[c for c in frame if c.startswith("emb_")]].to_numpy()
    meta = frame.drop(columns=[c for c in frame if c.startswith("emb_")])
    with pytest.raises(InputError, match="NaN or infinite"):
        embeddings_frame(meta, np.where(np.arange(len(emb))[:, None] == 3, np.nan, emb), "m1")
    with pytest.raises(InputError, match="not unit vectors"):
        embeddings_frame(meta, 2 * emb, "m1")
    assert embeddings_frame(meta.iloc[:0], emb[:0], "m1").empty  # nothing to embed is not an error


def test_an_unknown_calibration_split_lists_the_splits_and_a_log_under_a_file_is_named(tmp_path, capsys):
    from seisembed.use.scoring import calibrate

    with pytest.raises(InputError, match=r"no record of split 'nope'.*\['test', 'train', 'val'\]"):
        calibrate(_embeddings(n_events=60, per=5), 0.1, split="nope")
    good = _write(_embeddings(), tmp_path / "good.parquet")
    code, text = _main(capsys, "index", good, "-o", tmp_path / "i", "--log", f"{good}/x.log")
    assert code == 2 and "good.parquet is a file, not a folder" in text


# -- the review's cases ----------------------------------------------------------------------------
def test_picks_source_types_are_read_whatever_their_case_and_other_wording_is_not_known(tmp_path, caplog):
    from seisembed.use.picks import read_picks

    path = tmp_path / "picks.csv"
    pd.DataFrame(
        {
            "source_id": ["a", "b", "c"],
            "station_network_code": ["XX"] * 3,
            "station_code": ["S1"] * 3,
            "trace_p_arrival_time": ["2014-01-01T00:00:00Z"] * 3,
            "source_type": ["Earthquake", " EXPLOSION ", "quarry blast"],
        }
    ).to_csv(path, index=False)
    picks = read_picks(path)  # before: the whole file refused for "Earthquake"
    assert list(picks["source_type"]) == ["earthquake", "explosion", ""]
    assert "1 pick(s) have a source_type other than" in caplog.text and "quarry blast" in caplog.text


def test_a_record_passed_on_keeps_the_earlier_non_finite_count():
    from seisembed.atomic import dumps_strict

    first = json.loads(dumps_strict({"x": float("nan")}))
    again = json.loads(dumps_strict({**first, "y": float("inf")}))
    assert again["non_finite_values"] == {"count": 2, "paths": ["x", "y"]}


def test_the_store_hash_ignores_hidden_files_but_not_zarr_v2_metadata(tmp_path):
    from seisembed.dataset.store import store_content_hash

    (tmp_path / "zarr.json").write_text("{}")
    before = store_content_hash(tmp_path)
    (tmp_path / ".DS_Store").write_text("x")  # a file browser's; a resume must not start over for it
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / ".0.swp").write_text("y")
    assert store_content_hash(tmp_path) == before
    (tmp_path / ".zattrs").write_text("{}")
    assert store_content_hash(tmp_path) != before
