"""A synchronous in-process httpx transport for a sandbox app (no sockets).

`httpx.ASGITransport` only works with `httpx.AsyncClient`. This transport runs the app
on a private event loop thread so a plain `httpx.Client` can call it:

    app = create_app()
    with httpx.Client(transport=SyncASGITransport(app), base_url="http://sandbox/v2") as c:
        c.get("/characters", headers={"Authorization": "Bearer sk-sandbox"})
"""

from __future__ import annotations

import asyncio
import threading

import httpx
from starlette.types import ASGIApp

from .faults import ConnectionDropped


class SyncASGITransport(httpx.BaseTransport):
    """Calls an ASGI app in-process from synchronous code; close it (or the client)."""

    def __init__(self, app: ASGIApp, timeout: float = 120.0) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="sandbox-asgi", daemon=True
        )
        self._thread.start()

    async def _call(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        try:
            body = await response.aread()
        finally:
            await response.aclose()
        return httpx.Response(response.status_code, headers=response.headers, content=body)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # The async transport needs an async body stream; bytes satisfy both kinds.
        copy = httpx.Request(
            request.method, request.url, headers=request.headers, content=request.read()
        )
        future = asyncio.run_coroutine_threadsafe(self._call(copy), self._loop)
        try:
            response = future.result(self._timeout)
        except ConnectionDropped as exc:
            # What a client sees when a served sandbox resets the connection.
            message = str(exc) or "connection dropped"
            raise httpx.RemoteProtocolError(message, request=request) from exc
        response.request = request
        return response

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
