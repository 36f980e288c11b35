"""A local FDSN web service (127.0.0.1) over an SDS archive, with switchable fault injection.

Serves ``/fdsnws/dataselect/1/query`` (GET and bulk POST; also as ``queryauth``,
without checking credentials), ``/fdsnws/station/1/query``
(GET), their ``/version`` pages, and ``/stats`` (JSON counters; ``?reset=1``
clears them). Faults (see :class:`Faults`) are drawn from a seeded RNG:

* ``transient_rate``: the share of requests answered by 503, 429, a connection
  reset (TCP RST, no reply) or a slow reply (``slow_s`` before answering); ``kinds``
  may also list ``"empty"`` (HTTP 200 with no body, as some servers say "no data"),
* ``corrupt_rate``: the share of data replies damaged, by one of ``corrupt_kinds``:
  ``garbage`` (random bytes, HTTP 200), ``truncated`` (Content-Length larger than
  the body, then the connection closes), ``cut`` (a clean HTTP 200 whose body
  stops at a record boundary: records are missing, nothing looks broken) or
  ``flip`` (bytes of one record's header overwritten, so a reader drops or
  misreads that record),
* ``max_bulk_lines``: a bulk POST with more lines answers 413,
* ``fail_stations``: any data request naming one of these stations answers 500.

``latency_s`` is added to every request. The server counts requests, replies by
code, and the highest number of requests in progress at once.

Run standalone (the benchmark does)::

    python -m seisembed.testing.fdsn_server --sds DIR --inventory stations.xml [--latency 0.05]

It prints ``http://127.0.0.1:PORT`` on its first line of stdout.
"""

from __future__ import annotations

import argparse
import fnmatch
import io
import json
import logging
import random
import socket
import struct
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
from obspy import UTCDateTime, read_inventory
from obspy.io.mseed.util import get_record_information

log = logging.getLogger(__name__)


@dataclass
class Faults:
    """Fault injection settings (rates are probabilities per request)."""

    transient_rate: float = 0.0
    corrupt_rate: float = 0.0
    max_bulk_lines: int | None = None
    slow_s: float = 2.0
    kinds: tuple[str, ...] = ("503", "429", "reset", "slow")
    corrupt_kinds: tuple[str, ...] = ("garbage", "truncated")
    fail_stations: tuple[str, ...] = ()  # a data request naming one of these always gets HTTP 500


class _Archive:
    """The SDS archive held in memory as raw miniSEED records, indexed per (network, station).

    Like a production dataselect service, a query returns the whole stored
    records that overlap the requested span (no re-encoding), so the server
    stays cheap next to the client under test.
    """

    def __init__(self, sds_root: Path, inventory_path: Path):
        self.inventory = read_inventory(str(inventory_path))
        records: dict[tuple[str, str], list] = defaultdict(list)
        for path in sorted(Path(sds_root).glob("*/*/*/*.D/*")):
            blob = path.read_bytes()
            offset = 0
            while offset < len(blob):
                info = get_record_information(io.BytesIO(blob), offset)
                length = int(info["record_length"])
                head = blob[offset : offset + 20].decode("ascii", "replace")
                net, sta, loc, cha = head[18:20].strip(), head[8:13].strip(), head[13:15].strip(), head[15:18].strip()
                records[(net, sta)].append(
                    (info["starttime"].timestamp, info["endtime"].timestamp, loc, cha, blob[offset : offset + length])
                )
                offset += length
        self.records: dict[tuple[str, str], tuple[list, np.ndarray, np.ndarray]] = {}
        for key, recs in records.items():
            recs.sort(key=lambda r: (r[2], r[3], r[0]))
            self.records[key] = (recs, np.array([r[0] for r in recs]), np.array([r[1] for r in recs]))
        self._xml_cache: dict[tuple[str, str, str], bytes] = {}

    def select(self, net: str, sta: str, loc: str, cha: str, t0: UTCDateTime, t1: UTCDateTime) -> list[bytes]:
        """The stored miniSEED records matching the (wildcard) codes and overlapping [t0, t1]."""
        loc = "" if loc in ("--", "") else loc
        if any(c in net + sta for c in "*?["):
            keys = [k for k in self.records if fnmatch.fnmatchcase(k[0], net) and fnmatch.fnmatchcase(k[1], sta)]
        else:
            keys = [(net, sta)] if (net, sta) in self.records else []
        out = []
        for key in keys:
            recs, starts, ends = self.records[key]
            for i in np.flatnonzero((ends >= t0.timestamp) & (starts <= t1.timestamp)):
                _, _, rloc, rcha, blob = recs[i]
                if fnmatch.fnmatchcase(rloc, loc) and fnmatch.fnmatchcase(rcha, cha):
                    out.append(blob)
        return out

    def stationxml(self, net: str, sta: str, level: str) -> bytes | None:
        """StationXML bytes of the matching stations, ``None`` if none."""
        key = (net, sta, level)
        if key not in self._xml_cache:
            inv = self.inventory.select(network=net, station=sta)
            if not inv.networks:
                return None
            buf = io.BytesIO()
            inv.write(buf, format="STATIONXML")
            self._xml_cache[key] = buf.getvalue()
        return self._xml_cache[key]


