"""Messages that name the real fault: mixed-precision ISO pick times, a ';'-separated CSV,
a truncated miniSEED file, a file that is not a Keras archive, a model whose output is not
unit vectors (issue 20, "Misleading messages")."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from obspy import Stream, Trace, UTCDateTime
from obspy.core.inventory import Channel, Inventory, Network, Station

from seisembed.errors import InputError
from seisembed.use.picks import normalise_picks, read_picks

HEADER = "source_id,station_network_code,station_code,trace_p_arrival_time\n"


def _picks_csv(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text(header + "".join(f"{row}\n" for row in rows))
    return path


# -- picks: times --------------------------------------------------------------------------
def test_iso_times_of_mixed_precision_and_offsets_are_read(tmp_path):
    path = _picks_csv(
        tmp_path / "picks.csv",
        [
            "e1,TA,A1,2014-01-01T00:00:01Z",
            "e1,TA,A2,2014-01-01T00:00:01.250000Z",
            "e1,TA,A3,2014-01-01T01:00:02+01:00",
            "e1,TA,A4,2014-01-01 00:00:03.5",
            "e1,TA,A5,2014-01-01T00:00:04.123456789-00:00",
        ],
    )
    picks = read_picks(path)
    expected = pd.to_datetime(
        [
            "2014-01-01 00:00:01",
            "2014-01-01 00:00:01.25",
            "2014-01-01 00:00:02",
            "2014-01-01 00:00:03.5",
            "2014-01-01 00:00:04.123456789",
        ],
        format="ISO8601",
    ).tz_localize("UTC")
    assert list(picks["trace_p_arrival_time"]) == list(expected)
    assert str(picks["trace_p_arrival_time"].dtype) == "datetime64[ns, UTC]"
    # the answer for a row does not depend on the rows before it (pandas used to infer the format from row 0)
    reordered = read_picks(_picks_csv(tmp_path / "reordered.csv", [*path.read_text().splitlines()[1:]][::-1]))
    assert (
        reordered.set_index("trace_name")["trace_p_arrival_time"]
        .sort_index()
        .equals(picks.set_index("trace_name")["trace_p_arrival_time"].sort_index())
    )


def test_a_value_that_is_not_a_time_is_named_with_row_trace_and_value(tmp_path):
    path = _picks_csv(
        tmp_path / "picks.csv",
        ["e1,TA,A1,2014-01-01T00:00:01Z", "e1,TA,A2,2014-01-01T00:00:01.25Z", "e2,TA,A3,yesterday"],
    )
    with pytest.raises(
        InputError, match=r"picks.csv: row 2 \(e2 TA.A3\): trace_p_arrival_time 'yesterday' is not a time"
    ):
        read_picks(path)
    # a date without a time of day, an impossible date, an empty cell: refused, not midnight / NaT
    for value in ("2014-01-01", "2014-13-01T00:00:00Z", ""):
        _picks_csv(path, ["e1,TA,A1,2014-01-01T00:00:01Z", f"e1,TA,A2,{value}"])
        with pytest.raises(InputError, match=rf"row 1 \(e1 TA.A2\): trace_p_arrival_time {value!r} is not a time"):
            read_picks(path)


def test_numbers_are_not_read_as_times():
    # an epoch in seconds would have been read as nanoseconds after 1970: silently wrong
    frame = pd.DataFrame(
        {
            "source_id": ["e1"],
            "station_network_code": ["TA"],
            "station_code": ["A1"],
            "trace_p_arrival_time": [1388534401],
        }
    )
    with pytest.raises(InputError, match="row 0 .*1388534401 is not a time"):
        normalise_picks(frame)
    frame["trace_p_arrival_time"] = pd.Timestamp("2014-01-01T00:00:01", tz="US/Eastern")
    assert normalise_picks(frame)["trace_p_arrival_time"].iloc[0] == pd.Timestamp("2014-01-01T05:00:01", tz="UTC")


# -- picks: separators ---------------------------------------------------------------------
@pytest.mark.parametrize(("separator", "label"), [(";", "';'"), ("\t", "tabs"), ("|", "'|'")])
def test_a_csv_separated_by_something_else_says_use_commas(tmp_path, separator, label):
    header = separator.join(["source_id", "station_network_code", "station_code", "trace_p_arrival_time"]) + "\n"
    path = _picks_csv(tmp_path / "semi.csv", [separator.join(["e1", "TA", "A1", "2014-01-01T00:00:01Z"])], header)
    with pytest.raises(InputError, match=rf"picks file .*semi.csv: its columns are separated by {label} — use commas"):
        read_picks(path)


def test_an_isc_csv_separated_by_semicolons_says_use_commas(tmp_path):
    from seisembed.catalog.readers import read_arrivals_table

    path = tmp_path / "isc.csv"
    path.write_text("EVENTID;REPORTER;STA;LAT;LON\n1;X;A1;40;-100\n")
    with pytest.raises(InputError, match=r"isc.csv: its columns are separated by ';' — use commas"):
        read_arrivals_table(path)
    with pytest.raises(InputError, match=r"isc.csv: its columns are separated by ';' — use commas"):
        read_picks(path)


# -- miniSEED ------------------------------------------------------------------------------
def _miniseed_bytes(channels=("BHZ", "BHN"), npts=20000) -> bytes:
    traces = [
        Trace(
            (np.arange(npts, dtype=np.int32) * 7) % 977,
            header={
                "network": "TA",
                "station": "A1",
                "channel": channel,
                "sampling_rate": 40.0,
                "starttime": UTCDateTime(2014, 1, 1),
            },
        )
        for channel in channels
    ]
    buffer = io.BytesIO()
    Stream(traces).write(buffer, format="MSEED", reclen=512, encoding="STEIM2")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("cut", "reason"),
    [
        (lambda data: data[:-256], "truncated"),  # the last record cut in half
        (lambda data: data[: len(data) // 2 + 100], "truncated"),  # 100 bytes of a record left
        (lambda data: data[:1000], "truncated"),  # a record's header left: libmseed says nothing
        (lambda data: data[:2560] + bytes(512) + data[3072:], "damaged"),  # a record zeroed
        (lambda data: data[:30], r"truncated: 30 bytes"),
        (lambda data: b"", r"empty \(0 bytes\)"),
    ],
)
def test_a_truncated_or_damaged_miniseed_file_is_named(tmp_path, cut, reason):
    from seisembed.waveforms.stream import read_miniseed_files

    good = tmp_path / "good.mseed"
    good.write_bytes(_miniseed_bytes())
    assert sum(tr.stats.npts for tr in read_miniseed_files([good])) == 40000
    bad = tmp_path / "cut.mseed"
    bad.write_bytes(cut(good.read_bytes()))
    with pytest.raises(InputError, match=rf"miniSEED file .*cut.mseed is {reason}"):
        read_miniseed_files([good, bad])


def test_the_sds_source_names_a_truncated_day_file(tmp_path):
    from seisembed.waveforms.base import WindowRequest
    from seisembed.waveforms.sds import SDSSource

    folder = tmp_path / "sds" / "2014" / "TA" / "A1" / "BHZ.D"
    folder.mkdir(parents=True)
    day_file = folder / "TA.A1..BHZ.D.2014.001"
    day_file.write_bytes(_miniseed_bytes(channels=("BHZ",))[:-256])
    channel = Channel("BHZ", "", 40.0, -100.0, 0.0, 0.0)
    inventory = Inventory([Network("TA", [Station("A1", 40.0, -100.0, 0.0, channels=[channel])])], source="test")
    inventory.write(str(tmp_path / "stations.xml"), format="STATIONXML")
    source = SDSSource(tmp_path / "sds", tmp_path / "stations.xml")
    start = UTCDateTime(2014, 1, 1, 0, 1)
    request = WindowRequest(0, "TA", "A1", "", "BH?", start, start + 60)
    late = WindowRequest(1, "TA", "A1", "", "BH?", UTCDateTime(2014, 1, 1) + 470, UTCDateTime(2014, 1, 1) + 499)
    whole, cut = source.fetch([request, late])
    # the window that reaches into the lost end is refused, naming the file ...
    assert cut.status == "error" and cut.stream is None
    assert f"{day_file} is truncated" in cut.reason, cut.reason
    # ... a window the damaged file still holds whole is read (the damage is logged)
    assert whole.status is None and whole.stream[0].stats.npts == 2401
    # an intact day file is read as before
    day_file.write_bytes(_miniseed_bytes(channels=("BHZ",)))
    whole, late_result = source.fetch([request, late])
    assert whole.status is None and whole.stream[0].stats.npts == 2401 and late_result.status is None


# -- Keras models --------------------------------------------------------------------------
keras = pytest.importorskip("keras")


def _keras_archive(tmp_path: Path, unit_norm: bool, n_samples: int = 160) -> Path:
    inputs = keras.Input((n_samples, 3))
    x = keras.layers.Dense(4)(keras.layers.Flatten()(inputs))
    if unit_norm:
        x = keras.layers.UnitNormalization()(x)
    path = tmp_path / ("unit.keras" if unit_norm else "plain.keras")
    keras.Model(inputs, x).save(path)
    return path


def test_a_file_that_is_not_a_keras_archive_says_what_it_is(tmp_path):
    from seisembed.train.model import load_model

    real = _keras_archive(tmp_path, unit_norm=True)
    data = real.read_bytes()
    with zipfile.ZipFile(tmp_path / "other.keras", "w") as archive:
        archive.writestr("readme.txt", "not a model")
    cases = {
        "text.keras": (b"this is not a zip archive", r"not a zip archive, as a .keras file is \(it starts with b'this"),
        "empty.keras": (b"", r"it is empty \(0 bytes"),
        "cut.keras": (data[: len(data) // 2], r"truncated or damaged zip archive"),
        "legacy.keras": (b"\x89HDF\r\n\x1a\n" + bytes(100), r"HDF5 file"),
        "model.h5": (data, r"legacy HDF5 model \(.h5\), not .keras"),
        "model.txt": (data, r"suffix '.txt', not .keras"),
        "other.keras": (None, r"zip archive without a Keras model in it \(no config.json; it holds readme.txt\)"),
    }
    for name, (content, message) in cases.items():
        if content is not None:
            (tmp_path / name).write_bytes(content)
        with pytest.raises(
            InputError, match=rf"model file .*{name} is not a loadable Keras model: .*{message}"
        ) as info:
            load_model(tmp_path / name)
        assert "File not found" not in str(info.value)


def test_a_model_whose_output_is_not_unit_vectors_is_refused(tmp_path):
    from seisembed.train.model import load_model

    with pytest.raises(InputError, match=r"plain.keras gives embeddings of norm .* not unit vectors"):
        load_model(_keras_archive(tmp_path, unit_norm=False), n_samples=160)
    model = load_model(_keras_archive(tmp_path, unit_norm=True), n_samples=160)
    assert model.output_shape == (None, 4)
