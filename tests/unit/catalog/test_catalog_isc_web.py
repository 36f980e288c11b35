"""The ISC web client against a local server that answers like ISC's STNARRIVALS service."""

from __future__ import annotations

import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from seisembed.catalog.build import build_catalog
from seisembed.catalog.isc_csv import parse_isc_csv_text, read_isc_csv
from seisembed.catalog.isc_web import ISCServiceError, TimeSlice, _TooLarge, _Transient, classify_reply, plan_slices
from seisembed.config import validate_config
from seisembed.errors import ConfigError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "catalog"

BUSY_PAGE = (
    "<html><body><h2>Sorry</h2><p>The ISC database is busy at the moment, please try again later.</p></body></html>"
)
NO_DATA_PAGE = "<html><body><p>No events were found.</p></body></html>"
TOO_MANY_PAGE = "<html><body><p>Your search returned too many arrivals. Please limit your search.</p></body></html>"
MALFORMED_PAGE = "<html><body><p>Internal error: database connection lost</p></body></html>"


class FakeISC:
    """State of the fake ISC service: the data, a script of faults and a request log."""

    def __init__(self, layout: int = 26) -> None:
        path = FIXTURES / f"isc_20140101_07_{layout}col.csv"
        lines = path.read_text().splitlines()
        self.header, self.lines = lines[0], lines[1:]
        table = pd.read_csv(path, dtype=str, keep_default_na=False)  # repeats become DATE.1, TIME.1
        self.origin = pd.to_datetime(table["DATE.1"] + " " + table["TIME.1"], utc=True)
        self.script: list[str] = []  # one action per request, then "ok"
        self.row_cap: int | None = None  # "too many" page above this many rows
        self.serve_cap: int | None = None  # silently serve at most this many rows
        self.slow_s = 1.0
        self.requests: list[tuple[float, dict]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()

    def rows_between(self, query: dict) -> list[str]:
        """Data lines of events with origin in [start, end] (ISC's end is inclusive)."""

        def stamp(prefix: str) -> pd.Timestamp:
            return pd.Timestamp(
                f"{query[prefix + '_year']}-{int(query[prefix + '_month']):02d}-{int(query[prefix + '_day']):02d} {query[prefix + '_time']}",
                tz="UTC",
            )

        start, end = stamp("start"), stamp("end")
        return [line for line, t in zip(self.lines, self.origin) if start <= t <= end]

    def page(self, rows: list[str]) -> str:
        body = "\n".join([self.header, *rows])
        return f"<html><head><title>ISC</title></head><body>\n<pre>\n{body}\nSTOP\n</pre>\n</body></html>\n"


class Handler(BaseHTTPRequestHandler):
    """Answers GET requests according to the server's :class:`FakeISC` state."""

    def log_message(self, *args) -> None:  # keep pytest output quiet
        pass

    def _send(self, status: int, text: str, *, promised_extra: int = 0) -> None:
        data = text.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data) + promised_extra))  # extra: the body is cut short
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (time-out test)

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        state: FakeISC = self.server.state
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query, keep_blank_values=True))
        with state.lock:
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
            state.requests.append((time.monotonic(), query))
            action = state.script.pop(0) if state.script else "ok"
        try:
            self._answer(state, query, action)
        finally:
            with state.lock:
                state.in_flight -= 1

    def _answer(self, state: FakeISC, query: dict, action: str) -> None:
        if action == "busy":
            return self._send(200, BUSY_PAGE)
        if action == "503":
            return self._send(503, "<html><body>Service Unavailable</body></html>")
        if action == "404":
            return self._send(404, "<html><body>Not Found</body></html>")
        if action == "malformed":
            return self._send(200, MALFORMED_PAGE)
        if action == "truncated":
            return self._send(200, state.page(state.rows_between(query))[:400])
        if action == "cut_body":  # the connection closes before Content-Length bytes arrive
            return self._send(200, state.page(state.rows_between(query)), promised_extra=500)
        if action == "repeat_row":  # one arrival listed twice within the reply
            rows = state.rows_between(query)
            return self._send(200, state.page([*rows, rows[0]]))
        if action == "slow":
            time.sleep(state.slow_s)
        if query.get("request") != "STNARRIVALS" or query.get("out_format") != "CSV":
            return self._send(400, "bad request")
        rows = state.rows_between(query)
        if not rows:
            return self._send(200, NO_DATA_PAGE)
        if state.row_cap is not None and len(rows) > state.row_cap:
            return self._send(200, TOO_MANY_PAGE)
        if state.serve_cap is not None:
            rows = rows[: state.serve_cap]
        return self._send(200, state.page(rows))


