"""Construction: environment defaults, missing key, lifecycle, in-process ASGI transport."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from client_support import Recorder, respond_json

import animus_prep.client as public
from animus_prep.client import (
    DEFAULT_BASE_URL,
    AnimusError,
    AsyncClient,
    Client,
    ClientConfigError,
    MissingAPIKeyError,
    RetryPolicy,
)


def _ok() -> Recorder:
    return Recorder(lambda r: respond_json({"character_id": "c1"}))


def test_defaults_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANIMUS_API_KEY", "env-key")
    monkeypatch.setenv("ANIMUS_BASE_URL", "https://staging.example/v2/")
    recorder = _ok()
    with Client(transport=httpx.MockTransport(recorder)) as client:
        assert client.base_url == "https://staging.example/v2"
        client.characters.get("c1")
    request = recorder.requests[0]
    assert str(request.url) == "https://staging.example/v2/characters/c1"
    assert request.headers["authorization"] == "Bearer env-key"


def test_explicit_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANIMUS_API_KEY", "env-key")
    monkeypatch.setenv("ANIMUS_BASE_URL", "https://staging.example/v2")
    recorder = _ok()
    with Client(
        api_key="arg-key", base_url="https://x.test/v9", transport=httpx.MockTransport(recorder)
    ) as c:
        c.characters.get("c1")
    assert str(recorder.requests[0].url) == "https://x.test/v9/characters/c1"
    assert recorder.requests[0].headers["authorization"] == "Bearer arg-key"


def test_default_base_url() -> None:
    with Client(api_key="k", transport=httpx.MockTransport(_ok())) as client:
        assert client.base_url == DEFAULT_BASE_URL == "https://api.animusai.co/v2"


@pytest.mark.parametrize("key", [None, "", "   "])
def test_missing_key_is_a_clear_error(key: str | None) -> None:
    with pytest.raises(MissingAPIKeyError, match="ANIMUS_API_KEY") as info:
        Client(api_key=key)
    assert isinstance(info.value, AnimusError)
    with pytest.raises(MissingAPIKeyError):
        AsyncClient(api_key=key)


@pytest.mark.parametrize(
    "key",
    ["sk-live-SECRET123\r\nX-Extra: 1", "sk live SECRET123", "\u201csk-live-SECRET123\u201d"],
)
def test_a_malformed_key_is_refused_up_front_without_showing_it(key: str) -> None:
    for cls in (Client, AsyncClient):
        with pytest.raises(ClientConfigError, match="malformed") as info:
            cls(api_key=key)
        assert "SECRET123" not in str(info.value)
        assert isinstance(info.value, AnimusError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("url", ["http://[::1/v2", "ftp://example.test/v2", "/v2", "api/v2"])
def test_a_base_url_that_is_not_http_is_a_clear_error(url: str) -> None:
    with pytest.raises(ClientConfigError, match="base URL"):
        Client(api_key="k", base_url=url)


def test_the_key_is_redacted_from_transport_errors_even_escaped() -> None:
    key = "sk-live-'SECRET\\123'"

    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"refused, headers were {dict(request.headers)!r}")

    with (
        Client(api_key=key, transport=httpx.MockTransport(fail), max_retries=0) as client,
        pytest.raises(AnimusError) as info,
    ):
        client.characters.get("c1")
    assert "SECRET" not in str(info.value)
    assert "[redacted]" in str(info.value)


def test_max_retries_sets_attempts() -> None:
    with Client(api_key="k", max_retries=5, transport=httpx.MockTransport(_ok())) as client:
        assert client.retry_policy.attempts == 6
    policy = RetryPolicy(attempts=2, timeout=5.0)
    with Client(api_key="k", retry=policy, transport=httpx.MockTransport(_ok())) as client:
        assert client.retry_policy == policy
    with pytest.raises(ValueError):
        Client(api_key="k", max_retries=-1)


def test_timeout_is_passed_to_httpx() -> None:
    seen: list[object] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions.get("timeout"))
        return respond_json({"character_id": "c1"})

    with Client(api_key="k", timeout=3.5, transport=httpx.MockTransport(handler)) as client:
        client.characters.get("c1")
    assert seen == [{"connect": 3.5, "read": 3.5, "write": 3.5, "pool": 3.5}]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"timeout": -1}, "timeout must be positive and finite"),
        ({"timeout": float("nan")}, "timeout must be positive and finite"),
        ({"timeout": "5"}, "timeout must be a number of seconds"),
        ({"deadline": float("inf")}, "deadline must be a positive number"),
        ({"max_retries": -1}, "max_retries must not be negative"),
        ({"max_json_bytes": 0}, "must be positive"),
    ],
)
@pytest.mark.parametrize("kind", [Client, AsyncClient])
def test_bad_settings_are_refused_when_the_client_is_made(
    kind: type[Client] | type[AsyncClient], settings: dict[str, object], message: str
) -> None:
    # At construction, as a ClientConfigError (an AnimusError), not at the first request
    # as httpx's own ValueError.
    with pytest.raises(ClientConfigError, match=message):
        kind(api_key="k", transport=None, **settings)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"multiplier": -2}, "multiplier must be at least 1"),
        ({"multiplier": 0.5}, "multiplier must be at least 1"),
        ({"timeout": float("nan")}, "timeout must be finite"),
        ({"initial_wait": float("inf")}, "initial_wait must be finite"),
        ({"attempts": 2.5}, "attempts must be a whole number"),
        ({"attempts": 0}, "attempts must be at least 1"),
        ({"max_wait": -1.0}, "must not be negative"),
        ({"max_wait": "1"}, "max_wait must be a number"),
    ],
)
def test_a_retry_policy_that_cannot_work_is_refused(
    settings: dict[str, object], message: str
) -> None:
    with pytest.raises(ClientConfigError, match=message):
        RetryPolicy(**settings)  # type: ignore[arg-type]


def test_sync_client_closes() -> None:
    client = Client(api_key="k", transport=httpx.MockTransport(_ok()))
    with client:
        client.characters.get("c1")
    with pytest.raises(RuntimeError):
        client.characters.get("c1")
    other = Client(api_key="k", transport=httpx.MockTransport(_ok()))
    other.close()
    with pytest.raises(RuntimeError):
        other.characters.get("c1")


def test_async_client_closes() -> None:
    async def main() -> None:
        client = AsyncClient(api_key="k", transport=httpx.MockTransport(_ok()))
        async with client:
            await client.characters.get("c1")
        with pytest.raises(RuntimeError):
            await client.characters.get("c1")
        other = AsyncClient(api_key="k", transport=httpx.MockTransport(_ok()))
        await other.close()
        with pytest.raises(RuntimeError):
            await other.characters.get("c1")

    asyncio.run(main())


def test_async_client_over_an_in_process_asgi_app() -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def get_character(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != "Bearer k":
            return JSONResponse({"detail": "bad key"}, status_code=401)
        return JSONResponse({"character_id": request.path_params["cid"], "status": "ready"})

    app = Starlette(routes=[Route("/v2/characters/{cid}", get_character)])

    async def main() -> tuple[str | None, bool]:
        transport = httpx.ASGITransport(app=app)
        async with AsyncClient(api_key="k", base_url="http://sandbox/v2", transport=transport) as c:
            character = await c.characters.get("c42")
        async with AsyncClient(
            api_key="bad", base_url="http://sandbox/v2", transport=transport
        ) as c:
            try:
                await c.characters.get("c42")
            except public.AuthenticationError:
                return character.character_id, character.succeeded
        return None, False

    assert asyncio.run(main()) == ("c42", True)


def test_all_matches_the_public_names() -> None:
    public_names = {
        name
        for name in dir(public)
        if not name.startswith("_") and not isinstance(getattr(public, name), type(public))
    }
    assert set(public.__all__) == public_names
    assert len(public.__all__) == len(set(public.__all__))
    for name in public.__all__:
        assert getattr(public, name) is not None


def test_public_classes_and_functions_have_docstrings() -> None:
    for name in public.__all__:
        obj = getattr(public, name)
        if callable(obj):
            assert (obj.__doc__ or "").strip(), name
