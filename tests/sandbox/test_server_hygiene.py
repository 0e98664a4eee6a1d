"""The served sandbox against clients that never finish a request (raw sockets)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from animus_prep.sandbox import serve_in_thread
from animus_prep.sandbox.server import HEADER_TIMEOUT

from .support import KEY

TIMEOUT = 0.5
# Room for scheduling on a loaded machine; far below "never".
SLACK = 2.0


@pytest.fixture
def address(tmp_path: Path) -> Iterator[tuple[str, int]]:
    with serve_in_thread(
        data_dir=tmp_path / "data", api_keys={KEY: 10}, header_timeout=TIMEOUT
    ) as url:
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        yield parts.hostname, parts.port


def _closed_after(sock: socket.socket, wait: float) -> tuple[bytes, float | None]:
    """Everything the server sent, and the seconds until it closed (None: still open)."""
    start = time.monotonic()
    sock.settimeout(wait)
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except TimeoutError:
        return received, None
    except ConnectionResetError:
        pass
    return received, time.monotonic() - start


def _one_response(sock: socket.socket) -> bytes:
    """One whole response (headers and a Content-Length body) read from `sock`."""
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    assert len(body) == length, "more than one response arrived"
    return head + b"\r\n\r\n" + body


def test_a_half_sent_request_line_is_closed_with_408(address: tuple[str, int]) -> None:
    with socket.create_connection(address) as sock:
        sock.sendall(b"GET /v2/charac")
        received, closed = _closed_after(sock, TIMEOUT + SLACK)
    assert closed is not None, "the server kept a half-sent request open"
    assert closed < TIMEOUT + SLACK
    assert received.startswith(b"HTTP/1.1 408 ")


def test_headers_dripped_byte_by_byte_are_cut_off(address: tuple[str, int]) -> None:
    # Every byte arrives well within any per-read timeout; only a deadline ends this.
    request = b"GET /v2/characters HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 200
    with socket.create_connection(address) as sock:
        start = time.monotonic()
        try:
            for byte in request:
                sock.sendall(bytes([byte]))
                time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            pass
        received, closed = _closed_after(sock, SLACK)
        elapsed = time.monotonic() - start
    assert closed is not None, "the server kept waiting for the dripped headers"
    assert elapsed < TIMEOUT + SLACK
    assert received.startswith(b"HTTP/1.1 408 ")


def test_an_idle_connection_is_closed_without_a_response(address: tuple[str, int]) -> None:
    with socket.create_connection(address) as sock:
        received, closed = _closed_after(sock, TIMEOUT + SLACK)
    assert closed is not None
    assert received == b""


def test_the_second_request_on_a_kept_alive_connection_has_the_same_bound(
    address: tuple[str, int],
) -> None:
    auth = f"Authorization: Bearer {KEY}\r\n".encode()
    first = b"GET /v2/characters HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n"
    with socket.create_connection(address) as sock:
        sock.sendall(first)
        assert _one_response(sock).startswith(b"HTTP/1.1 200 ")
        sock.sendall(b"GET /v2/characters HTTP/1.1\r\nHo")
        received, closed = _closed_after(sock, TIMEOUT + SLACK)
    assert closed is not None
    assert received.startswith(b"HTTP/1.1 408 ")


def test_a_request_sent_in_pieces_within_the_bound_is_served(address: tuple[str, int]) -> None:
    pieces = [b"GET /v2/charac", b"ters HTTP/1.1\r\nHost: x\r\n", b"\r\n"]
    with socket.create_connection(address) as sock:
        for piece in pieces:
            sock.sendall(piece)
            time.sleep(TIMEOUT / 5)
        assert _one_response(sock).startswith(b"HTTP/1.1 401 ")


def test_the_default_bound_is_seconds_not_minutes() -> None:
    assert 1 <= HEADER_TIMEOUT <= 30


def test_oversized_headers_are_refused_not_buffered(address: tuple[str, int]) -> None:
    # h11 keeps at most 16 KB of an unfinished request (uvicorn's default).
    with socket.create_connection(address) as sock:
        sock.sendall(b"GET /v2/characters HTTP/1.1\r\nHost: x\r\n")
        try:
            for _ in range(64):
                sock.sendall(b"X-Pad: " + b"a" * 1017 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        received, closed = _closed_after(sock, SLACK)
    assert closed is not None
    # The 400 may be lost to a reset when our last bytes arrive after the close.
    assert received == b"" or received.startswith(b"HTTP/1.1 400 ")
