"""Request body size limit, enforced while the body streams in."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .settings import MAX_UPLOAD_BYTES

# Room for the multipart envelope and form fields around one maximal file.
MAX_REQUEST_BYTES = MAX_UPLOAD_BYTES + 1024 * 1024


class BodyTooLarge(Exception):
    """Raised to the app from `receive` once a body of unknown length passes the limit."""


class BodyLimit:
    """ASGI middleware answering 413 when a request body exceeds `limit` bytes.

    A declared `Content-Length` over the limit is refused before reading anything (the
    server never delivers more than the declared length). A body of unknown length
    (chunked) is counted as it streams through to the app, never buffered here: the
    first chunk past the limit raises `BodyTooLarge` in the app's `receive`, and
    whatever the app then answers is replaced by the 413, so no oversized body is
    either held in memory or read to its end.
    """

    def __init__(self, app: ASGIApp, limit: int = MAX_REQUEST_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = None
        for key, value in scope.get("headers", []):
            if key == b"content-length":
                declared = value
        if declared is not None:
            if not declared.isdigit() or int(declared) > self.limit:
                await self._refuse(send)
                return
            await self.app(scope, receive, send)
            return
        seen = 0
        over = False
        started = False

        async def counted() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    over = True
                    raise BodyTooLarge(f"request body over {self.limit} bytes")
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if over:
                # The app's own answer to the interrupted body (often a 400) is replaced.
                if not started:
                    started = True
                    await self._refuse(send)
                return
            started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": f"Request body too large (limit {self.limit} bytes)"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", b"%d" % len(body)),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
