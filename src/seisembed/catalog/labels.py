"""Source-type labels: ISC event type codes, QuakeML event types, the depth-0 rule.

ISC event type codes (two letters: certainty ``k`` known / ``s`` suspected, then
the kind) map to the arrivals table's ``source_type`` as follows:

==========  ===================================  ===============================
code        meaning (QuakeML event_type)          ``source_type``
==========  ===================================  ===============================
ke, se      earthquake                           ``earthquake``
de, fe      earthquake (damaging / felt)         ``earthquake``
km, sm      mining explosion                     ``explosion``
kh, sh      chemical explosion                   ``explosion``
kx, sx      experimental explosion               ``explosion``
kn, sn      nuclear explosion                    ``explosion``
kr, sr      rock burst                           dropped ("other", counted)
ki, si      induced or triggered event           dropped ("other", counted)
ls          landslide                            dropped ("other", counted)
uk, ""      unknown                              dropped (counted)
==========  ===================================  ===============================

Suspected explosions (``sm``, ``sh``, ``sx``, ``sn``) are explosions only with
``suspected_explosions=True`` (config ``catalog.suspected_explosions``); otherwise
they are dropped as "suspected explosion". Suspected earthquakes (``se``) are
earthquakes. Rock bursts and induced events are neither a natural earthquake nor
an explosion: they are dropped rather than forced into a class.

``label_rule="depth0"`` reproduces the paper authors' proxy: explosion when the
catalogue depth is exactly 0 km, else earthquake; ``source_type_raw`` is then
``"depth0"``. ``label_rule="auto"`` uses event types when the catalogue has any,
else the depth-0 rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seisembed.catalog.skips import Skips
from seisembed.errors import ConfigError

LABEL_RULES = ("event_type", "depth0", "auto")

#: ISC code -> (QuakeML event_type, event_type_certainty); as obspy.io.iaspei
ISC_EVENT_TYPES: dict[str, tuple[str | None, str | None]] = {
    "uk": (None, None),
    "de": ("earthquake", "known"),
    "fe": ("earthquake", "known"),
    "ke": ("earthquake", "known"),
    "se": ("earthquake", "suspected"),
    "kr": ("rock burst", "known"),
    "sr": ("rock burst", "suspected"),
    "ki": ("induced or triggered event", "known"),
    "si": ("induced or triggered event", "suspected"),
    "km": ("mining explosion", "known"),
    "sm": ("mining explosion", "suspected"),
    "kh": ("chemical explosion", "known"),
    "sh": ("chemical explosion", "suspected"),
    "kx": ("experimental explosion", "known"),
    "sx": ("experimental explosion", "suspected"),
    "kn": ("nuclear explosion", "known"),
    "sn": ("nuclear explosion", "suspected"),
    "ls": ("landslide", "known"),
}

EARTHQUAKE_CODES = frozenset({"ke", "se", "de", "fe"})
KNOWN_EXPLOSION_CODES = frozenset({"km", "kh", "kx", "kn"})
SUSPECTED_EXPLOSION_CODES = frozenset({"sm", "sh", "sx", "sn"})
OTHER_CODES = frozenset({"kr", "sr", "ki", "si", "ls"})

#: QuakeML event types without an ISC code of their own -> the nearest kind letter
_QUAKEML_KIND = {
    "earthquake": "e",
    "explosion": "x",
    "controlled explosion": "x",
    "experimental explosion": "x",
    "industrial explosion": "h",
    "chemical explosion": "h",
    "quarry blast": "m",
    "mining explosion": "m",
    "nuclear explosion": "n",
    "rock burst": "r",
    "induced or triggered event": "i",
    "landslide": "ls",
}


def quakeml_to_isc_code(event_type: str | None, certainty: str | None = None) -> str:
    """ISC code (``"ke"``, ``"sm"``...) of a QuakeML ``event_type`` and certainty.

    ``certainty`` ``"suspected"`` gives ``s*``; anything else (``"known"``, ``None``)
    gives ``k*``. Unknown or missing event types give ``"uk"``.

    >>> quakeml_to_isc_code("mining explosion", "suspected")
    'sm'
    >>> quakeml_to_isc_code("quarry blast")
    'km'
    """
    if event_type is None:
        return "uk"
    kind = _QUAKEML_KIND.get(str(event_type).strip().lower())
    if kind is None:
        return "uk"
    if kind == "ls":
        return "ls"
    return ("s" if str(certainty or "").strip().lower() == "suspected" else "k") + kind


def check_label_rule(label_rule: str) -> str:
    """Return ``label_rule`` or raise :class:`ConfigError` naming ``catalog.label_rule``."""
    if label_rule not in LABEL_RULES:
        raise ConfigError(f"config key 'catalog.label_rule': {label_rule!r} is not one of {', '.join(LABEL_RULES)}")
    return label_rule


def source_type_from_code(code: str, *, suspected_explosions: bool = True) -> str | None:
    """``"earthquake"``, ``"explosion"`` or ``None`` (no usable label) for an ISC code."""
    code = (code or "").strip().lower()
    if code in EARTHQUAKE_CODES:
        return "earthquake"
    if code in KNOWN_EXPLOSION_CODES:
        return "explosion"
    if code in SUSPECTED_EXPLOSION_CODES and suspected_explosions:
        return "explosion"
    return None


def _unusable_reason(code: str, suspected_explosions: bool) -> str:
    """The skip reason (``events: ...``) of an event whose ISC code gives no label."""
    code = (code or "").strip().lower()
    if code in SUSPECTED_EXPLOSION_CODES and not suspected_explosions:
        return "events: suspected explosion (catalog.suspected_explosions is false)"
    if code in OTHER_CODES:
        return f"events: event type {code} ({ISC_EVENT_TYPES[code][0]}) is neither earthquake nor explosion"
    if code in ("", "uk"):
        return "events: no event type in the catalogue"
    return f"events: event type code {code!r} is not an ISC code"


def label_events(
    events: pd.DataFrame,
    *,
    label_rule: str,
    suspected_explosions: bool = True,
    skips: Skips | None = None,
    source: str = "catalogue",
) -> pd.DataFrame:
    """Add ``source_type`` and ``source_type_raw`` to a one-row-per-event frame.

    ``events`` needs ``source_id``, ``source_depth_km`` and ``event_type_code``
    (ISC code or ``""``). Events without a usable label are removed and counted in
    ``skips`` (one count per event). ``label_rule="event_type"`` on a catalogue with
    no event type at all raises :class:`ConfigError` (use ``depth0``).
    """
    check_label_rule(label_rule)
    skips = Skips() if skips is None else skips
    codes = events["event_type_code"].fillna("").astype(str).str.strip().str.lower()
    has_types = bool((codes != "").any())
    rule = label_rule
    if rule == "auto":
        rule = "event_type" if has_types else "depth0"
    if rule == "event_type" and not has_types and len(events):
        raise ConfigError(
            f"config key 'catalog.label_rule' is 'event_type' but {source} has no event type column or values "
            "(the ISC 26-column CSV layout and the committed 2014 catalogue have none); "
            "set catalog.label_rule: depth0 to label by the depth-0 rule, or use a catalogue with event types"
        )
    out = events.copy()
    if rule == "depth0":
        depth = pd.to_numeric(out["source_depth_km"], errors="coerce")
        bad = depth.isna()
        if bad.any():
            skips.add(
                "events: no depth for the depth-0 rule",
                int(bad.sum()),
                examples=[f"event {e}" for e in out.loc[bad, "source_id"][:5]],
            )
            out, depth = out[~bad], depth[~bad]
        out["source_type"] = np.where(depth.to_numpy() == 0.0, "explosion", "earthquake")
        out["source_type_raw"] = "depth0"
        return out
    out["source_type_raw"] = codes
    labels = codes.map(lambda c: source_type_from_code(c, suspected_explosions=suspected_explosions))
    unusable = labels.isna()
    for code, group in out[unusable].groupby(codes[unusable]):
        skips.add(
            _unusable_reason(code, suspected_explosions),
            len(group),
            examples=[f"event {e}" for e in group["source_id"][:5]],
        )
    out = out[~unusable].copy()
    out["source_type"] = labels[~unusable].astype(str)
    return out
