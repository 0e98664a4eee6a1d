"""Support code for driving both clients against the sandbox server.

Scenarios are written once as ``async def scenario(client)`` and run with either client:
``aw()`` awaits what ``AsyncClient`` returns and passes ``Client`` results through, and
``collect()`` drains a sync or an async iterator. In-process runs share one ``FakeClock``
between the sandbox and the client, so every waiter's sleep moves simulated time and
nothing really waits.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, NamedTuple

import httpx
from fastapi import FastAPI

from animus_prep.client import AsyncClient, Client
from animus_prep.client.testing import FakeClock
from animus_prep.sandbox import SyncASGITransport
from animus_prep.sandbox.faults import FaultPlan, parse_faults

KEY = "sk-sandbox-Zq8SECRETkey-A-4711"
OTHER_KEY = "sk-sandbox-Zq8SECRETkey-B-4712"
POOR_KEY = "sk-sandbox-Zq8SECRETkey-P-4713"
WRONG_KEY = "sk-sandbox-Zq8SECRETkey-X-9999"
ALL_KEYS = (KEY, OTHER_KEY, POOR_KEY, WRONG_KEY)
CREDITS = 1000.0
POOR_CREDITS = 0.4
START = 1_800_000_000.0
IN_PROCESS_URL = "http://sandbox/v2"
BYPASS = {"X-Sandbox-Faults": "off"}

Scenario = Callable[[Any], Awaitable[Any]]


async def aw(value: Any) -> Any:
    """The result of a client call: awaited for AsyncClient, as is for Client."""
    return await value if inspect.isawaitable(value) else value


async def collect(items: Iterable[Any] | AsyncIterator[Any]) -> list[Any]:
    """Every item of a sync or async iterator."""
    if isinstance(items, AsyncIterator):
        return [item async for item in items]
    return list(items)


class Exchange(NamedTuple):
    """One request the client sent and how it ended: a status code, or the error's name."""

    method: str
    path: str
    outcome: int | str


class RecordingTransport(httpx.BaseTransport):
    """Records every exchange of a sync client, then delegates."""

    def __init__(self, inner: httpx.BaseTransport, log: list[Exchange]) -> None:
        self.inner = inner
        self.log = log

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = self.inner.handle_request(request)
        except Exception as error:
            self.log.append(Exchange(request.method, request.url.path, type(error).__name__))
            raise
        self.log.append(Exchange(request.method, request.url.path, response.status_code))
        return response

    def close(self) -> None:
        self.inner.close()


class AsyncRecordingTransport(httpx.AsyncBaseTransport):
    """Records every exchange of an async client, then delegates."""

    def __init__(self, inner: httpx.AsyncBaseTransport, log: list[Exchange]) -> None:
        self.inner = inner
        self.log = log

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await self.inner.handle_async_request(request)
        except Exception as error:
            self.log.append(Exchange(request.method, request.url.path, type(error).__name__))
            raise
        self.log.append(Exchange(request.method, request.url.path, response.status_code))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def run(
    mode: str,
    scenario: Scenario,
    *,
    app: FastAPI | None = None,
    base_url: str | None = None,
    key: str = KEY,
    clock: FakeClock | None = None,
    log: list[Exchange] | None = None,
    **options: Any,
) -> Any:
    """Run ``scenario(client)`` with the ``mode`` client, then close the client.

    With ``app`` the client talks to it in-process (``SyncASGITransport`` or
    ``httpx.ASGITransport``); with ``base_url`` over real HTTP. A ``clock`` becomes the
    client's clock and its sleep. ``log`` collects every exchange on the wire.
    """
    if (app is None) == (base_url is None):
        raise TypeError("pass exactly one of app and base_url")
    url = IN_PROCESS_URL if app is not None else base_url
    config: dict[str, Any] = {"api_key": key, "base_url": url}
    if clock is not None:
        config["clock"] = clock
        config["sleep"] = clock.sleep if mode == "sync" else clock.async_sleep
    config.update(options)
    exchanges: list[Exchange] = [] if log is None else log

    async def main() -> Any:
        if mode == "sync":
            inner: httpx.BaseTransport = (
                SyncASGITransport(app) if app is not None else httpx.HTTPTransport()
            )
            transport = RecordingTransport(inner, exchanges)
            with Client(transport=transport, **config) as client:
                return await scenario(client)
        async_inner: httpx.AsyncBaseTransport = (
            httpx.ASGITransport(app=app) if app is not None else httpx.AsyncHTTPTransport()
        )
        async_transport = AsyncRecordingTransport(async_inner, exchanges)
        async with AsyncClient(transport=async_transport, **config) as client:
            return await scenario(client)

    return asyncio.run(main())


def leaks(exc: BaseException) -> list[str]:
    """Every textual view of an exception and its causes that contains any test key."""
    found: list[str] = []
    seen: BaseException | None = exc
    while seen is not None:
        views = [str(seen), repr(seen), repr(seen.args), repr(vars(seen))]
        found += [v for v in views for key in ALL_KEYS if key in v]
        seen = seen.__cause__ or seen.__context__
    return found


def raw_client(base_url: str, key: str = KEY) -> httpx.Client:
    """A plain HTTP client exempt from fault injection, to set up and inspect state."""
    headers = {"Authorization": f"Bearer {key}", **BYPASS}
    return httpx.Client(base_url=base_url, headers=headers, timeout=30)


def seed_where(spec: str, faulted: list[bool]) -> int:
    """A sandbox seed whose first draws hit (True) or spare (False) requests as listed."""
    for seed in range(10_000):
        plan = FaultPlan(parse_faults(spec), seed)
        if [plan.draw() is not None for _ in faulted] == faulted:
            return seed
    raise AssertionError(f"no seed gives {faulted} for {spec!r}")
