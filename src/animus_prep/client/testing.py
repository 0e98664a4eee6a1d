"""Switches and fakes for testing code that uses the client, so tests never sleep."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ._retry import set_sleep_disabled

__all__ = ["FakeClock", "disable_sleep"]


@contextlib.contextmanager
def disable_sleep() -> Iterator[None]:
    """Within this block the default sleeps of retries and waiters return at once."""
    previous = set_sleep_disabled(True)
    try:
        yield
    finally:
        set_sleep_disabled(previous)


class FakeClock:
    """A monotonic clock that only moves when slept on.

    Pass ``clock=fake``, and ``sleep=fake.sleep`` (sync) or ``sleep=fake.async_sleep``
    (async) to a client: time-bounded retries and waiters then run instantly and
    deterministically; ``sleeps`` records every wait requested.
    """

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward without recording a sleep (e.g. slow requests)."""
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        """Record the wait and advance time by it."""
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        """Async twin of ``sleep``."""
        self.sleep(seconds)

    def __repr__(self) -> str:
        return f"FakeClock(now={self.now!r}, sleeps={len(self.sleeps)})"