def _serve(layout: int):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.state = FakeISC(layout)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture(params=[26, 28], ids=["26col", "28col"])
def isc_server(request):
    """A fake ISC on 127.0.0.1 (port 0) serving the fixture in both layouts."""
    server, thread = _serve(request.param)
    server.layout = request.param
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def isc26_server():
    """A fake ISC serving the 26-column layout only."""
    server, thread = _serve(26)
    server.layout = 26
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _config(server, cache: Path, **isc) -> dict:
    host, port = server.server_address
    settings = {
        "base_url": f"http://{host}:{port}/cgi-bin/web-db-run",
        "slice_days": 2.0,
        "min_slice_hours": 3.0,
        "pause_s": 0.0,
        "timeout_s": 10.0,
        "max_retries": 3,
        "backoff_s": 0.01,
        "cache_dir": str(cache),
        **isc,
    }
    return validate_config(
        {
            "catalog": {
                "source": "isc",
                "starttime": "2014-01-01T00:00:00",
                "endtime": "2014-01-08T00:00:00",
                "label_rule": "auto",
                "isc": settings,
            }
        }
    )


def _expected(layout: int) -> pd.DataFrame:
    return read_isc_csv(FIXTURES / f"isc_20140101_07_{layout}col.csv", label_rule="auto")


def test_both_layouts_html_wrapped_equal_the_file(isc_server, tmp_path):
    table, summary = build_catalog(_config(isc_server, tmp_path / "cache"))
    pd.testing.assert_frame_equal(table, _expected(isc_server.layout))
    assert summary["isc"]["requests"] == 4 == len(isc_server.state.requests)  # 2+2+2+1 days
    assert summary["rows_out"] == 205 and summary["events"] == 15
    assert isc_server.state.max_in_flight == 1
    assert not list((tmp_path / "cache").rglob("*.tmp-*"))


def test_transient_faults_are_retried(isc26_server, tmp_path):
    isc26_server.state.script = ["busy", "503", "slow", "malformed", "truncated"]
    isc26_server.state.slow_s = 1.0
    table, summary = build_catalog(_config(isc26_server, tmp_path / "cache", max_retries=5, timeout_s=0.5))
    pd.testing.assert_frame_equal(table, _expected(26))
    # first slice: busy, 503, slow (time-out), malformed, truncated, then ok = 6 requests; 3 more slices
    # (at least: on a loaded machine a healthy reply may also time out and be retried)
    assert summary["isc"]["requests"] >= 9


def test_permanent_http_error_fails_at_once(isc26_server, tmp_path):
    isc26_server.state.script = ["404"]
    with pytest.raises(ISCServiceError, match="HTTP 404.*catalog.isc.base_url"):
        build_catalog(_config(isc26_server, tmp_path / "cache"))
    assert len(isc26_server.state.requests) == 1


def test_persistent_busy_fails_after_retries(isc26_server, tmp_path):
    isc26_server.state.script = ["busy"] * 10
    with pytest.raises(ISCServiceError, match="still failing after 2 retries.*busy"):
        build_catalog(_config(isc26_server, tmp_path / "cache", max_retries=2))
    assert len(isc26_server.state.requests) == 3


def test_too_many_page_halves_the_slice(isc26_server, tmp_path):
    isc26_server.state.row_cap = 40  # two days hold more rows than this
    table, summary = build_catalog(_config(isc26_server, tmp_path / "cache"))
    pd.testing.assert_frame_equal(table, _expected(26))
    assert list((tmp_path / "cache").rglob("*.split"))
    assert summary["isc"]["requests"] > 4


def test_capped_reply_is_detected_by_row_count(isc26_server, tmp_path):
    isc26_server.state.serve_cap = 30  # the server silently truncates
    table, _ = build_catalog(_config(isc26_server, tmp_path / "cache", max_reply_rows=30))
    pd.testing.assert_frame_equal(table, _expected(26))


def test_slice_that_cannot_shrink_fails_clearly(isc26_server, tmp_path):
    isc26_server.state.row_cap = 0  # always "too many"
    with pytest.raises(ISCServiceError, match="min_slice_hours"):
        build_catalog(_config(isc26_server, tmp_path / "cache", min_slice_hours=20.0))


def test_persistent_time_outs_halve_then_fail(isc26_server, tmp_path):
    isc26_server.state.script = ["slow"] * 6
    isc26_server.state.slow_s = 0.6
    config = _config(isc26_server, tmp_path / "cache", timeout_s=0.2, max_retries=1, min_slice_hours=20.0)
    with pytest.raises(ISCServiceError, match="no reply within 0.2 s"):
        build_catalog(config)


def test_resume_after_interruption_never_refetches(isc26_server, tmp_path):
    cache = tmp_path / "cache"
    isc26_server.state.script = ["ok", "ok", "404"]  # the run dies on the third slice
    with pytest.raises(ISCServiceError):
        build_catalog(_config(isc26_server, cache))
    finished = sorted(p.name for p in cache.rglob("*.csv"))
    assert len(finished) == 2
    # a half-written file of a killed run is not a finished slice
    (next(cache.iterdir()) / ".20140105T000000_20140107T000000.csv.tmp-99").write_text("EVENTID,")
    isc26_server.state.requests.clear()
    table, summary = build_catalog(_config(isc26_server, cache))
    assert summary["isc"]["requests"] == 2 == len(isc26_server.state.requests)
    asked = [(q["start_month"], q["start_day"]) for _, q in isc26_server.state.requests]
    assert asked == [("1", "5"), ("1", "7")]
    pd.testing.assert_frame_equal(table, _expected(26))
    isc26_server.state.requests.clear()
    again, summary = build_catalog(_config(isc26_server, cache))
    assert summary["isc"]["requests"] == 0 and not isc26_server.state.requests
    pd.testing.assert_frame_equal(again, table)


