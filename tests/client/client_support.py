"""Support code for the client tests: a recording handler and a runner for both clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx

from animus_prep.client import AsyncClient, Client
from animus_prep.client.testing import FakeClock

API_KEY = "sk-live-Zq8SECRETvalue-4711"
BASE = "https://api.test/v2"

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler that records each request and delegates to ``respond``."""

    def __init__(self, respond: Handler) -> None:
        self.respond = respond
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.respond(request)

    @property
    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]


def run(
    mode: str,
    fn: Callable[[Any], Any],
    handler: Handler,
    *,
    clock: FakeClock | None = None,
    **kwargs: Any,
) -> Any:
    """Build the client for ``mode``, call ``fn(client)`` (awaiting it if async), close."""
    clock = clock or FakeClock()
    options: dict[str, Any] = {"api_key": API_KEY, "base_url": BASE, "clock": clock, **kwargs}
    transport = httpx.MockTransport(handler)
    if mode == "sync":
        with Client(transport=transport, sleep=clock.sleep, **options) as client:
            return fn(client)

    async def main() -> Any:
        async with AsyncClient(transport=transport, sleep=clock.async_sleep, **options) as client:
            return await fn(client)

    return asyncio.run(main())


def json_body(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None


def respond_json(payload: Any, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=payload, headers=headers)
