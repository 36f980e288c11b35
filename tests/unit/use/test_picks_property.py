"""Property tests of the picks reader (issue 20, item 6).

Randomly damaged picks tables (columns dropped or repeated, values that are not times,
empty cells, repeated rows, other separators, truncated text, empty files, random bytes,
CSV, gzipped CSV or parquet) end in a named :class:`InputError` or a valid table, never
another exception; and adding valid rows never changes the answer for the others (the
times used to be parsed with a format inferred from the first row).
"""

from __future__ import annotations

import gzip
import io
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seisembed.errors import InputError
from seisembed.use.picks import PICK_COLUMNS, normalise_picks, read_picks

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
OPTIONAL = ("station_location_code", "source_type")

codes = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=5)
moments = st.datetimes(
    min_value=pd.Timestamp("1990-01-01").to_pydatetime(), max_value=pd.Timestamp("2030-12-31").to_pydatetime()
)


@st.composite
def iso_times(draw) -> tuple[str, pd.Timestamp]:
    """An ISO 8601 text in one of many valid spellings, and the UTC time it means."""
    moment = pd.Timestamp(draw(moments)).tz_localize("UTC")
    digits = draw(st.sampled_from([0, 1, 2, 3, 6, 9]))
    moment = moment.floor(f"{10 ** (9 - digits)}ns") if digits else moment.floor("s")
    offset_min = draw(st.sampled_from([None, 0, 60, -300, 330]))
    local = moment + pd.Timedelta(minutes=offset_min or 0)
    text = local.strftime("%Y-%m-%d") + draw(st.sampled_from(["T", " "])) + local.strftime("%H:%M:%S")
    if digits:
        text += "." + f"{local.nanosecond + 1000 * local.microsecond:09d}"[:digits]
    if offset_min is None:
        text += draw(st.sampled_from(["", "Z"]))
    else:
        sign = "+" if offset_min >= 0 else "-"
        text += f"{sign}{abs(offset_min) // 60:02d}:{abs(offset_min) % 60:02d}"
    return text, moment


@st.composite
def picks_rows(draw, min_size=1, max_size=8, exclude: frozenset = frozenset()) -> list[dict]:
    """Valid picks rows with distinct (event, network, station, location)."""
    keys = draw(
        st.lists(
            st.tuples(codes, codes, codes, st.sampled_from(["", "00", "10"])),
            min_size=min_size,
            max_size=max_size,
            unique=True,
        ).filter(lambda ks: not set(ks) & exclude)
    )
    rows = []
    for source, network, station, location in keys:
        text, moment = draw(iso_times())
        rows.append(
            {
                "source_id": source,
                "station_network_code": network,
                "station_code": station,
                "station_location_code": location,
                "source_type": draw(st.sampled_from(["", "earthquake", "explosion"])),
                "trace_p_arrival_time": text,
                "_expected": moment,
            }
        )
    return rows


def _frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{k: v for k, v in row.items() if k != "_expected"} for row in rows])


def _check_valid(picks: pd.DataFrame) -> None:
    """What a returned picks table promises."""
    for column in (*PICK_COLUMNS, *OPTIONAL, "trace_name"):
        assert column in picks.columns, column
    assert len(picks) and picks["trace_name"].is_unique
    assert str(picks["trace_p_arrival_time"].dtype) == "datetime64[ns, UTC]"
    assert picks["trace_p_arrival_time"].notna().all()
    assert (picks["source_id"] != "").all() and (picks["station_code"] != "").all()
    assert picks["source_type"].isin(["", "earthquake", "explosion"]).all()


def _read(path: Path):
    """``read_picks`` or the InputError it raised; any other exception fails the test."""
    try:
        picks = read_picks(path)
    except InputError as exc:
        assert str(path.name) in str(exc), exc  # the message names the file
        return exc
    _check_valid(picks)
    return picks


# -- damage ---------------------------------------------------------------------------------
DAMAGES = (
    "none",
    "drop_column",
    "repeat_column",
    "bad_time",
    "empty_cell",
    "nan_time",
    "repeat_row",
    "separator",
    "truncate",
    "extra_field",
    "header_only",
    "empty_file",
    "random_bytes",
    "number_time",
)
#: damages that always make a picks CSV unusable
REFUSED = ("repeat_row", "separator", "empty_file", "header_only", "number_time", "nan_time")


