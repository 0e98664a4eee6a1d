"""Downloading renders by view_url: bytes back, retries, and the key kept to the API host."""

from __future__ import annotations

import httpx
import pytest
from client_support import API_KEY, BASE, Recorder, run

from animus_prep.client import NotFoundError

MODES = ["sync", "async"]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


@pytest.mark.parametrize("mode", MODES)
def test_download_returns_the_bytes_and_authenticates_on_the_api_host(mode: str) -> None:
    rec = Recorder(
        lambda r: httpx.Response(200, content=PNG, headers={"content-type": "image/png"})
    )
    url = "https://api.test/v2/files/render-1.png"
    assert run(mode, lambda c: c.download(url), rec) == PNG
    assert rec.requests[0].url == httpx.URL(url)
    assert rec.requests[0].headers["authorization"] == f"Bearer {API_KEY}"


@pytest.mark.parametrize("mode", MODES)
def test_the_key_never_goes_to_another_host(mode: str) -> None:
    rec = Recorder(lambda r: httpx.Response(200, content=PNG))
    for url in ("https://cdn.example/x.png", "http://api.test/v2/x.png", "https://api.test:8443/x"):
        run(mode, lambda c, u=url: c.download(u), rec)
    assert [r.headers.get("authorization") for r in rec.requests] == [None, None, None]


@pytest.mark.parametrize("mode", MODES)
def test_download_retries_transient_failures_and_maps_errors(mode: str) -> None:
    answers = iter([httpx.Response(503), httpx.Response(200, content=PNG)])
    rec = Recorder(lambda r: next(answers))
    assert run(mode, lambda c: c.download(f"{BASE}/f.png"), rec) == PNG
    assert len(rec.requests) == 2
    missing = Recorder(lambda r: httpx.Response(404, json={"detail": "no such file"}))
    with pytest.raises(NotFoundError, match="no such file"):
        run(mode, lambda c: c.download(f"{BASE}/g.png"), missing)
    assert len(missing.requests) == 1
