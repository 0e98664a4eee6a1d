"""Large uploads stream to disk: the sandbox never holds a whole upload in memory.

The sandbox is served in this process, so `tracemalloc` sees every Python allocation the
server makes while it receives, hashes, validates and stores an upload (Pillow's pixel
buffers are C allocations and not counted: decoding is bounded by the pixel limit, not
by the file size). The client streams the file from disk, so it adds nothing either.
"""

from __future__ import annotations

import socket
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest
from PIL import Image

from animus_prep.sandbox import serve_in_thread
from animus_prep.sandbox.limits import MAX_REQUEST_BYTES
from animus_prep.sandbox.settings import MAX_UPLOAD_BYTES

from .support import KEY, api_client, make_character

MB = 1024 * 1024


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    with serve_in_thread(data_dir=tmp_path / "data", api_keys={KEY: 10}) as url:
        yield url


def _peak_while(action: Callable[[], Any]) -> tuple[Any, int]:
    """The result of `action()` and the peak of traced memory it added, in bytes."""
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        result = action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak - base


def _noise_png(path: Path, side: int) -> int:
    pixels = np.random.default_rng(1).integers(0, 256, (side, side, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, compress_level=1)
    return path.stat().st_size


def test_a_large_valid_upload_is_not_held_in_memory(served: str, tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    size = _noise_png(path, 2000)
    assert 10 * MB < size < MAX_UPLOAD_BYTES
    with api_client(served) as client:
        cid = make_character(client, faces=0, bodies=0)

        def upload() -> httpx.Response:
            with path.open("rb") as f:
                return client.post(
                    f"/{cid}/upload/body-image",
                    files={"file": ("big.png", f, "image/png")},
                    data={"image_type": "body_image_front"},
                )

        response, peak = _peak_while(upload)
        assert response.status_code == 200, response.text
        stored = client.get(response.json()["view_url"])
    assert stored.content == path.read_bytes()
    # About 2.4 MB whatever the file's size (the copy chunk and the sharpness arrays).
    assert peak < 6 * MB, f"{peak / MB:.1f} MB traced for a {size / MB:.1f} MB upload"


def test_an_oversized_file_inside_a_legal_request_is_refused_while_streaming(
    served: str, tmp_path: Path
) -> None:
    # Over the file limit but under the request limit: the route itself must count.
    path = tmp_path / "big.jpg"
    with path.open("wb") as f:
        f.write(b"\xff\xd8")
        f.write(b"\x00" * (MAX_UPLOAD_BYTES + MB // 2))
    assert path.stat().st_size + 1024 < MAX_REQUEST_BYTES
    with api_client(served) as client:
        cid = make_character(client, faces=0, bodies=0)

        def upload() -> httpx.Response:
            with path.open("rb") as f:
                return client.post(
                    f"/{cid}/upload/face-image", files={"file": ("big.jpg", f, "image/jpeg")}
                )

        response, peak = _peak_while(upload)
        assert response.status_code == 413
        assert "too large" in response.json()["detail"]
        assert client.get(f"/{cid}/assets").json()["total"] == 0
    assert peak < 4 * MB, f"{peak / MB:.1f} MB traced"
    leftovers = [p.name for p in (tmp_path / "data" / "files").iterdir()]
    assert leftovers == []


def test_a_chunked_body_over_the_limit_is_refused_without_buffering(served: str) -> None:
    # No Content-Length: the limit can only be enforced while the body streams in.
    parts = urlsplit(served)
    assert parts.hostname is not None and parts.port is not None
    with api_client(served) as client:
        cid = make_character(client, faces=0, bodies=0)
    head = (
        f"POST /v2/{cid}/upload/face-image HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {KEY}\r\nTransfer-Encoding: chunked\r\n"
        "Content-Type: multipart/form-data; boundary=xyz\r\n\r\n"
    ).encode()
    preamble = (
        b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n"
    )
    block = b"\xff" * (256 * 1024)
    total = 40 * MB

    def send() -> tuple[int, bytes]:
        sent = 0
        reply = b""
        with socket.create_connection((parts.hostname, parts.port)) as sock:
            sock.sendall(head + b"%x\r\n%s\r\n" % (len(preamble), preamble))
            try:
                while sent < total:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(block), block))
                    sent += len(block)
            except (BrokenPipeError, ConnectionResetError):
                pass
            sock.settimeout(10)
            try:
                while chunk := sock.recv(65536):
                    reply += chunk
            except (TimeoutError, ConnectionResetError):
                pass
        return sent, reply

    (sent, reply), peak = _peak_while(send)
    assert reply.startswith(b"HTTP/1.1 413 "), reply[:200]
    assert sent < total, "the server read the whole oversized body"
    assert peak < 4 * MB, f"{peak / MB:.1f} MB traced"