def _damaged_csv_text(frame: pd.DataFrame, damage: str, data: st.DataObject) -> bytes:
    frame = frame.copy()
    if damage == "drop_column":
        frame = frame.drop(columns=[data.draw(st.sampled_from(list(frame.columns)))])
    elif damage == "repeat_column":
        column = data.draw(st.sampled_from(list(frame.columns)))
        text = frame.to_csv(index=False).splitlines()
        header = text[0] + "," + column
        body = [line + ",x" for line in text[1:]]
        return ("\n".join([header, *body]) + "\n").encode()
    elif damage in ("bad_time", "empty_cell", "nan_time", "number_time"):
        row = data.draw(st.integers(0, len(frame) - 1))
        if damage == "bad_time":
            value = data.draw(st.text(max_size=20))
        elif damage == "number_time":
            value = str(data.draw(st.integers(0, 2**40)))
        else:
            value = "" if damage == "empty_cell" else "NaN"
        column = "trace_p_arrival_time" if damage != "empty_cell" else data.draw(st.sampled_from(list(frame.columns)))
        frame.loc[row, column] = value
    elif damage == "repeat_row":
        frame = pd.concat([frame, frame.iloc[[data.draw(st.integers(0, len(frame) - 1))]]], ignore_index=True)
    elif damage == "separator":
        return frame.to_csv(index=False, sep=data.draw(st.sampled_from([";", "\t", "|"]))).encode()
    elif damage == "truncate":
        text = frame.to_csv(index=False).encode()
        return text[: data.draw(st.integers(0, len(text)))]
    elif damage == "extra_field":
        lines = frame.to_csv(index=False).splitlines()
        row = data.draw(st.integers(1, len(lines) - 1))
        lines[row] += ",surplus"
        return ("\n".join(lines) + "\n").encode()
    elif damage == "header_only":
        return frame.iloc[:0].to_csv(index=False).encode()
    elif damage == "empty_file":
        return b""
    elif damage == "random_bytes":
        return data.draw(st.binary(max_size=300))
    return frame.to_csv(index=False).encode()


@SETTINGS
@given(rows=picks_rows(), damage=st.sampled_from(DAMAGES), form=st.sampled_from(["csv", "csv.gz"]), data=st.data())
def test_a_damaged_picks_csv_ends_in_a_named_error_or_a_valid_table(rows, damage, form, data):
    content = _damaged_csv_text(_frame(rows), damage, data)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"picks.{form}"
        path.write_bytes(gzip.compress(content) if form == "csv.gz" and damage != "random_bytes" else content)
        result = _read(path)
    if damage == "none":
        assert isinstance(result, pd.DataFrame), result
        assert list(result["trace_p_arrival_time"]) == [row["_expected"] for row in rows]
    if damage in REFUSED:
        assert isinstance(result, InputError), (damage, result)


@SETTINGS
@given(rows=picks_rows(), damage=st.sampled_from(DAMAGES), data=st.data())
def test_a_damaged_picks_parquet_ends_in_a_named_error_or_a_valid_table(rows, damage, data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "picks.parquet"
        if damage in ("random_bytes", "truncate", "empty_file"):
            frame = _frame(rows)
            frame.to_parquet(path)
            content = path.read_bytes()
            cut = {"random_bytes": data.draw(st.binary(max_size=300)), "empty_file": b""}
            path.write_bytes(cut.get(damage, content[: data.draw(st.integers(0, len(content) - 1))]))
        else:
            try:
                frame = pd.read_csv(io.BytesIO(_damaged_csv_text(_frame(rows), damage, data)), dtype=str)
            except (ValueError, pd.errors.ParserError):  # not a table at all: the parquet holds the valid one
                frame = _frame(rows)
            frame.to_parquet(path)
        _read(path)


@SETTINGS
@given(
    rows=picks_rows(),
    column=st.sampled_from([*PICK_COLUMNS, *OPTIONAL]),
    values=st.lists(
        st.one_of(
            st.none(),
            st.floats(allow_nan=True),
            st.integers(-(2**62), 2**62),
            st.text(max_size=12),
            st.booleans(),
            st.datetimes(),
            st.just(pd.NaT),
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_normalise_picks_on_odd_values_ends_in_a_named_error_or_a_valid_table(rows, column, values):
    frame = _frame(rows)
    cells = [values[i % len(values)] for i in range(len(frame))]
    frame[column] = pd.Series(cells, dtype=object)
    try:
        picks = normalise_picks(frame, name="the table")
    except InputError as exc:
        assert "the table" in str(exc)
        return
    _check_valid(picks)


@SETTINGS
@given(data=st.data())
def test_valid_additions_never_change_the_answer_for_the_other_rows(data):
    rows = data.draw(picks_rows(max_size=6))
    taken = frozenset(
        (r["source_id"], r["station_network_code"], r["station_code"], r["station_location_code"]) for r in rows
    )
    extra = data.draw(picks_rows(max_size=6, exclude=taken))
    order = data.draw(st.permutations(range(len(rows) + len(extra))))
    together = [(rows + extra)[i] for i in order]
    with tempfile.TemporaryDirectory() as folder:
        alone_path, together_path = Path(folder) / "alone.csv", Path(folder) / "together.csv"
        _frame(rows).to_csv(alone_path, index=False)
        _frame(together).to_csv(together_path, index=False)
        alone = read_picks(alone_path).set_index("trace_name")
        both = read_picks(together_path).set_index("trace_name")
    assert len(both) == len(rows) + len(extra)
    pd.testing.assert_frame_equal(both.loc[alone.index], alone)
    assert list(alone["trace_p_arrival_time"]) == [row["_expected"] for row in rows]


def test_the_reader_holds_a_known_case():
    """One fixed example of the properties, for a quick look when they fail."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "picks.csv"
        path.write_text(
            "source_id,station_network_code,station_code,trace_p_arrival_time\n"
            "e1,TA,A1,2014-01-01T00:00:01Z\n"
            "e1,TA,A2,2014-01-01T00:00:01.250000Z\n"
        )
        assert list(read_picks(path)["trace_p_arrival_time"].dt.microsecond) == [0, 250000]
        path.write_text("")
        with pytest.raises(InputError, match="picks.csv is empty"):
            read_picks(path)
