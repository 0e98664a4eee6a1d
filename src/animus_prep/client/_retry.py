"""The retry policy: what to retry, how long to wait, when to give up.

Capped exponential backoff with full jitter, bounded by attempts and by total time.
Sleeping itself belongs to the sync and async clients; the testing switch in
``animus_prep.client.testing`` turns it off.
"""

from __future__ import annotations

import dataclasses
import email.utils
import math
import random
import time
from collections.abc import Mapping

import anyio

from ._exceptions import APIConnectionError, APIStatusError, ClientConfigError

__all__ = [
    "RetryPolicy",
    "default_async_sleep",
    "default_sleep",
    "is_transient",
    "parse_retry_after",
    "retryable_status",
]

# 500/502/504 come from a server or gateway that may have run the request, 503 and 429 from
# one that refused it: only the latter are known not to have run a non-idempotent call.
UNSENT_RETRYABLE_STATUSES = frozenset({429, 503})
# 501 and 505 say the server cannot ever do it: asking again never helps.
_PERMANENT_5XX = frozenset({501, 505})


def retryable_status(status: int, *, safe: bool) -> bool:
    """Whether an attempt answered with ``status`` may be retried.

    A safe call (idempotent, or reconciled before each resend) retries 429 and every
    transient 5xx; any other call only the statuses that prove it never ran.
    """
    if status in UNSENT_RETRYABLE_STATUSES:
        return True
    return safe and 500 <= status <= 599 and status not in _PERMANENT_5XX


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How the client retries transient failures.

    ``attempts`` counts the first try; ``timeout`` bounds the time from the first try to
    the start of the last one, so a ``Retry-After`` beyond it ends the retries early.
    """

    attempts: int = 3
    initial_wait: float = 0.5
    max_wait: float = 8.0
    multiplier: float = 2.0
    timeout: float = 60.0

    def __post_init__(self) -> None:
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int):
            raise ClientConfigError(f"attempts must be a whole number, got {self.attempts!r}")
        if self.attempts < 1:
            raise ClientConfigError("attempts must be at least 1")
        for name in ("initial_wait", "max_wait", "multiplier", "timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ClientConfigError(f"{name} must be a number of seconds, got {value!r}")
            if not math.isfinite(value):
                raise ClientConfigError(f"{name} must be finite, got {value}")
        if min(self.initial_wait, self.max_wait, self.timeout) < 0:
            raise ClientConfigError("waits and timeout must not be negative")
        if self.multiplier < 1:
            raise ClientConfigError("multiplier must be at least 1 (waits never shrink)")

    @classmethod
    def long_running(cls) -> RetryPolicy:
        """The budget for bulk and long commands: 10 attempts or 5 minutes per call.

        A run makes a hundred calls or more over hours: with a fifth of the requests
        failing transiently, 3 attempts per call ran out somewhere in 5 of 20 runs of
        ~115 calls (benchmarks/bench_faults.py). Ten attempts, spaced out to 30 s apart,
        ride out both a flaky network and an outage of a minute or two.
        """
        return cls(attempts=10, initial_wait=0.5, max_wait=30.0, timeout=300.0)

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter wait after failed attempt number ``attempt`` (1-based)."""
        cap = min(self.max_wait, self.initial_wait * self.multiplier ** (attempt - 1))
        return rng.uniform(0.0, cap)

    def next_wait(
        self,
        attempt: int,
        elapsed: float,
        rng: random.Random,
        retry_after: float | None = None,
    ) -> float | None:
        """Seconds to wait before the next attempt, or None when the budget is spent."""
        if attempt >= self.attempts:
            return None
        wait = retry_after if retry_after is not None else self.backoff(attempt, rng)
        if elapsed + wait > self.timeout:
            return None
        return wait


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` is the kind of failure that asking again may cure: no answer (a
    connection error, reset or timeout), 429, or a 5xx other than 501/505."""
    if isinstance(error, APIConnectionError):
        return True
    if isinstance(error, APIStatusError):
        return retryable_status(error.status_code, safe=True)
    return False


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds requested by ``Retry-After`` (seconds or HTTP-date), or ``retry-after-ms``."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        seconds = _finite(millis)
        if seconds is not None:
            return max(0.0, seconds / 1000.0)
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _finite(value)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _finite(text: str) -> float | None:
    try:
        number = float(text.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


_sleep_disabled = False


def set_sleep_disabled(disabled: bool) -> bool:
    """Turn real sleeping off or on; returns the previous setting."""
    global _sleep_disabled
    previous, _sleep_disabled = _sleep_disabled, disabled
    return previous


def default_sleep(seconds: float) -> None:
    """``time.sleep`` unless sleeping is disabled for tests."""
    if not _sleep_disabled and seconds > 0:
        time.sleep(seconds)


async def default_async_sleep(seconds: float) -> None:
    """``anyio.sleep`` unless sleeping is disabled for tests (still yields control)."""
    await anyio.sleep(0 if _sleep_disabled else max(0.0, seconds))
