"""Client of ISC's STNARRIVALS CSV web service, polite and resumable.

The study period is cut into time slices of ``slice_days``; each slice is one
HTTP GET of ``<base_url>?request=STNARRIVALS&out_format=CSV&...``. The client

* sends **one request at a time**, with a pause of ``pause_s`` between requests;
* retries a request ``max_retries`` times with exponential back-off
  (``backoff_s``, doubling) on HTTP 5xx/408/429, connection errors, time-outs and
  ISC's busy page ("Sorry..."), and on replies that are not CSV at all;
* **halves** a slice when the reply says the request was too large, when it has
  ``max_reply_rows`` data rows or more (ISC caps replies; a capped reply is
  incomplete), or when it keeps timing out (a slow, heavy query), down to
  ``min_slice_hours``; below that it fails with an error naming the slice;
* fails at once on other HTTP 4xx (e.g. a wrong ``base_url``);
* caches each finished slice's raw reply under
  ``<cache_dir>/<query-key>/<start>_<end>.csv`` with an atomic write (temporary
  file + :func:`os.replace`). ``<query-key>`` is a hash of every query parameter
  except the times, so a changed query never reuses old replies. A rerun, or a
  run after an interruption, reads finished slices from the cache and requests
  only the missing ones; a slice that was halved leaves a ``.split`` marker so
  the rerun goes straight to its halves. Empty slices ("No events were found")
  are cached too.

Only :mod:`urllib` from the standard library is used.
"""

from __future__ import annotations

import csv
import hashlib
import http.client
import io
import json
import logging
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from seisembed.atomic import write_text_atomic
from seisembed.catalog.isc_csv import BUSY_MARKERS, extract_csv_text, parse_isc_csv_text
from seisembed.catalog.skips import Skips
from seisembed.config import section
from seisembed.errors import ConfigError, InputError, SeisembedError
from seisembed.retry import Backoff, RetriesExhausted, call_with_retries
from seisembed.version import __version__

log = logging.getLogger(__name__)

#: phrases of an ISC reply saying the request asked for too much
TOO_LARGE_MARKERS = (
    "too many",
    "too large",
    "exceeds the maximum",
    "exceeded the maximum",
    "reduce the size",
    "limit your search",
)

#: HTTP statuses worth retrying
TRANSIENT_HTTP = frozenset({408, 429, 500, 502, 503, 504})


class ISCServiceError(SeisembedError):
    """The ISC web service failed in a way retries and halving could not fix."""


class _Transient(Exception):
    """A failure worth retrying (busy page, 5xx, connection error, malformed reply)."""


class _TimedOut(_Transient):
    """A time-out: retried, and when retries run out the slice is halved."""


class _TooLarge(Exception):
    """The reply says (or looks like) the slice asked for too much: halve it."""


@dataclass(frozen=True)
class ISCSettings:
    """The validated ``catalog.isc`` config section (units in the names; defaults in the schema)."""

    base_url: str
    slice_days: float
    min_slice_hours: float
    pause_s: float
    timeout_s: float
    max_retries: int
    backoff_s: float
    backoff_max_s: float
    cache_dir: str
    phases: str
    max_reply_rows: int
    time_defining_only: bool
    extra_params: dict

    @classmethod
    def from_config(cls, values: dict | None) -> ISCSettings:
        """Build from the ``catalog.isc`` dict as given (validated; missing keys take the schema's defaults)."""
        return cls(**section("catalog.isc", values))


@dataclass(frozen=True)
class TimeSlice:
    """A half-open time interval ``[start, end)`` of origin times (UTC)."""

    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def name(self) -> str:
        """File-name-safe label, e.g. ``20140101T000000_20140107T000000``."""
        return f"{self.start:%Y%m%dT%H%M%S}_{self.end:%Y%m%dT%H%M%S}"

    def halves(self) -> tuple[TimeSlice, TimeSlice]:
        """The two halves (split at the midpoint, rounded to whole seconds)."""
        middle = (self.start + (self.end - self.start) / 2).floor("s")
        return TimeSlice(self.start, middle), TimeSlice(middle, self.end)

    def hours(self) -> float:
        """Length in hours."""
        return (self.end - self.start) / pd.Timedelta(hours=1)


def plan_slices(starttime, endtime, slice_days: float) -> list[TimeSlice]:
    """Consecutive slices of ``slice_days`` covering ``[starttime, endtime)`` (last one shorter)."""
    start = (
        pd.Timestamp(starttime, tz="UTC")
        if pd.Timestamp(starttime).tzinfo is None
        else pd.Timestamp(starttime).tz_convert("UTC")
    )
    end = (
        pd.Timestamp(endtime, tz="UTC")
        if pd.Timestamp(endtime).tzinfo is None
        else pd.Timestamp(endtime).tz_convert("UTC")
    )
    step = pd.Timedelta(days=slice_days)
    slices = []
    while start < end:
        stop = min(start + step, end)
        slices.append(TimeSlice(start, stop))
        start = stop
    return slices


