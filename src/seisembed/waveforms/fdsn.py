"""Polite, fault-tolerant retrieval from an FDSN data centre (EarthScope by default).

* StationXML (channel level) is fetched once per network/station and cached on
  disk (``fdsn.cache_dir``/<server>/<NET>.<STA>.xml, atomic writes), so reruns
  and other partitions never ask again.
* Waveforms come by ``get_waveforms_bulk`` in chunks of ``fdsn.bulk_size`` lines,
  several chunks in flight at once through one shared :class:`RateLimiter`
  (default: 5 concurrent requests, 10 requests/s: EarthScope's published limits).
* 429, 503, time-outs, connection resets and unreadable replies are retried
  with exponential back-off (with jitter); a 413, or a chunk still failing after
  its retries, is split in halves down to single lines, so one bad line cannot
  sink its neighbours; a 204 marks the lines ``no_data``.
* Credentials come only from environment variables whose *names* are configured
  (``fdsn.user_env``, ``fdsn.password_env``, ``fdsn.eida_token_env``); their
  values are never logged or written.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import http.client
import io
import logging
import os
import re
import struct
import threading
import time
import urllib.request
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TypeVar

from obspy import Stream, read, read_inventory
from obspy.clients.fdsn import Client
from obspy.clients.fdsn.header import (
    FDSNBadRequestException,
    FDSNException,
    FDSNForbiddenException,
    FDSNNoDataException,
    FDSNRequestTooLargeException,
    FDSNUnauthorizedException,
)
from obspy.core.inventory import Inventory
from obspy.core.util.obspy_types import ObsPyException
from obspy.io.mseed import InternalMSEEDError

from seisembed.atomic import atomic_path
from seisembed.config import section as config_section
from seisembed.errors import ConfigError
from seisembed.retry import Backoff, RetriesExhausted, call_with_retries, describe_exception
from seisembed.waveforms.base import DataCentreUnreachable, FetchResult, SourceError, WindowRequest
from seisembed.waveforms.limiter import RateLimiter

log = logging.getLogger(__name__)

T = TypeVar("T")

#: failures worth retrying: HTTP 429/500/502/503/time-outs/resets (FDSNException and
#: OSError), truncated bodies (HTTPException) and unreadable payloads (the rest)
RETRYABLE = (
    FDSNException,
    OSError,
    http.client.HTTPException,
    InternalMSEEDError,
    ObsPyException,
    ValueError,
    TypeError,
    EOFError,
    SyntaxError,
    zlib.error,
    struct.error,
)

#: failures that retrying the same request cannot fix (split, or give up on one line)
PERMANENT = (FDSNRequestTooLargeException, FDSNBadRequestException, FDSNUnauthorizedException, FDSNForbiddenException)


#: ObsPy's libmseed reports damaged records through a logging callback that is not
#: thread-safe: two download threads parsing damaged replies at once crashed the
#: interpreter (segmentation fault) in a test. Parsing is fast; it is serialised.
_MSEED_LOCK = threading.Lock()


class CorruptReply(ValueError):
    """A reply that parsed but holds traces nobody asked for (garbage read as miniSEED)."""


class _GiveUp(Exception):
    """Internal: a request failed for good; ``attempts`` were made."""

    def __init__(self, reason: str, attempts: int, split: bool):
        super().__init__(reason)
        self.reason, self.attempts, self.split = reason, attempts, split


def _redact(url: str) -> str:
    """``url`` without any ``user:password@`` part."""
    return re.sub(r"//[^/@]*@", "//", url)


def credentials_from_env(section: dict) -> dict:
    """Client keyword arguments (``user``, ``password``, ``eida_token``) from environment variables.

    The config holds only the variable *names*; an unset or empty variable means
    anonymous access. A user without a password (or vice versa) is a config error.
    """
    user = os.environ.get(section["user_env"], "") or None
    password = os.environ.get(section["password_env"], "") or None
    token = os.environ.get(section["eida_token_env"], "") or None
    if bool(user) != bool(password):
        raise ConfigError(
            f"environment variables {section['user_env']} and {section['password_env']} "
            "(config keys waveforms.fdsn.user_env/password_env) must be set together"
        )
    kwargs: dict = {}
    if user:
        kwargs.update(user=user, password=password)
    if token:
        kwargs["eida_token"] = token
    return kwargs


def _check_base_url(base_url: str) -> None:
    """Raise :class:`ConfigError` unless ObsPy accepts ``base_url`` (a shortcut or an URL; no request is sent)."""
    try:
        Client(base_url, _discover_services=False)
    except ValueError as exc:
        raise ConfigError(
            f"config key 'waveforms.fdsn.base_url': {_redact(str(exc))} Use a data centre shortcut "
            "(e.g. EARTHSCOPE) or a full URL such as https://service.earthscope.org"
        ) from None


class FDSNSource:
    """Waveforms and StationXML from an FDSN web service, politely and with retries.

    ``values`` is the ``waveforms.fdsn`` config section as given (validated here;
    missing keys take the schema's defaults); ``seed`` seeds the back-off jitter.
    ``limiter`` may be shared between sources talking to one server.
    """

    def __init__(
        self,
        values: dict | None = None,
        seed: int = 0,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.section = section = config_section("waveforms.fdsn", values)
        self.base_url = section["base_url"]
        self.timeout_s = section["timeout_s"]
        self.max_retries = section["max_retries"]
        self.backoff = Backoff(section["backoff_s"], section["backoff_max_s"], section["max_retries"], seed=seed)
        self.bulk_size = section["bulk_size"]
        self.station_level = section["station_level"]
        self.limiter = limiter or RateLimiter(section["max_concurrent"], section["max_requests_per_s"])
        self._credentials = credentials_from_env(section)
        _check_base_url(self.base_url)
        self._discover = section["discover_services"]
        self._local = threading.local()
        self._sleep = sleep
        self._pool = ThreadPoolExecutor(max_workers=self.limiter.max_concurrent, thread_name_prefix="fdsn")
        cache_root = Path(section["cache_dir"])
        slug = re.sub(r"[^A-Za-z0-9]+", "_", _redact(self.base_url)).strip("_")[:40]
        digest = hashlib.sha256(_redact(self.base_url).encode()).hexdigest()[:8]
        self.cache_dir = cache_root / f"{slug}-{digest}"
        self._inventories: dict[tuple[str, str], Inventory | None] = {}
        self._inv_failures: dict[tuple[str, str], SourceError] = {}
        self._inv_lock = threading.Lock()

    # -- plumbing -------------------------------------------------------------------
    def describe(self) -> str:
        """Credential-free description (for logs and provenance)."""
        auth = " (authenticated)" if self._credentials else ""
        return f"fdsn {_redact(self.base_url)}{auth}"

    def _client(self) -> Client:
        """This thread's ObsPy client (urllib openers are not shared between threads)."""
        client = getattr(self._local, "client", None)
        if client is None:
            if self._discover:  # discovery sends requests of its own: count them against the limits
                with self.limiter.slot():
                    client = self._new_client()
            else:
                client = self._new_client()
            self._local.client = client
        return client

    def _new_client(self) -> Client:
        """An ObsPy FDSN client for this server with the configured credentials."""
        return Client(self.base_url, timeout=self.timeout_s, _discover_services=self._discover, **self._credentials)

    def _call(self, what: str, func: Callable[[Client], T]) -> tuple[T, int]:
        """Run ``func(client)`` under the limiter, retrying transient failures.

        Returns (result, attempts). Raises :class:`FDSNNoDataException` for 204
        (with ``attempts`` set) and :class:`_GiveUp` otherwise.
        """

        def once() -> T:
            client = self._client()
            with self.limiter.slot():
                return func(client)

        try:
            return call_with_retries(
                once,
                policy=self.backoff,
                what=what,
                retry_on=RETRYABLE,
                fatal=(FDSNNoDataException, *PERMANENT),
                sleep=self._sleep,
                logger=log,
            )
        except FDSNNoDataException:
            raise
        except PERMANENT as exc:
            raise _GiveUp(describe_exception(exc), exc.attempts, split=True) from None
        except RetriesExhausted as exc:
            last = describe_exception(exc.last)
            self._ensure_reachable(what, last)
            raise _GiveUp(f"failed {exc.attempts} times, last: {last}", exc.attempts, split=True) from None

    def _version_url(self, client: Client) -> str:
        """URL of the data centre's dataselect ``version`` page (answers without data or credentials)."""
        try:
            return client._build_url("dataselect", "version")
        except (AttributeError, TypeError, ValueError):  # ObsPy's private helper changed: use the FDSN standard path
            return f"{client.base_url.rstrip('/')}/fdsnws/dataselect/1/version"

    def _ensure_reachable(self, what: str, last: str) -> None:
        """After a request failed for good: raise :class:`DataCentreUnreachable` if the service is down.

        A failure of one request (a bad line, a station the server chokes on) is worth
        isolating by splitting the bulk request; an outage is not: splitting a 100-line
        chunk down to single lines would send hundreds of requests, each with its full
        back-off, at a dead service. The version page is probed (three tries, with the
        usual back-off); if it does not answer either, the run stops with a clear error.
        """
        url = self._version_url(self._client())
        probe = ""
        for attempt in range(1, 4):
            try:
                with self.limiter.slot(), urllib.request.urlopen(url, timeout=self.timeout_s) as reply:
                    reply.read()
                return
            except (OSError, http.client.HTTPException) as exc:
                probe = f"{type(exc).__name__}: {exc}"
                if attempt < 3:
                    self._sleep(self.backoff.delay(attempt))
        raise DataCentreUnreachable(
            f"{_redact(self.base_url)} stopped answering: {what} failed {self.max_retries + 1} times (last: {last}) "
            f"and its version page {_redact(url)} does not answer either ({probe}). Finished chunks are kept; "
            "rerun the rule to resume when the service is back."
        )

    # -- StationXML -----------------------------------------------------------------
    def _cache_path(self, network: str, station: str) -> Path:
        return self.cache_dir / f"{network}.{station}.xml"

    def _load_inventory(self, network: str, station: str) -> Inventory | None:
        """Read the cached StationXML or fetch it (and cache it atomically)."""
        path = self._cache_path(network, station)
        if path.is_file():
            try:
                return read_inventory(str(path), format="STATIONXML")
            except (ValueError, TypeError, OSError, SyntaxError) as exc:
                log.warning("cached StationXML %s is unreadable (%s); fetching it again", path, exc)
        try:
            inv, _ = self._call(
                f"StationXML {network}.{station}",
                lambda c: c.get_stations(network=network, station=station, level=self.station_level),
            )
        except FDSNNoDataException:
            log.info("the server has no StationXML for %s.%s", network, station)
            return None
        except _GiveUp as exc:
            raise SourceError(
                f"StationXML of {network}.{station} from {_redact(self.base_url)}: {exc.reason}"
            ) from None
        with atomic_path(path) as tmp:
            inv.write(str(tmp), format="STATIONXML")
        return inv

    def get_inventory(self, network: str, station: str) -> Inventory | None:
        """The station's StationXML (``None`` when the server has none); raises :class:`SourceError`.

        A failure (after all retries) is remembered for the rest of the run, so the
        station's other arrivals fail at once instead of each retrying the server again.
        """
        key = (network, station)
        with self._inv_lock:
            if key in self._inventories:
                return self._inventories[key]
            if key in self._inv_failures:
                raise self._inv_failures[key]
        try:
            inv = self._load_inventory(network, station)
        except SourceError as exc:
            with self._inv_lock:
                self._inv_failures[key] = exc
            raise
        with self._inv_lock:
            self._inventories[key] = inv
        return inv

    def prefetch_inventories(self, stations: Iterable[tuple[str, str]]) -> None:
        """Fetch the missing StationXML of ``stations`` concurrently (errors surface later)."""
        todo = [s for s in dict.fromkeys(stations) if s not in self._inventories and s not in self._inv_failures]
        futures = [self._pool.submit(self.get_inventory, net, sta) for net, sta in todo]
        for fut in as_completed(futures):
            try:
                fut.result()
            except SourceError as exc:
                log.warning("%s", exc)

    # -- waveforms ------------------------------------------------------------------
    def _fetch_lines(self, requests: list[WindowRequest], attempts_before: int = 0) -> list[FetchResult]:
        """Fetch one bulk chunk; split it in halves on 413 or persistent failure."""
        bulk = [r.bulk_line() for r in requests]
        what = f"bulk of {len(requests)} lines starting {requests[0].network}.{requests[0].station}"
        try:
            stream, attempts = self._call(what, lambda c: _bulk(c, bulk, requests))
        except FDSNNoDataException as exc:
            n = attempts_before + getattr(exc, "attempts", 1)
            return [FetchResult(r, None, n, "no_data", "the data centre has no data (HTTP 204)") for r in requests]
        except _GiveUp as exc:
            n = attempts_before + exc.attempts
            if len(requests) > 1:
                half = len(requests) // 2
                log.info("splitting %s in halves (%s)", what, exc.reason)
                return self._fetch_lines(requests[:half], n) + self._fetch_lines(requests[half:], n)
            r = requests[0]
            return [FetchResult(r, None, n, "error", f"{r.network}.{r.station}.{r.location}.{r.channel}: {exc.reason}")]
        by_station = _by_station(stream)
        results = [
            FetchResult(r, _pick(by_station.get((r.network, r.station), []), r), attempts_before + attempts)
            for r in requests
        ]
        return self._complete_or_ask_again(results, what)

    def _complete_or_ask_again(self, results: list[FetchResult], what: str) -> list[FetchResult]:
        """Ask again for lines whose reply lacks records; give up on them only when replies keep differing.

        A reply can be damaged without any error: a body cut at a record boundary, or
        a record the miniSEED reader had to drop. Each line's reply is compared with
        what was asked for (:func:`is_complete`). Incomplete lines are requested
        again (with back-off): a complete reply, or one identical to the previous
        reply (the data centre really holds a gap), is accepted; when every retry
        gives a different incomplete answer the line is recorded as ``error`` with
        the reason and the count is logged.
        """
        final = {r.request.key: r for r in results}
        pending = {
            k: _signature(r.stream, r.request)
            for k, r in final.items()
            if r.status is None and not is_complete(r.stream, r.request)
        }
        for retry in range(1, self.max_retries + 1):
            if not pending:
                break
            delay = self.backoff.delay(retry)
            log.info(
                "%s: %d line(s) came back incomplete (records missing or unreadable); asking again (%d/%d) in %.1f s",
                what,
                len(pending),
                retry,
                self.max_retries,
                delay,
            )
            self._sleep(delay)
            # a line with nothing at all in a reply of several lines may have been cut off whole: it is
            # asked for alone, and only an empty answer to that single-line request confirms "no data"
            partial = [final[k].request for k, sig in pending.items() if sig]
            empty = [[final[k].request] for k, sig in pending.items() if not sig]
            for requests in ([partial] if partial else []) + empty:
                self._ask_again(requests, final, pending, what)
        for k in pending:
            r = final[k].request
            final[k] = FetchResult(
                r,
                None,
                final[k].attempts,
                "error",
                f"{r.network}.{r.station}.{r.location}.{r.channel}: {self.max_retries + 1} replies "
                "were incomplete and differed from each other (records missing or corrupt)",
            )
        if pending:
            log.warning(
                "%s: %d line(s) recorded as 'error': every reply was incomplete and they differed", what, len(pending)
            )
        return [final[r.request.key] for r in results]

    def _ask_again(self, requests: list[WindowRequest], final: dict, pending: dict, what: str) -> None:
        """One retry of ``requests`` (pending lines): update ``final``; drop the lines now settled from ``pending``.

        A line is settled by a complete reply, or by the same incomplete reply twice (the
        data centre really holds a gap); an empty line only when it was asked for alone.
        """
        try:
            stream, attempts = self._call(what, functools.partial(_bulk_of, requests=requests))
        except FDSNNoDataException as exc:
            stream, attempts = Stream(), getattr(exc, "attempts", 1)
        except _GiveUp as exc:
            for r in requests:
                final[r.key].attempts += exc.attempts
            return
        by_station = _by_station(stream)
        for r in requests:
            got = _pick(by_station.get((r.network, r.station), []), r)
            signature = _signature(got, r)
            final[r.key] = FetchResult(r, got, final[r.key].attempts + attempts)
            confirmed = signature == pending[r.key] and (bool(signature) or len(requests) == 1)
            if is_complete(got, r) or confirmed:
                del pending[r.key]
            else:
                pending[r.key] = signature

    def fetch(self, requests: list[WindowRequest]) -> Iterator[FetchResult]:
        """Yield a result per request as bulk chunks complete (up to ``max_concurrent`` in flight).

        The bulk requests are submitted at once (before the first result is
        consumed), so the caller can start the next batch while working on this one.
        """
        order = sorted(requests, key=lambda r: (r.network, r.station, r.location, r.starttime))
        chunks = [order[i : i + self.bulk_size] for i in range(0, len(order), self.bulk_size)]
        futures: list[Future] = [self._pool.submit(self._fetch_lines, chunk) for chunk in chunks]

        def results() -> Iterator[FetchResult]:
            for fut in as_completed(futures):
                yield from fut.result()

        return results()

    def close(self) -> None:
        """Stop the worker threads."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _bulk(client: Client, bulk: list[tuple], requests: list[WindowRequest]) -> Stream:
    """One bulk request: raw bytes first, so an empty HTTP 200 counts as no data, not as damage."""
    buf = io.BytesIO()
    client.get_waveforms_bulk(bulk, filename=buf)
    raw = buf.getvalue()
    if not raw:
        raise FDSNNoDataException("empty reply (HTTP 200 without data)")
    with _MSEED_LOCK:
        stream = read(io.BytesIO(raw), format="MSEED")
    return _checked(stream, requests)


def _bulk_of(client: Client, requests: list[WindowRequest]) -> Stream:
    """:func:`_bulk` for ``requests`` (their bulk lines built here)."""
    return _bulk(client, [r.bulk_line() for r in requests], requests)


def _by_station(stream: Stream) -> dict[tuple[str, str], list]:
    """Traces per (network, station) as ``(trace, channel, start_s, end_s)`` (POSIX seconds)."""
    out: dict[tuple[str, str], list] = {}
    for tr in stream:
        s = tr.stats
        out.setdefault((s.network, s.station), []).append((tr, s.channel, s.starttime.timestamp, s.endtime.timestamp))
    return out


def _signature(stream: Stream | None, request: WindowRequest) -> tuple:
    """What a reply holds for ``request``: per trace (channel, start, end, samples), sorted."""
    if stream is None:
        return ()
    return tuple(
        sorted(
            (tr.stats.channel, tr.stats.starttime.ns, tr.stats.endtime.ns, tr.stats.npts)
            for tr in stream
            if tr.stats.location == request.location or request.location == ""
        )
    )


def is_complete(stream: Stream | None, request: WindowRequest) -> bool:
    """True when ``stream`` covers ``request``'s span without gaps on every expected channel.

    A data centre answers with the whole records overlapping the span, so a
    complete reply covers it. Requests that do not list their ``channels`` count
    as complete.
    """
    if not request.channels:
        return True
    if stream is None:
        return False
    t0, t1 = request.starttime.timestamp, request.endtime.timestamp
    for channel in request.channels:
        spans = sorted(
            (tr.stats.starttime.timestamp, tr.stats.endtime.timestamp, tr.stats.delta)
            for tr in stream
            if tr.stats.channel == channel and tr.stats.endtime.timestamp >= t0 and tr.stats.starttime.timestamp <= t1
        )
        if not spans:
            return False
        reach = None
        for start, end, delta in spans:
            if reach is None:
                if start > t0 + delta / 2:
                    return False
                reach = end
            elif start <= reach + 1.5 * delta:
                reach = max(reach, end)
            elif start < t1:
                return False  # a gap inside the required span
        if reach < t1 - spans[-1][2] / 2:
            return False
    return True


def _checked(stream: Stream, requests: list[WindowRequest]) -> Stream:
    """``stream`` if every trace answers one of ``requests``; else raise :class:`CorruptReply` (retried)."""
    wanted = {(r.network, r.station) for r in requests}
    patterns = {r.channel for r in requests}
    for tr in stream:
        s = tr.stats
        if (s.network, s.station) not in wanted or not any(fnmatch.fnmatchcase(s.channel, p) for p in patterns):
            raise CorruptReply(f"reply holds unrequested trace {tr.id!r} (corrupted payload?)")
    return stream


def _pick(traces: list, request: WindowRequest) -> Stream:
    """The traces of the request's station (as ``(trace, channel, start_s, end_s)``) matching its
    channels and overlapping its span.

    Traces are shared, not copied or sliced (processing cuts what it needs and
    never modifies its input in place).
    """
    t0, t1 = request.starttime.timestamp, request.endtime.timestamp
    return Stream(
        [
            tr
            for tr, channel, start, end in traces
            if end >= t0 and start <= t1 and fnmatch.fnmatchcase(channel, request.channel)
        ]
    )
