"""Serving a sandbox app with uvicorn: in the foreground or in a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import h11
import uvicorn
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from .app import API_PREFIX, close_app, create_app
from .faults import TRANSPORT_KEY

HEADER_TIMEOUT = 10.0
"""Seconds a client has to send a request's line and headers, from connecting or from
the end of the previous response on a kept-alive connection."""


class _SandboxH11(H11Protocol):
    """uvicorn's h11 protocol with a bound on unfinished requests, exposing its transport.

    uvicorn times out idle kept-alive connections, but not a connection that sends part
    of a request line or its headers and then stalls or drips a byte at a time: each
    such client would hold its socket forever. Here a request's line and headers must
    arrive within `header_timeout` seconds of the connection opening or of the previous
    response ending; otherwise a partial request gets a 408 and the connection is
    closed (a silent one is just closed).

    The fault injector needs the transport to drop a connection (TCP reset) instead of
    answering.
    """

    header_timeout: float = HEADER_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        inner = self.app

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            extensions = dict(scope.get("extensions") or {})
            extensions[TRANSPORT_KEY] = transport
            scope["extensions"] = extensions
            await inner(scope, receive, send)

        self.app = app
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the request line and headers are in
            self._disarm_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_overdue)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_overdue(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        partial, _ = self.conn.trailing_data
        if partial:
            detail = f"Request line and headers not received within {self.header_timeout:g} s"
            body = json.dumps({"detail": detail}).encode()
            self.transport.write(
                b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)
            )
        with contextlib.suppress(h11.LocalProtocolError):
            self.conn.send(h11.ConnectionClosed())
        self.transport.close()


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket; port 0 picks a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets that say so, and
    # without it every response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{API_PREFIX}"


class _Server(uvicorn.Server):
    """uvicorn server that stops gracefully on SIGINT/SIGTERM and then returns.

    uvicorn re-raises a captured signal after shutting down, which kills the process
    with that signal; a CLI should instead return its exit status.
    """

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def stop(signum: int, frame: FrameType | None) -> None:
            if self.should_exit and signum == signal.SIGINT:
                self.force_exit = True
            self.should_exit = True

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _with_header_timeout(seconds: float) -> type[_SandboxH11]:
    if not seconds > 0:
        raise ValueError("header_timeout must be > 0")

    class Protocol(_SandboxH11):
        header_timeout = seconds

    return Protocol


def make_server(
    app: FastAPI, log_level: str = "warning", header_timeout: float = HEADER_TIMEOUT
) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        http=_with_header_timeout(header_timeout),
        lifespan="on",
        log_level=log_level,
        access_log=log_level in {"debug", "info"},
        timeout_graceful_shutdown=5,
    )
    return _Server(config)


def run(app: FastAPI, sock: socket.socket, log_level: str = "warning") -> None:
    """Serve `app` on `sock` until SIGINT/SIGTERM (uvicorn installs the handlers)."""
    server = make_server(app, log_level)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


@contextmanager
def serve_in_thread(
    app: FastAPI | None = None,
    host: str = "127.0.0.1",
    header_timeout: float = HEADER_TIMEOUT,
    **app_options: Any,
) -> Iterator[str]:
    """Serve a sandbox on a free port of `host` in a background thread; yield its base URL.

    Pass an `app` from `create_app`, or `create_app` keyword arguments
    (`data_dir`, `api_keys`, `seed`, ...) to have one built and closed here.
    The server stops and its thread is joined when the block exits.
    """
    owned = app is None
    if app is None:
        app = create_app(**app_options)
    elif app_options:
        raise TypeError("pass either an app or create_app options, not both")
    sock = bind(host, 0)
    server = make_server(app, header_timeout=header_timeout)
    # Signal handlers can only be installed from the main thread; uvicorn skips them
    # elsewhere, so stopping is done through should_exit.
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="sandbox-server", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("sandbox server did not start")
            time.sleep(0.01)
        yield base_url(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
        if owned:
            close_app(app)