def _parse_bulk(body: str) -> list[tuple[str, ...]]:
    """Data lines ``NET STA LOC CHA START END`` of a bulk POST body (``key=value`` lines skipped)."""
    lines = []
    for line in body.splitlines():
        line = line.strip()
        if not line or "=" in line.split()[0]:
            continue
        parts = line.split()
        if len(parts) != 6:
            raise ValueError(f"bad bulk line {line!r}")
        lines.append(tuple(parts))
    return lines


class FDSNTestServer:
    """The server; use as a context manager or call :meth:`start` / :meth:`stop`."""

    def __init__(
        self,
        sds_root: str | Path,
        inventory_path: str | Path,
        latency_s: float = 0.0,
        faults: Faults | None = None,
        seed: int = 0,
        port: int = 0,
    ):
        self.archive = _Archive(Path(sds_root), Path(inventory_path))
        self.latency_s = latency_s
        self.faults = faults or Faults()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._port = port
        self.reset_stats()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- counters ---------------------------------------------------------------
    def reset_stats(self) -> None:
        """Zero every counter."""
        with getattr(self, "_lock", threading.Lock()):
            self.in_progress = 0
            self.max_concurrent = 0
            self.requests = Counter()  # by path kind
            self.replies = Counter()  # by code / fault kind
            self.lines_served = 0
            self.request_times: list[float] = []

    def stats(self) -> dict:
        """A JSON-able snapshot of the counters."""
        with self._lock:
            times = sorted(self.request_times)
            per_s = max((sum(1 for u in times[i:] if u - t < 1.0) for i, t in enumerate(times)), default=0)
            return {
                "max_concurrent": self.max_concurrent,
                "requests": dict(self.requests),
                "replies": dict(self.replies),
                "lines_served": self.lines_served,
                "max_requests_in_1s": per_s,
                "faults": asdict(self.faults),
            }

    def _enter(self, kind: str) -> None:
        with self._lock:
            self.in_progress += 1
            self.max_concurrent = max(self.max_concurrent, self.in_progress)
            self.requests[kind] += 1
            self.request_times.append(time.monotonic())

    def _leave(self, outcome: str) -> None:
        with self._lock:
            self.in_progress -= 1
            self.replies[outcome] += 1

    def draw(self, p: float) -> bool:
        """A seeded Bernoulli draw with probability ``p``."""
        with self._lock:
            return p > 0 and self._rng.random() < p

    def choose(self, options: tuple[str, ...]) -> str:
        with self._lock:
            return self._rng.choice(options)

    # -- life cycle ---------------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:43210``."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> FDSNTestServer:
        handler = type("Handler", (_Handler,), {"server_obj": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self._port), handler)
        self._httpd.daemon_threads = True
        self._httpd.request_queue_size = 64
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fdsn-test-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FDSNTestServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    server_obj: FDSNTestServer
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt: str, *args) -> None:  # quiet: counters tell the story
        log.debug("%s " + fmt, self.address_string(), *args)

    # -- replies --------------------------------------------------------------------
    def _send(self, code: int, body: bytes = b"", ctype: str = "text/plain") -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _reset(self) -> None:
        """Abort the connection with a TCP RST and no reply."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.wfile = io.BytesIO()
        self.close_connection = True

    def _fault(self) -> tuple[str | None, bool]:
        """Draw a transient fault: (its name or None, whether the request is already answered)."""
        srv = self.server_obj
        if not srv.draw(srv.faults.transient_rate):
            return None, False
        kind = srv.choose(srv.faults.kinds)
        if kind == "503":
            self._send(503, b"Service temporarily unavailable (injected)")
        elif kind == "429":
            self._send(429, b"Too many requests (injected)")
        elif kind == "reset":
            self._reset()
        elif kind == "empty":  # some servers answer "no data" this way
            self._send(200, b"", "application/vnd.fdsn.mseed")
        elif kind == "slow":
            time.sleep(srv.faults.slow_s)  # then answer normally; the client has likely given up
            return kind, False
        return kind, True

    def _serve_data(self, records: list[bytes]) -> str:
        srv = self.server_obj
        if not records:
            self._send(204)
            return "204"
        body = b"".join(records)
        if srv.draw(srv.faults.corrupt_rate):
            kind = srv.choose(srv.faults.corrupt_kinds)
            if kind == "garbage":
                junk = bytes(random.Random(len(body)).getrandbits(8) for _ in range(min(len(body), 4096)))
                self._send(200, junk, "application/vnd.fdsn.mseed")
                return "garbage"
            if kind == "cut":  # whole records only, correct Content-Length: looks like a complete reply
                keep = max(1, len(records) // 2) if len(records) > 1 else 0
                self._send(200, b"".join(records[:keep]), "application/vnd.fdsn.mseed")
                return "cut"
            if kind == "flip":  # one record's fixed header overwritten (sequence, codes, start time)
                damaged = bytearray(body)
                at = sum(len(r) for r in records[: len(records) // 2])
                damaged[at : at + 30] = bytes(random.Random(at).getrandbits(8) for _ in range(30))
                self._send(200, bytes(damaged), "application/vnd.fdsn.mseed")
                return "flip"
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.fdsn.mseed")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self._reset()
            return "truncated"
        self._send(200, body, "application/vnd.fdsn.mseed")
        return "200"

    # -- routing ------------------------------------------------------------------------
    def _route(self, method: str) -> None:
        srv = self.server_obj
        url = urlparse(self.path)
        path = url.path.rstrip("/")
        params = {k: v[-1] for k, v in parse_qs(url.query).items()}
        body = b""
        if method == "POST":
            body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
        if path == "/stats":
            if params.get("reset"):
                srv.reset_stats()
            self._send(200, json.dumps(srv.stats()).encode(), "application/json")
            return
        kind = {
            "/fdsnws/dataselect/1/query": "dataselect",
            "/fdsnws/dataselect/1/queryauth": "dataselect",
            "/fdsnws/station/1/query": "station",
        }.get(path)
        if kind is None:
            if path.endswith("/version"):
                self._send(200, b"1.1.0")
            else:
                self._send(404, b"not found")
            return
        srv._enter(kind)
        outcome = "error"
        try:
            if srv.latency_s:
                time.sleep(srv.latency_s)
            fault, answered = self._fault()
            if answered:
                outcome = fault
                return
            outcome = self._station(params) if kind == "station" else self._dataselect(method, params, body)
            outcome = f"{fault}+{outcome}" if fault else outcome
        except (ValueError, KeyError) as exc:
            self._send(400, f"bad request: {exc}".encode())
            outcome = "400"
        except (BrokenPipeError, ConnectionResetError):
            outcome = "client-gone"
        finally:
            srv._leave(outcome)

    def _station(self, params: dict) -> str:
        xml = self.server_obj.archive.stationxml(
            params.get("network", params.get("net", "*")),
            params.get("station", params.get("sta", "*")),
            params.get("level", "station"),
        )
        if xml is None:
            self._send(204)
            return "204"
        self._send(200, xml, "application/xml")
        return "200"

    def _dataselect(self, method: str, params: dict, body: bytes) -> str:
        srv = self.server_obj
        if method == "POST":
            lines = _parse_bulk(body.decode())
            if srv.faults.max_bulk_lines is not None and len(lines) > srv.faults.max_bulk_lines:
                self._send(413, b"Request too large (injected)")
                return "413"
        else:
            lines = [
                (
                    params.get("network", params.get("net")),
                    params.get("station", params.get("sta")),
                    params.get("location", params.get("loc", "*")),
                    params.get("channel", params.get("cha")),
                    params.get("starttime", params.get("start")),
                    params.get("endtime", params.get("end")),
                )
            ]
        if any(line[1] in srv.faults.fail_stations for line in lines):
            self._send(500, b"Internal server error (injected, persistent)")
            return "500"
        records: list[bytes] = []
        for net, sta, loc, cha, t0, t1 in lines:
            records.extend(srv.archive.select(net, sta, loc, cha, UTCDateTime(t0), UTCDateTime(t1)))
        with srv._lock:
            srv.lines_served += len(lines)
        return self._serve_data(list(dict.fromkeys(records)))  # each record once

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        self._route("GET")

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        self._route("POST")


def main(argv: list[str] | None = None) -> int:
    """Run the server in the foreground until killed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sds", required=True)
    parser.add_argument("--inventory", required=True)
    parser.add_argument("--latency", type=float, default=0.0, help="added latency per request (s)")
    parser.add_argument("--transient-rate", type=float, default=0.0)
    parser.add_argument("--corrupt-rate", type=float, default=0.0)
    parser.add_argument("--max-bulk-lines", type=int, default=None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    server = FDSNTestServer(
        args.sds,
        args.inventory,
        latency_s=args.latency,
        faults=Faults(args.transient_rate, args.corrupt_rate, args.max_bulk_lines),
        seed=args.seed,
        port=args.port,
    ).start()
    sys.stdout.write(server.url + "\n")
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