def query_params(catalog: dict, settings: ISCSettings) -> dict[str, str]:
    """ISC query parameters of a study, without the times (see :func:`slice_params`).

    ``catalog`` is the validated ``catalog`` section.
    """
    params = {
        "request": "STNARRIVALS",
        "out_format": "CSV",
        "ttime": "on",
        "stnsearch": "GLOBAL",
        "searchshape": "RECT",
        "bot_lat": str(catalog["min_latitude"]),
        "top_lat": str(catalog["max_latitude"]),
        "left_lon": str(catalog["min_longitude"]),
        "right_lon": str(catalog["max_longitude"]),
        "phaselist": settings.phases,
        "req_mag_type": "Any",
        "req_mag_agcy": "prime",
    }
    if settings.time_defining_only:
        params["tdef"] = "on"
    if catalog["min_magnitude"] is not None:
        params["min_mag"] = str(catalog["min_magnitude"])
    if catalog["max_magnitude"] is not None:
        params["max_mag"] = str(catalog["max_magnitude"])
    params.update({str(k): str(v) for k, v in settings.extra_params.items()})
    return params


def slice_params(time_slice: TimeSlice) -> dict[str, str]:
    """ISC start/end parameters of one slice."""
    end = time_slice.end  # ISC's end is inclusive: neighbours overlap at one instant, duplicates are removed
    return {
        "start_year": f"{time_slice.start.year}",
        "start_month": f"{time_slice.start.month}",
        "start_day": f"{time_slice.start.day}",
        "start_time": f"{time_slice.start:%H:%M:%S}",
        "end_year": f"{end.year}",
        "end_month": f"{end.month}",
        "end_day": f"{end.day}",
        "end_time": f"{end:%H:%M:%S}",
    }


