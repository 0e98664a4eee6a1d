"""Sending one request within bounds: a deadline for the whole attempt, a cap on its body.

httpx's timeouts bound each network operation (connect, every read, every write), so a
server that drips a byte at a time, in its headers or its body, keeps a request alive
forever, and ``response.read()`` keeps whatever it is sent. Here, for one attempt:

- the body is read in chunks, counted after decompression, and refused once it passes
  ``max_bytes`` (a declared ``Content-Length`` over it is refused before reading). Error
  bodies are only there to be shown, so they are cut at ``ERROR_BODY_BYTES`` instead.
- the attempt ends ``deadline`` seconds after it started, whatever the server does. The
  async client runs it in a cancel scope (``anyio.fail_after``), which interrupts any
  await. The sync client cannot interrupt a blocking read, so httpx's network pools are
  given a ``DeadlineBackend``: every connect, read and write waits at most the time
  left. A custom transport without such a pool is checked between body chunks only.

Failures come back as ``httpx.RequestError`` outcomes for the core to map: a passed
deadline is a timeout (``DeadlineExceeded``), a body that cannot be used is an
``UnreadableBody`` (``BodyTooLarge`` when it is over the cap).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterable
from typing import Any

import anyio
import httpcore
import httpx

__all__ = [
    "ERROR_BODY_BYTES",
    "BodyTooLarge",
    "DeadlineBackend",
    "DeadlineExceeded",
    "UnreadableBody",
    "bound_pools",
    "send",
    "send_async",
]

ERROR_BODY_BYTES = 1024 * 1024
"""How much of an error response's body is kept (the rest is not read)."""

# When the attempt running in this thread or task must end (time.monotonic), or None.
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "animus_prep_client_deadline", default=None
)
# Headers that describe the body as sent; the body handed on is already decoded.
_BODY_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


class DeadlineExceeded(httpx.ReadTimeout):
    """The attempt's deadline passed before the whole response arrived."""


class UnreadableBody(httpx.DecodingError):
    """A response whose body cannot be used (undecodable, or over the size cap)."""

    def __init__(self, message: str, *, request: httpx.Request, status_code: int) -> None:
        super().__init__(message, request=request)
        self.status_code = status_code


class BodyTooLarge(UnreadableBody):
    """A successful response's body is larger than ``limit`` bytes."""

    def __init__(
        self, message: str, *, request: httpx.Request, status_code: int, limit: int
    ) -> None:
        super().__init__(message, request=request, status_code=status_code)
        self.limit = limit


# The sync deadline: every socket operation of a pool gets at most the time left.


def _time_left(timeout: float | None, error: type[Exception]) -> float | None:
    ends = _DEADLINE.get()
    if ends is None:
        return timeout
    left = ends - time.monotonic()
    if left <= 0:
        raise error("the deadline for the whole request passed")
    return left if timeout is None else min(timeout, left)


