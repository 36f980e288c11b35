"""One retry policy for every network client (ISC web service, FDSN data centres).

A :class:`Backoff` says how long to wait before retry number *n*: the first delay
doubles on each retry, is capped, and is multiplied by a jitter factor drawn
uniformly from ``jitter`` (seeded, so a run's timing is reproducible and parallel
clients do not retry in lock-step). :func:`call_with_retries` runs a function
under that policy: failures of the ``retry_on`` types are retried, ``fatal`` ones
are raised at once, and when the retries run out :class:`RetriesExhausted`
carries the last failure and the number of attempts made.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = ["Backoff", "RetriesExhausted", "call_with_retries", "describe_exception"]

T = TypeVar("T")


class RetriesExhausted(Exception):
    """Every attempt failed; ``last`` is the final failure, ``attempts`` how many were made."""

    def __init__(self, what: str, last: BaseException, attempts: int):
        super().__init__(f"{what}: failed {attempts} time(s), last: {describe_exception(last)}")
        self.what, self.last, self.attempts = what, last, attempts


def describe_exception(exc: BaseException) -> str:
    """``Type: first line of the message`` (messages of HTTP errors can run to pages)."""
    text = str(exc)
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")


@dataclass
class Backoff:
    """Exponential back-off with a cap and seeded jitter.

    ``first_s``: delay before the first retry (s); ``max_s``: longest delay (s);
    ``max_retries``: retries after the first attempt; ``jitter``: range of the
    random factor applied to each delay; ``seed``: seeds that factor.
    """

    first_s: float
    max_s: float
    max_retries: int
    jitter: tuple[float, float] = (0.5, 1.0)
    seed: int = 0
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        with self._lock:
            factor = self._rng.uniform(*self.jitter)
        return min(self.max_s, self.first_s * 2 ** (retry - 1)) * factor


def call_with_retries(
    func: Callable[[], T],
    *,
    policy: Backoff,
    what: str,
    retry_on: tuple[type[BaseException], ...],
    fatal: tuple[type[BaseException], ...] = (),
    sleep: Callable[[float], None] = time.sleep,
    logger: logging.Logger | None = None,
    level: int = logging.DEBUG,
) -> tuple[T, int]:
    """Run ``func()`` until it succeeds; return ``(result, attempts)``.

    Exceptions in ``fatal`` (checked first) and those not in ``retry_on``
    propagate at once (with ``exc.attempts`` set); ``retry_on`` failures are
    retried after :meth:`Backoff.delay`, each retry logged at ``level`` with
    ``what`` and the reason. After ``policy.max_retries`` retries,
    :class:`RetriesExhausted` is raised.
    """
    logger = logger or logging.getLogger(__name__)
    for attempt in range(1, policy.max_retries + 2):
        try:
            return func(), attempt
        except fatal as exc:
            exc.attempts = attempt
            raise
        except retry_on as exc:
            if attempt > policy.max_retries:
                raise RetriesExhausted(what, exc, attempt) from exc
            delay = policy.delay(attempt)
            logger.log(
                level,
                "%s failed (%s); retry %d/%d in %.1f s",
                what,
                describe_exception(exc),
                attempt,
                policy.max_retries,
                delay,
            )
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
