"""Waveforms from a local SDS miniSEED archive plus one StationXML file.

The archive layout is SeisComP's ``YEAR/NET/STA/CHAN.D/NET.STA.LOC.CHAN.D.YEAR.DAY``
read with :class:`obspy.clients.filesystem.sds.Client`. The offline default run
reads the synthetic study (``resources/synthetic/sds`` + ``stations.xml``) this way,
exactly as it would read a user's archive.
"""

from __future__ import annotations

import http.client
import logging
import struct
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path

from obspy import Stream, read, read_inventory
from obspy.clients.filesystem.sds import Client as SDSClient
from obspy.core.util.obspy_types import ObsPyException
from obspy.io.mseed import InternalMSEEDError, InternalMSEEDWarning
from obspy.io.mseed.util import get_record_information

from seisembed.errors import InputError
from seisembed.waveforms.base import FetchResult, InMemoryInventory, WindowRequest, no_data

log = logging.getLogger(__name__)

#: what reading a damaged miniSEED file can raise
UNREADABLE = (
    InternalMSEEDError,
    ObsPyException,
    ValueError,
    TypeError,
    EOFError,
    OSError,
    zlib.error,
    struct.error,
    http.client.HTTPException,
)


#: libmseed's words (lower case) for a file that ends inside a record, and for bytes that are no record
TRUNCATION_MARKERS = ("unexpected end of file", "not enough to constitute a full seed record")
DAMAGE_MARKERS = ("not a seed record",)


def _warning_problem(caught: list[warnings.WarningMessage]) -> str | None:
    """What libmseed's warnings say about a file: truncated, damaged, or ``None``."""
    for kind, markers in (("truncated", TRUNCATION_MARKERS), ("damaged", DAMAGE_MARKERS)):
        for warning in caught:
            text = str(warning.message)
            if any(marker in text.lower() for marker in markers):
                return f"{kind} ({text.strip()})"
    return None


def _size_problem(path: Path) -> str | None:
    """``"truncated (...)"`` when the file's records do not end at its last byte, else ``None``.

    A file of fixed-length records (the usual case) is a whole number of them; only when it
    is not are the records walked (a file may mix record lengths), which finds the record
    cut short. libmseed reads such a file without a word when the cut leaves less than a
    record header.
    """
    size = path.stat().st_size
    try:
        first = get_record_information(str(path))
    except UNREADABLE:
        return None  # the reader's own error says what is wrong
    if size % first["record_length"] == 0:
        return None
    offset = 0
    while offset < size:
        try:
            length = get_record_information(str(path), offset=offset)["record_length"]
        except UNREADABLE:
            length = 0
        if not length or offset + length > size:
            return (
                f"truncated (the record at byte {offset} is cut short: the file has {size} bytes, "
                f"whole records would need {offset + (length or first['record_length'])})"
            )
        offset += length
    return None


def read_checked_miniseed(path: str | Path, **kwargs) -> tuple[Stream, str | None]:
    """Read one miniSEED file with ObsPy; return the stream and what is wrong with the file, if anything.

    The problem is ``"truncated (...)"`` (the file ends inside a record: libmseed drops the
    rest with only a warning) or ``"damaged (...)"`` (bytes that are no record were
    skipped), else ``None``; other warnings of the reader are logged naming the file.
    ``kwargs`` go to :func:`obspy.read`. Raises what the reader raises (:data:`UNREADABLE`).
    """
    path = Path(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InternalMSEEDWarning)
        stream = read(str(path), format="MSEED", **kwargs)
    problem = _warning_problem(caught) or _size_problem(path)
    if problem is None:
        for warning in caught:
            log.warning("%s: %s", path, warning.message)
    return stream, problem


def _covers(stream, start, end) -> bool:
    """Whether the traces of ``stream`` reach from ``start`` to ``end`` (within one sample)."""
    if not len(stream):
        return False
    step = max(1.0 / float(tr.stats.sampling_rate) for tr in stream)
    first = min(tr.stats.starttime for tr in stream)
    last = max(tr.stats.endtime for tr in stream)
    return first <= start + step and last >= end - step


class SDSSource(InMemoryInventory):
    """Read windows from ``root`` (an SDS tree) with station metadata from ``inventory_path``."""

    def __init__(self, root: str | Path, inventory_path: str | Path):
        self.root = Path(root)
        self.inventory_path = Path(inventory_path)
        if not self.root.is_dir():
            raise InputError(f"SDS archive {self.root} does not exist (config key waveforms.sds.root)")
        if not self.inventory_path.is_file():
            raise InputError(f"StationXML {self.inventory_path} does not exist (config key waveforms.sds.inventory)")
        try:
            inventory = read_inventory(str(self.inventory_path))
        except (ValueError, TypeError, OSError, SyntaxError) as exc:
            raise InputError(f"StationXML {self.inventory_path} is unreadable: {exc}") from exc
        super().__init__(inventory)  # .inventory: the whole StationXML, as read at start
        self._client = SDSClient(str(self.root))

    def describe(self) -> str:
        """One-line description (archive and StationXML paths)."""
        return f"sds {self.root} + {self.inventory_path}"

    def fetch(self, requests: list[WindowRequest]) -> Iterator[FetchResult]:
        """Read each request's records from the archive (one pass, in request order)."""
        for req in requests:
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", InternalMSEEDWarning)
                    st = self._client.get_waveforms(
                        req.network, req.station, req.location, req.channel, req.starttime, req.endtime
                    )
            except UNREADABLE as exc:
                yield FetchResult(
                    req,
                    None,
                    1,
                    "error",
                    f"unreadable miniSEED for {req.network}.{req.station}.{req.location}."
                    f"{req.channel} under {self.root}: {type(exc).__name__}: {exc}",
                )
                continue
            if _warning_problem(caught):
                # a damaged day file: refuse the request only when what was read does not reach over
                # the window (a pick far from the cut is still whole; gaps inside are the gap QC's)
                damaged = self._damaged_files(req, caught)
                if not _covers(st, req.starttime, req.endtime):
                    yield FetchResult(req, None, 1, "error", damaged)
                    continue
                log.warning("%s; the window %s - %s was read whole", damaged, req.starttime, req.endtime)
                caught = []
            for warning in caught:
                log.warning(
                    "%s.%s.%s.%s under %s: %s",
                    req.network,
                    req.station,
                    req.location,
                    req.channel,
                    self.root,
                    warning.message,
                )
            if not len(st):
                yield no_data(req, self.root)
                continue
            yield FetchResult(req, st, 1)

    def _damaged_files(self, req: WindowRequest, caught: list[warnings.WarningMessage]) -> str:
        """QC reason naming the truncated or damaged day file(s) of ``req`` (read again to find them)."""
        named = []
        try:
            candidates = self._client._get_filenames(  # noqa: SLF001 - the client's own file list for a request
                req.network, req.station, req.location, req.channel, req.starttime, req.endtime
            )
        except (AttributeError, TypeError, ValueError):
            candidates = []
        for name in candidates:
            try:
                problem = read_checked_miniseed(name, headonly=True)[1]
            except UNREADABLE:
                continue
            if problem:
                named.append(f"{name} is {problem}")
        if not named:
            named.append(f"a day file under {self.root} is {_warning_problem(caught)}")
        return (
            f"miniSEED for {req.network}.{req.station}.{req.location}.{req.channel}: {'; '.join(named)}; "
            "replace or repair the file"
        )

    def close(self) -> None:
        """Nothing to release."""
