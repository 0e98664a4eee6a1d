"""The API key never shows in a repr, an exception or a log line."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest
from client_support import API_KEY, Recorder, respond_json, run

from animus_prep.client import AnimusError, AsyncClient, Client, MissingAPIKeyError


def _leaks(exc: BaseException) -> list[str]:
    """Every textual view of an exception and its causes that contains the key."""
    found = []
    seen: BaseException | None = exc
    while seen is not None:
        views = [str(seen), repr(seen), repr(seen.args), repr(vars(seen))]
        found += [v for v in views if API_KEY in v]
        seen = seen.__cause__ or seen.__context__
    return found


def test_client_reprs_hide_the_key() -> None:
    transport = httpx.MockTransport(lambda r: respond_json({}))
    with Client(api_key=API_KEY, transport=transport) as client:
        assert API_KEY not in repr(client)
        assert API_KEY not in repr(client._core)
        assert API_KEY not in repr(vars(client._core))
        assert "api.animusai.co" in repr(client)

    async def main() -> str:
        async with AsyncClient(api_key=API_KEY, transport=transport) as client:
            return repr(client) + repr(client._core)

    assert API_KEY not in asyncio.run(main())


def _echo_key(status: int) -> Recorder:
    # A hostile or buggy server that echoes the Authorization header everywhere.
    def handler(request: httpx.Request) -> httpx.Response:
        auth = request.headers["authorization"]
        return httpx.Response(
            status,
            json={"message": f"bad {auth}", "detail": [{"loc": [auth], "msg": auth}]},
            headers={"x-echo": auth, "x-request-id": "r1"},
        )

    return Recorder(handler)


FAILURES: list[tuple[str, Any]] = [
    *[
        (f"status-{s}", lambda s=s: _echo_key(s))
        for s in (400, 401, 402, 403, 404, 409, 413, 422, 429, 500, 503)
    ],
    (
        "connect",
        lambda: Recorder(lambda r: (_ for _ in ()).throw(httpx.ConnectError("refused", request=r))),
    ),
    (
        "timeout",
        lambda: Recorder(lambda r: (_ for _ in ()).throw(httpx.ReadTimeout("slow", request=r))),
    ),
    ("not-json", lambda: Recorder(lambda r: httpx.Response(200, text=r.headers["authorization"]))),
    ("wait-timeout", None),
]


@pytest.mark.parametrize(("name", "make"), FAILURES, ids=[f[0] for f in FAILURES])
def test_no_exception_contains_the_key(mode: str, name: str, make: Any) -> None:
    if make is None:
        recorder = Recorder(lambda r: respond_json({"status": "queued", "note": "x"}))
        action = lambda c: c.generation.wait("g1", timeout=1, interval=1)  # noqa: E731
    else:
        recorder = make()
        action = lambda c: c.characters.get("c1")  # noqa: E731
    with pytest.raises(AnimusError) as info:
        run(mode, action, recorder, max_retries=1)
    assert _leaks(info.value) == []
    # The key did go out on the wire: the test would catch a redaction that broke auth.
    assert recorder.requests[0].headers["authorization"] == f"Bearer {API_KEY}"


def test_echoed_key_is_redacted_from_message_body_and_headers() -> None:
    with pytest.raises(AnimusError) as info:
        run("sync", lambda c: c.characters.get("c1"), _echo_key(400))
    err: Any = info.value
    assert err.message == "bad Bearer [redacted]"
    assert err.body["detail"][0]["msg"] == "Bearer [redacted]"
    assert err.headers["x-echo"] == "Bearer [redacted]"


def test_missing_key_error_has_no_key_material() -> None:
    with pytest.raises(MissingAPIKeyError) as info:
        Client(api_key=None)
    assert "Bearer" not in str(info.value)


def test_logs_never_contain_the_key(mode: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            raise httpx.ConnectError("refused", request=request)
        if calls["n"] == 2:
            return respond_json({"detail": "busy"}, 503)
        return respond_json({"character_id": "c1"})

    run(mode, lambda c: c.characters.get("c1"), Recorder(handler))
    assert calls["n"] == 3
    assert caplog.records, "expected the retries to be logged"
    for record in caplog.records:
        assert API_KEY not in record.getMessage()
        assert API_KEY not in repr(record.args)