def test_empty_slices_are_cached(isc26_server, tmp_path):
    config = _config(isc26_server, tmp_path / "cache")
    config["catalog"]["starttime"], config["catalog"]["endtime"] = "2013-06-01T00:00:00", "2013-06-05T00:00:00"
    table, summary = build_catalog(config)
    assert table.empty and summary["rows_out"] == 0 and summary["isc"]["requests"] == 2
    _, summary = build_catalog(config)
    assert summary["isc"]["requests"] == 0


def test_requests_are_paused_and_sequential(isc26_server, tmp_path):
    build_catalog(_config(isc26_server, tmp_path / "cache", pause_s=0.15))
    times = [t for t, _ in isc26_server.state.requests]
    assert len(times) == 4 and min(b - a for a, b in zip(times, times[1:])) >= 0.14
    assert isc26_server.state.max_in_flight == 1


def test_query_carries_box_phases_and_times(isc26_server, tmp_path):
    build_catalog(_config(isc26_server, tmp_path / "cache", extra_params={"stnsearch": "STN", "sta_list": "ISA"}))
    query = isc26_server.state.requests[0][1]
    assert query["bot_lat"] == "25.0" and query["right_lon"] == "-75.0" and query["tdef"] == "on"
    assert query["phaselist"] == "P,Pn,Pg,Pb,PKP,Pdiff" and query["stnsearch"] == "STN" and query["sta_list"] == "ISA"
    assert (query["start_year"], query["start_month"], query["start_day"], query["start_time"]) == (
        "2014",
        "1",
        "1",
        "00:00:00",
    )


def test_plan_slices_and_halves():
    slices = plan_slices("2014-01-01", "2014-01-08", 3)
    assert [(s.start.day, s.end.day) for s in slices] == [(1, 4), (4, 7), (7, 8)]
    first, second = TimeSlice(pd.Timestamp("2014-01-01", tz="UTC"), pd.Timestamp("2014-01-02", tz="UTC")).halves()
    assert first.end == second.start == pd.Timestamp("2014-01-01 12:00", tz="UTC")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (BUSY_PAGE, _Transient),
        (MALFORMED_PAGE, _Transient),
        (TOO_MANY_PAGE, _TooLarge),
        ("<pre>\nEVENTID,STA\n1,A\n", _Transient),
        ('EVENTID,STA\n1,"A\n' + "2,B\n" * 40000, _Transient),
    ],  # a quote left open: beyond the csv field limit
)
def test_classify_reply(text, error):
    with pytest.raises(error):
        classify_reply(text, max_rows=0)
    assert classify_reply(NO_DATA_PAGE, max_rows=0) == "ok"


def test_reply_cut_short_of_its_length_is_retried(isc26_server, tmp_path):
    isc26_server.state.script = ["cut_body"]
    table, summary = build_catalog(_config(isc26_server, tmp_path / "cache"))
    pd.testing.assert_frame_equal(table, _expected(26))
    assert summary["isc"]["requests"] == 5


@pytest.mark.parametrize("base_url", ["www.isc.ac.uk/cgi-bin/web-db-run", "htp://www.isc.ac.uk/cgi-bin/web-db-run"])
def test_unusable_base_url_is_a_config_error(isc26_server, tmp_path, base_url):
    with pytest.raises(ConfigError, match="catalog.isc.base_url"):
        build_catalog(_config(isc26_server, tmp_path / "cache", base_url=base_url, max_retries=1))


def test_row_repeated_within_a_reply_is_counted_but_slice_overlap_is_not(isc26_server, tmp_path):
    isc26_server.state.script = ["repeat_row"]
    table, summary = build_catalog(_config(isc26_server, tmp_path / "cache"))
    pd.testing.assert_frame_equal(table, _expected(26))
    assert summary["skipped"]["rows: exact duplicate arrival"]["count"] == 1


def test_event_on_a_slice_boundary_is_read_once(tmp_path):
    from seisembed.catalog.isc_web import _drop_slice_overlap

    text = (FIXTURES / "isc_20140101_07_26col.csv").read_text()
    first = parse_isc_csv_text(text, origin="slice 1")
    second = parse_isc_csv_text(text, origin="slice 2")  # every row again, as if all were on the boundary
    twice_in_one = parse_isc_csv_text(text + "\n".join(text.splitlines()[1:3]) + "\n", origin="slice 3")
    assert len(_drop_slice_overlap([first, second])) == len(first)
    assert len(_drop_slice_overlap([twice_in_one])) == len(first) + 2  # left for assemble_arrivals to count
