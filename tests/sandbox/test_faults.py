"""The fault injector: spec parsing, seeded reproducibility and each fault kind."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from animus_prep.sandbox import (
    ConnectionDropped,
    FaultSpecError,
    SyncASGITransport,
    close_app,
    create_app,
    parse_faults,
    serve_in_thread,
)
from animus_prep.sandbox.faults import GARBLED_PAGE, Fault

from .support import KEY, api_client, upload

BYPASS = {"X-Sandbox-Faults": "off"}


def test_parse_the_documented_example() -> None:
    faults = parse_faults("503:0.1,429:0.05@2s,reset:0.02,slow:0.05@1.5s,lost:0.03")
    assert faults == (
        Fault("503", 0.1),
        Fault("429", 0.05, 2.0),
        Fault("reset", 0.02),
        Fault("slow", 0.05, 1.5),
        Fault("lost", 0.03),
    )
    assert parse_faults("") == ()
    assert parse_faults("slow:0.5@250ms")[0].duration == 0.25


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("503", "expected KIND:PROBABILITY"),
        ("teapot:0.1", "unknown fault kind"),
        ("200:0.1", "use 400-599"),
        ("503:x", "bad probability"),
        ("503:1.5", "within [0, 1]"),
        ("503:0.7,429:0.6", "more than 1"),
        ("slow:0.1@fast", "bad duration"),
        ("reset:0.1@2s", "takes no duration"),
        ("garbled:0.1@2s", "takes no duration"),
        ("503:0.1,503:0.2", "listed twice"),
    ],
)
def test_bad_specs_give_clear_errors(spec: str, message: str) -> None:
    with pytest.raises(FaultSpecError, match=re.escape(message)):
        parse_faults(spec)


def _statuses(tmp_path: Path, seed: int, n: int = 60) -> list[int]:
    spec = "503:0.2,429:0.1@2s"
    with (
        serve_in_thread(data_dir=tmp_path, api_keys={KEY: 1}, seed=seed, faults=spec) as url,
        api_client(url) as c,
    ):
        out = []
        for _ in range(n):
            r = c.get("/characters")
            if r.status_code == 429:
                assert r.headers["retry-after"] == "2"
                assert "Rate limit" in r.json()["detail"]
            out.append(r.status_code)
        # Only /v2 is faulted: the schema is always served.
        assert c.get(url.removesuffix("/v2") + "/openapi.json").status_code == 200
        return out


def test_faults_are_reproducible_with_a_seed(tmp_path: Path) -> None:
    first = _statuses(tmp_path / "a", seed=1)
    again = _statuses(tmp_path / "b", seed=1)
    other = _statuses(tmp_path / "c", seed=2)
    assert first == again
    assert first != other
    assert set(first) == {200, 429, 503}
    assert 4 <= first.count(503) <= 22
    assert 1 <= first.count(429) <= 14


def test_reset_drops_the_connection_before_the_handler(tmp_path: Path) -> None:
    with (
        serve_in_thread(data_dir=tmp_path, api_keys={KEY: 1}, faults="reset:1") as url,
        api_client(url) as c,
    ):
        with pytest.raises(httpx.TransportError):
            c.post("/characters", json={"name": "lost?"})
        assert c.get("/characters", headers=BYPASS).json()["characters"] == []


def test_lost_commits_but_never_answers(tmp_path: Path) -> None:
    with (
        serve_in_thread(data_dir=tmp_path, api_keys={KEY: 1}, faults="lost:1") as url,
        api_client(url) as c,
    ):
        cid = c.post("/characters", json={"name": "A"}, headers=BYPASS).json()["character_id"]
        key = {"Idempotency-Key": "k-1"}
        with pytest.raises(httpx.TransportError):
            upload(c, cid, "face", 1, headers=key)
        assets = c.get(f"/{cid}/assets", headers=BYPASS).json()["assets"]
        assert len(assets) == 1  # committed although the client saw no response
        retry = upload(c, cid, "face", 1, headers={**key, **BYPASS})
        assert retry.json()["asset_id"] == assets[0]["asset_id"]
        assert c.get(f"/{cid}/assets", headers=BYPASS).json()["total"] == 1


def test_garbled_commits_and_answers_its_status_as_an_html_page(tmp_path: Path) -> None:
    assert parse_faults("garbled:0.2") == (Fault("garbled", 0.2),)
    with (
        serve_in_thread(data_dir=tmp_path, api_keys={KEY: 1}, faults="garbled:1") as url,
        api_client(url) as c,
    ):
        made = c.post("/characters", json={"name": "A"})
        assert made.is_success
        assert made.headers["content-type"] == "text/html"
        assert made.content == GARBLED_PAGE
        missing = c.get("/characters/nobody")
        assert missing.status_code == 404 and missing.content == GARBLED_PAGE
        (stored,) = c.get("/characters", headers=BYPASS).json()["characters"]
        assert stored["name"] == "A"  # committed although the answer was unreadable


def test_slow_delays_the_response(tmp_path: Path) -> None:
    with (
        serve_in_thread(data_dir=tmp_path, api_keys={KEY: 1}, faults="slow:1@0.4s") as url,
        api_client(url) as c,
    ):
        start = time.monotonic()
        assert c.get("/characters").status_code == 200
        assert time.monotonic() - start >= 0.4


def test_in_process_drops_reach_clients_as_protocol_errors(tmp_path: Path) -> None:
    app = create_app(data_dir=tmp_path, api_keys={KEY: 1}, faults="reset:1")
    headers = {"Authorization": f"Bearer {KEY}"}
    try:
        with httpx.Client(
            transport=SyncASGITransport(app), base_url="http://sandbox/v2", headers=headers
        ) as c:
            with pytest.raises(httpx.RemoteProtocolError) as caught:
                c.get("/characters")
            # The sandbox's own signal is kept as the cause.
            assert isinstance(caught.value.__cause__, ConnectionDropped)
            assert c.get("/characters", headers=BYPASS).status_code == 200
    finally:
        close_app(app)
