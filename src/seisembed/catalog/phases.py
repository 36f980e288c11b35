"""Which seismic phases count as a P-type first arrival.

A phase is P-type when its name starts with ``P`` or ``p`` (``P``, ``Pn``, ``Pg``,
``Pb``, ``P*``, ``PKP``, ``Pdiff``, ``PcP``, ``pP`` ...) and has no S leg (no
``S``/``s`` anywhere: ``PS``, ``PcS``, ``pS`` are converted phases, not P).
ISC's unidentified/generic names ``x`` and S phases (``S``, ``Sn``, ``Sg``, ``Lg``)
never count.
"""

from __future__ import annotations

import re

import pandas as pd

#: a P-type phase name: starts with P/p, no S/s leg anywhere
P_PHASE_REGEX = re.compile(r"^[Pp][^Ss]*$")


def is_p_phase(phase: str | None) -> bool:
    """True when ``phase`` (e.g. ``"Pn"``) is a P-type phase name."""
    return bool(phase) and P_PHASE_REGEX.match(str(phase).strip()) is not None


def p_phase_mask(phases: pd.Series) -> pd.Series:
    """Boolean mask of P-type phase names in a string Series (missing -> False)."""
    return phases.fillna("").astype(str).str.strip().str.match(P_PHASE_REGEX.pattern).fillna(False).astype(bool)