def query_key(base_url: str, params: dict[str, str]) -> str:
    """Short hash naming the cache folder of one query (base URL + parameters)."""
    blob = json.dumps({"base_url": base_url, "params": params}, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def _count_data_rows(text: str) -> int:
    """Number of data rows in the CSV part of a reply."""
    csv_text = extract_csv_text(text)
    return max(0, len([line for line in csv_text.splitlines() if line.strip()]) - 1) if csv_text else 0


def _check_complete(text: str) -> int:
    """Data rows of a reply; raise ``_Transient`` when it looks cut off or malformed.

    An HTML reply must close its ``<pre>`` block, and every data row must have the
    header's number of fields (a reply cut mid-transfer must not be cached).
    """
    lowered = text.lower()
    if "<pre" in lowered and "</pre>" not in lowered:
        raise _Transient("truncated reply (no closing </pre>)")
    try:
        csv_text = extract_csv_text(text)
    except InputError as exc:
        raise _Transient(f"malformed reply: {exc}") from exc
    if not csv_text:
        return 0
    try:
        rows = list(csv.reader(io.StringIO(csv_text)))
    except csv.Error as exc:  # e.g. a quote left open: the field runs past the csv field limit
        raise _Transient(f"malformed reply: {exc}") from exc
    rows = [r for r in rows if r and "".join(r).strip()]
    width = len(rows[0])
    bad = [i for i, r in enumerate(rows[1:], start=2) if len(r) != width]
    if bad:
        raise _Transient(f"malformed reply: {len(bad)} CSV line(s) without {width} fields (first: CSV line {bad[0]})")
    return len(rows) - 1


def classify_reply(text: str, *, max_rows: int) -> str:
    """Check a reply: return ``"ok"`` or raise ``_Transient``/``_TooLarge``.

    Busy page -> transient; "too many"/row cap -> too large; no CSV header and no
    "no data" message, a cut-off HTML reply or ragged CSV rows -> transient
    (malformed, retried).
    """
    lowered = text.lower()
    head = lowered[:5000]
    if any(marker.lower() in head for marker in BUSY_MARKERS) and "eventid" not in head:
        raise _Transient("ISC busy page ('Sorry...')")
    if any(marker in lowered for marker in TOO_LARGE_MARKERS) and "eventid" not in head:
        raise _TooLarge("the reply says the request is too large")
    rows = _check_complete(text)
    if max_rows and rows >= max_rows:
        raise _TooLarge(
            f"the reply has {rows} rows, at or above catalog.isc.max_reply_rows={max_rows} (ISC caps replies)"
        )
    return "ok"


class ISCClient:
    """Fetch ISC STNARRIVALS slices one at a time, with retries, halving and a cache.

    ``sleep`` and ``opener`` are injectable for tests; by default
    :func:`time.sleep` and :func:`urllib.request.urlopen`.
    """

    def __init__(
        self,
        settings: ISCSettings,
        params: dict[str, str],
        *,
        sleep: Callable[[float], None] = time.sleep,
        opener: Callable | None = None,
        seed: int = 0,
    ) -> None:
        self.settings = settings
        self.params = params
        self.sleep = sleep
        self.opener = opener or urllib.request.urlopen
        self.cache = Path(settings.cache_dir) / query_key(settings.base_url, params)
        self.backoff = Backoff(settings.backoff_s, settings.backoff_max_s, settings.max_retries, seed=seed)
        self.requests_made = 0
        self._last_request: float | None = None

    # -- one HTTP request -------------------------------------------------
    def _url(self, time_slice: TimeSlice) -> str:
        query = urllib.parse.urlencode({**self.params, **slice_params(time_slice)})
        return f"{self.settings.base_url}?{query}"

    def _pause(self) -> None:
        """Sleep so that consecutive requests are at least ``pause_s`` apart."""
        if self._last_request is not None and self.settings.pause_s > 0:
            wait = self.settings.pause_s - (time.monotonic() - self._last_request)
            if wait > 0:
                self.sleep(wait)

    def _request_once(self, url: str) -> str:
        """One GET; raise ``_Transient``/``_TimedOut`` or :class:`ISCServiceError`."""
        self._pause()
        self.requests_made += 1
        try:
            request = urllib.request.Request(url, headers={"User-Agent": f"seisembed/{__version__} (catalog stage)"})
        except ValueError as exc:  # e.g. no http(s):// scheme
            raise ConfigError(
                f"config key 'catalog.isc.base_url': {self.settings.base_url!r} is not a usable URL ({exc})"
            ) from exc
        try:
            with self.opener(request, timeout=self.settings.timeout_s) as reply:
                body = reply.read()
                charset = reply.headers.get_content_charset() or "utf-8"
        except urllib.error.HTTPError as exc:
            if exc.code in TRANSIENT_HTTP:
                raise _Transient(f"HTTP {exc.code} {exc.reason}") from exc
            raise ISCServiceError(
                f"ISC web service answered HTTP {exc.code} {exc.reason} for {url}; check config key 'catalog.isc.base_url'"
            ) from exc
        except TimeoutError as exc:
            raise _TimedOut(f"no reply within {self.settings.timeout_s} s (catalog.isc.timeout_s)") from exc
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, (TimeoutError, socket.timeout)):
                raise _TimedOut(f"no reply within {self.settings.timeout_s} s (catalog.isc.timeout_s)") from exc
            if "unknown url type" in str(exc.reason):
                raise ConfigError(
                    f"config key 'catalog.isc.base_url': {self.settings.base_url!r} is not an http(s) URL ({exc.reason})"
                ) from exc
            raise _Transient(f"connection failed: {exc.reason}") from exc
        except (ConnectionError, OSError) as exc:
            raise _Transient(f"connection failed: {exc}") from exc
        except http.client.HTTPException as exc:  # e.g. IncompleteRead: the reply was cut off
            raise _Transient(f"broken reply: {type(exc).__name__}: {exc}") from exc
        finally:
            self._last_request = time.monotonic()
        try:
            return body.decode(charset, errors="replace")
        except LookupError:
            return body.decode("utf-8", errors="replace")

    def _fetch_checked(self, url: str) -> str:
        text = self._request_once(url)
        classify_reply(text, max_rows=self.settings.max_reply_rows)
        return text

    def fetch_text(self, time_slice: TimeSlice) -> str:
        """The checked reply for one slice, retrying transient faults with back-off.

        Raises ``_TooLarge`` (caller halves), ``_TimedOut`` when time-outs persist
        (caller halves) or :class:`ISCServiceError`.
        """
        url = self._url(time_slice)
        try:
            text, _ = call_with_retries(
                lambda: self._fetch_checked(url),
                policy=self.backoff,
                what=f"ISC slice {time_slice.name}",
                retry_on=(_Transient,),
                sleep=self.sleep,
                logger=log,
                level=logging.WARNING,
            )
        except RetriesExhausted as exc:
            if isinstance(exc.last, _TimedOut):
                raise exc.last from None
            raise ISCServiceError(
                f"ISC slice {time_slice.start} to {time_slice.end}: still failing after "
                f"{self.settings.max_retries} retries: {exc.last}; URL {url}"
            ) from None
        return text

    # -- slices, halving and the cache ------------------------------------
    def _cache_file(self, time_slice: TimeSlice) -> Path:
        return self.cache / f"{time_slice.name}.csv"

    def _split_marker(self, time_slice: TimeSlice) -> Path:
        return self.cache / f"{time_slice.name}.split"

    def fetch_slice(self, time_slice: TimeSlice) -> list[Path]:
        """Cached reply files covering ``time_slice`` (fetching, or halving, as needed)."""
        cached = self._cache_file(time_slice)
        if cached.is_file():
            log.debug("ISC slice %s: cached", time_slice.name)
            return [cached]
        if not self._split_marker(time_slice).is_file():
            try:
                text = self.fetch_text(time_slice)
            except (_TooLarge, _TimedOut) as exc:
                if time_slice.hours() / 2 < self.settings.min_slice_hours:
                    raise ISCServiceError(
                        f"ISC slice {time_slice.start} to {time_slice.end}: {exc}, and halving would go below "
                        f"catalog.isc.min_slice_hours={self.settings.min_slice_hours}; narrow the query (box, magnitudes, phases) or raise the limits"
                    ) from exc
                log.info("ISC slice %s: %s; halving", time_slice.name, exc)
                write_text_atomic(self._split_marker(time_slice), f"{exc}\n")
            else:
                write_text_atomic(cached, text)
                log.info("ISC slice %s: %d rows fetched", time_slice.name, _count_data_rows(text))
                return [cached]
        first, second = time_slice.halves()
        return self.fetch_slice(first) + self.fetch_slice(second)

    def fetch(self, slices: list[TimeSlice]) -> list[Path]:
        """Reply files of every slice, in time order; logs progress."""
        files: list[Path] = []
        for number, time_slice in enumerate(slices, start=1):
            before = self.requests_made
            files.extend(self.fetch_slice(time_slice))
            made = self.requests_made - before
            log.info(
                "ISC progress: slice %d/%d (%s to %s) done%s",
                number,
                len(slices),
                time_slice.start.date(),
                time_slice.end.date(),
                "" if made else " (cached)",
            )
        return files