def _deadline_passed() -> bool:
    ends = _DEADLINE.get()
    return ends is not None and time.monotonic() >= ends


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            return self._inner.read(max_bytes, _time_left(timeout, httpcore.ReadTimeout))
        except httpcore.ReadTimeout:
            if _deadline_passed():
                raise httpcore.ReadTimeout("the deadline for the whole request passed") from None
            raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        try:
            self._inner.write(buffer, _time_left(timeout, httpcore.WriteTimeout))
        except httpcore.WriteTimeout:
            if _deadline_passed():
                raise httpcore.WriteTimeout("the deadline for the whole request passed") from None
            raise

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        left = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """Wraps a pool's network backend so no socket operation outlives the deadline."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self.inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = _time_left(timeout, httpcore.ConnectTimeout)
        stream = self.inner.connect_tcp(host, port, left, local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        left = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self.inner.connect_unix_socket(path, left, socket_options))

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


def bound_pools(http: httpx.Client) -> None:
    """Give every httpx network pool of ``http`` (proxies included) a ``DeadlineBackend``.

    httpx offers no public hook for a pool's network backend, so this reaches into the
    transports it built; a transport of another kind is left alone (and is then bounded
    between body chunks only). Outside ``send`` no deadline is set and nothing changes.
    """
    mounts: dict[Any, Any] = getattr(http, "_mounts", {})
    transports = [getattr(http, "_transport", None), *mounts.values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        if isinstance(pool, httpcore.ConnectionPool) and not isinstance(
            pool._network_backend, DeadlineBackend
        ):
            pool._network_backend = DeadlineBackend(pool._network_backend)


# Reading a body within its cap


class _Body:
    """Collects a response body, enforcing the cap and the deadline between chunks."""

    def __init__(
        self, response: httpx.Response, request: httpx.Request, max_bytes: int, ends: float | None
    ) -> None:
        self.response = response
        self.request = request
        self.ends = ends
        self.success = response.is_success
        self.limit = max_bytes if self.success else min(max_bytes, ERROR_BODY_BYTES)
        self.chunks: list[bytes] = []
        self.size = 0
        declared = response.headers.get("content-length", "")
        if self.success and declared.isdigit() and int(declared) > self.limit:
            raise self._too_large(f"declares {int(declared)} bytes")

    def add(self, chunk: bytes) -> bool:
        """Keep ``chunk``; False once an error body is full (stop reading)."""
        if self.ends is not None and time.monotonic() > self.ends:
            raise DeadlineExceeded(
                "the deadline for the whole request passed", request=self.request
            )
        room = self.limit - self.size
        if len(chunk) > room:
            if self.success:
                raise self._too_large(f"is over {self.limit} bytes")
            self.chunks.append(chunk[:room])
            self.size = self.limit
            return False
        self.chunks.append(chunk)
        self.size += len(chunk)
        return True

    def undecodable(self, error: httpx.DecodingError) -> UnreadableBody:
        return UnreadableBody(
            f"the response body could not be decoded ({error})",
            request=self.request,
            status_code=self.response.status_code,
        )

    def _too_large(self, what: str) -> BodyTooLarge:
        return BodyTooLarge(
            f"the response body {what}, more than the limit of {self.limit} bytes",
            request=self.request,
            status_code=self.response.status_code,
            limit=self.limit,
        )

    def complete(self) -> httpx.Response:
        """A response holding the decoded body read so far."""
        headers = [
            (k, v) for k, v in self.response.headers.multi_items() if k.lower() not in _BODY_HEADERS
        ]
        kept = ("http_version", "reason_phrase")
        extensions = {k: v for k, v in self.response.extensions.items() if k in kept}
        return httpx.Response(
            self.response.status_code,
            headers=headers,
            content=b"".join(self.chunks),
            extensions=extensions,
        )


def _ends(deadline: float | None) -> float | None:
    return None if deadline is None else time.monotonic() + deadline


def send(
    http: httpx.Client, request: httpx.Request, *, max_bytes: int, deadline: float | None
) -> httpx.Response | httpx.RequestError:
    """One attempt with the sync client: the whole response, or the failure as a value."""
    ends = _ends(deadline)
    token = _DEADLINE.set(ends)
    try:
        response = http.send(request, stream=True)
        try:
            body = _Body(response, request, max_bytes, ends)
            try:
                for chunk in response.iter_bytes():
                    if not body.add(chunk):
                        break
            except UnreadableBody:
                raise
            except httpx.DecodingError as error:  # e.g. broken gzip
                raise body.undecodable(error) from None
        finally:
            response.close()
    except httpx.RequestError as error:
        return error
    finally:
        _DEADLINE.reset(token)
    return body.complete()


async def send_async(
    http: httpx.AsyncClient, request: httpx.Request, *, max_bytes: int, deadline: float | None
) -> httpx.Response | httpx.RequestError:
    """One attempt with the async client: the whole response, or the failure as a value."""
    try:
        with anyio.fail_after(deadline):
            response = await http.send(request, stream=True)
            try:
                body = _Body(response, request, max_bytes, _ends(deadline))
                try:
                    async for chunk in response.aiter_bytes():
                        if not body.add(chunk):
                            break
                except UnreadableBody:
                    raise
                except httpx.DecodingError as error:  # e.g. broken gzip
                    raise body.undecodable(error) from None
            finally:
                await response.aclose()
    except TimeoutError:
        if deadline is None:  # not the cancel scope's: nothing of ours timed out
            raise
        return DeadlineExceeded(
            f"no complete response within the {deadline:g} s deadline", request=request
        )
    except httpx.RequestError as error:
        return error
    return body.complete()
