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

__all__ = ["RetryPolicy", "default_async_sleep", "default_sleep", "parse_retry_after"]

# 502/504 come from a gateway that may have forwarded the request, 503 from a server that
# refused it: only the latter is known not to have run a non-idempotent call.
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
UNSENT_RETRYABLE_STATUSES = frozenset({429, 503})


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
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if min(self.initial_wait, self.max_wait, self.timeout) < 0:
            raise ValueError("waits and timeout must not be negative")

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