def _drop_slice_overlap(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate the slices' raw rows, dropping rows repeated from an *earlier slice*.

    ISC's end time is inclusive, so an event at the instant two slices share comes
    in both replies. Only such repeats are removed here (logged); a row repeated
    within one reply is kept, so that :func:`~seisembed.catalog.assemble.assemble_arrivals`
    counts it as a duplicate like any other bad input.
    """
    frames = [f.assign(_slice=i) for i, f in enumerate(frames) if len(f)]
    if not frames:
        return parse_isc_csv_text("No events were found", origin="ISC")
    raw = pd.concat(frames, ignore_index=True)
    data = raw.drop(columns=["row", "_slice"])
    repeated = data.duplicated() & ~data.assign(_slice=raw["_slice"]).duplicated()
    if repeated.any():
        log.info("ISC: %d row(s) repeated in neighbouring slices (shared end instant) removed", int(repeated.sum()))
    return raw[~repeated].drop(columns="_slice").reset_index(drop=True)


def fetch_isc_raw(
    catalog: dict,
    *,
    skips: Skips | None = None,
    station_networks: dict[str, str] | None = None,
    client_kwargs: dict | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Fetch (or read from cache) every slice of the study and parse them into raw rows.

    Returns the raw rows (:data:`~seisembed.catalog.assemble.RAW_COLUMNS`) and a
    record for the summary (query, slices, requests made, cache folder).
    """
    skips = Skips() if skips is None else skips
    catalog = section("catalog", catalog)
    settings = ISCSettings.from_config(catalog["isc"])
    params = query_params(catalog, settings)
    client = ISCClient(settings, params, **(client_kwargs or {}))
    slices = plan_slices(catalog["starttime"], catalog["endtime"], settings.slice_days)
    log.info(
        "ISC: %d slice(s) of %.3g day(s) from %s to %s; cache %s",
        len(slices),
        settings.slice_days,
        catalog["starttime"],
        catalog["endtime"],
        client.cache,
    )
    files = client.fetch(slices)
    frames = [
        parse_isc_csv_text(
            path.read_text(encoding="utf-8"),
            origin=str(path),
            default_network_code=catalog["default_network_code"],
            station_networks=station_networks,
            skips=skips,
        )
        for path in files
    ]
    raw = _drop_slice_overlap(frames)
    record = {
        "base_url": settings.base_url,
        "params": params,
        "slices": len(files),
        "requests": client.requests_made,
        "cache_dir": str(client.cache),
    }
    return raw, record
