"""A real HTTP server on loopback that misbehaves on purpose (raw sockets, one thread each).

Each connection's request is read (line, headers, a Content-Length body) and handed
with the socket to a behaviour: answer normally, echo the API key back, never answer,
drip bytes, send an endless or a truncated body. Behaviours write raw bytes, so they can
break HTTP in ways a framework would not allow.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any


@dataclasses.dataclass(frozen=True)
class Request:
    """What the client sent."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes

    @property
    def key(self) -> str:
        """The bearer key the client sent ('' without one)."""
        return self.headers.get("authorization", "").removeprefix("Bearer ")


Behaviour = Callable[[Request, socket.socket, threading.Event], None]


def head(status: int, headers: Mapping[str, str] | None = None, reason: str = "X") -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def respond(
    sock: socket.socket,
    status: int,
    body: bytes,
    headers: Mapping[str, str] | None = None,
) -> None:
    """A whole response with a Content-Length."""
    all_headers = {"content-length": str(len(body)), "connection": "close", **(headers or {})}
    sock.sendall(head(status, all_headers) + body)


def respond_json(sock: socket.socket, status: int, payload: Any, **headers: str) -> None:
    body = json.dumps(payload).encode()
    respond(sock, status, body, {"content-type": "application/json", **headers})


class HostileServer:
    """Serves `behaviour` on a free loopback port until the block exits."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.stop = threading.Event()
        self.requests: list[Request] = []
        self.sent: list[int] = []  # bytes written by behaviours that count them
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}/v2"

    def __enter__(self) -> HostileServer:
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        for t in self._threads:
            t.join(10)
        self._listener.close()

    def _accept(self) -> None:
        # A short accept timeout: closing a listener does not wake a blocked accept().
        self._listener.settimeout(0.05)
        while not self.stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            try:
                request = _read_request(conn)
            except (OSError, ValueError):
                return
            self.requests.append(request)
            with contextlib.suppress(OSError):
                self.behaviour(request, conn, self.stop)


def _read_request(conn: socket.socket) -> Request:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            raise ValueError("closed before the headers ended")
        data += chunk
    raw_head, _, body = data.partition(b"\r\n\r\n")
    line, *header_lines = raw_head.decode("latin-1").split("\r\n")
    method, path, _ = line.split(" ", 2)
    headers = {}
    for h in header_lines:
        name, _, value = h.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return Request(method, path, headers, body)


# Behaviours


def never_answer(request: Request, sock: socket.socket, stop: threading.Event) -> None:
    stop.wait(30)


def endless(
    status: int = 200,
    content_type: str = "application/json",
    counter: list[int] | None = None,
    give_up: int = 256 * 1024**2,
) -> Behaviour:
    """Headers without a length, then body bytes until the client goes away (or
    `give_up` bytes, so a client that reads forever fails its test instead of hanging)."""

    def behave(request: Request, sock: socket.socket, stop: threading.Event) -> None:
        sock.sendall(head(status, {"content-type": content_type, "connection": "close"}))
        block = b"[" * 65536 if content_type == "application/json" else b"\x00" * 65536
        sent = 0
        try:
            while not stop.is_set() and sent < give_up:
                sock.sendall(block)
                sent += len(block)
        finally:
            if counter is not None:
                counter.append(sent)

    return behave


def drip(interval: float, *, in_headers: bool = False, body: bytes | None = None) -> Behaviour:
    """One byte every `interval` seconds: of the body, or of the headers themselves.

    Without `body` the payload is long enough that only a deadline ends it."""

    def behave(request: Request, sock: socket.socket, stop: threading.Event) -> None:
        if in_headers:
            payload = head(200, {"content-type": "application/json"})[:-2] + b"x-pad: " * 10_000
        else:
            data = body if body is not None else b" " * 100_000
            length = {"content-type": "application/json", "content-length": str(len(data))}
            sock.sendall(head(200, length))
            payload = data
        for byte in payload:
            if stop.wait(interval):
                return
            sock.sendall(bytes([byte]))

    return behave


def declares(length: int) -> Behaviour:
    """Promises a huge body, then sends it slowly."""

    def behave(request: Request, sock: socket.socket, stop: threading.Event) -> None:
        sock.sendall(head(200, {"content-type": "application/json", "content-length": str(length)}))
        while not stop.wait(0.5):
            sock.sendall(b" ")

    return behave


def gzip_bomb(expanded: int) -> Behaviour:
    """A small gzip body that inflates to `expanded` bytes of JSON whitespace."""
    compressed = gzip.compress(b" " * expanded, compresslevel=9)

    def behave(request: Request, sock: socket.socket, stop: threading.Event) -> None:
        headers = {"content-type": "application/json", "content-encoding": "gzip"}
        respond(sock, 200, compressed, headers)

    return behave


def truncated(request: Request, sock: socket.socket, stop: threading.Event) -> None:
    """Promises 1000 bytes, sends 50, closes."""
    sock.sendall(head(200, {"content-type": "application/json", "content-length": "1000"}))
    sock.sendall(b'{"character_id": "c1", "name": "' + b"x" * 17)


def close_delimited(body: bytes, content_type: str = "application/json") -> Behaviour:
    """A body that ends where the connection closes (no length, no chunking)."""

    def behave(request: Request, sock: socket.socket, stop: threading.Event) -> None:
        sock.sendall(head(200, {"content-type": content_type, "connection": "close"}) + body)

    return behave


@contextlib.contextmanager
def closed_port() -> Iterator[str]:
    """A loopback URL where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    yield f"http://127.0.0.1:{port}/v2"


def timed(fn: Callable[[], object]) -> tuple[object, float]:
    """What `fn()` returned or raised, and the seconds it took."""
    start = time.monotonic()
    try:
        result: object = fn()
    except Exception as error:
        result = error
    return result, time.monotonic() - start
