"""Counted skips: every row or event the catalog stage drops, with a reason.

Bad input that is not fatal (an S phase, a duplicate row, a time that does not
parse, a pick at an unknown station, an event without a usable label) is never
dropped silently: it is counted under a short reason and the first few examples
are kept for the log and ``summary.json``.
"""

from __future__ import annotations

import logging
from collections import Counter

log = logging.getLogger(__name__)

#: examples kept per reason
MAX_EXAMPLES = 5


class Skips:
    """Counter of skipped rows/events by reason, with a few examples each.

    >>> skips = Skips()
    >>> skips.add("duplicate row", 2, example="row 7: event 1 station ABC")
    >>> skips.counts["duplicate row"]
    2
    """

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, list[str]] = {}

    def add(
        self, reason: str, count: int = 1, *, example: str | None = None, examples: list[str] | None = None
    ) -> None:
        """Count ``count`` skips under ``reason`` (no-op for ``count == 0``)."""
        if count <= 0:
            return
        self.counts[reason] += int(count)
        kept = self.examples.setdefault(reason, [])
        for item in ([example] if example else []) + list(examples or []):
            if len(kept) < MAX_EXAMPLES:
                kept.append(str(item))

    def update(self, other: Skips) -> None:
        """Add every count and example of ``other``."""
        for reason, count in other.counts.items():
            self.add(reason, count, examples=other.examples.get(reason, []))

    def total(self) -> int:
        """Number of skips over all reasons."""
        return int(sum(self.counts.values()))

    def as_dict(self) -> dict:
        """JSON-able ``{reason: {"count": n, "examples": [...]}}``, sorted by reason."""
        return {
            reason: {"count": int(self.counts[reason]), "examples": list(self.examples.get(reason, []))}
            for reason in sorted(self.counts)
        }

    def log(self, logger: logging.Logger = log, prefix: str = "") -> None:
        """Log one warning line per reason."""
        for reason in sorted(self.counts):
            examples = self.examples.get(reason, [])
            shown = f" (e.g. {'; '.join(examples[:3])})" if examples else ""
            logger.warning("%sskipped %d: %s%s", prefix, self.counts[reason], reason, shown)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Skips({dict(self.counts)})"
