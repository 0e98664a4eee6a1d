"""The client against a real server on loopback that misbehaves: every answer is bounded
in size and in time, and every failure is an ``AnimusError``.

Each test runs with ``Client`` and ``AsyncClient`` over their real network transports.
"""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hostile_server import (
    HostileServer,
    Request,
    close_delimited,
    declares,
    drip,
    endless,
    gzip_bomb,
    respond,
    respond_json,
    timed,
    truncated,
)

from animus_prep.client import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    AsyncClient,
    Client,
    ResponseTooLargeError,
    ServerError,
)
from animus_prep.client._bounds import ERROR_BODY_BYTES
from animus_prep.client.testing import FakeClock

KEY = "sk-hostile-test-1"
MB = 1024 * 1024
# Room for thread scheduling on a loaded machine; far below "never".
SLACK = 1.5


def call(mode: str, url: str, action: Callable[[Any], Any], **options: Any) -> Any:
    """``action(client)`` with the ``mode`` client on its real transport (no sleeps)."""
    clock = FakeClock()
    config: dict[str, Any] = {"api_key": KEY, "base_url": url, "max_retries": 0, **options}
    if mode == "sync":
        with Client(clock=clock, sleep=clock.sleep, **config) as client:
            return action(client)

    async def main() -> Any:
        async with AsyncClient(clock=clock, sleep=clock.async_sleep, **config) as client:
            return await action(client)

    return asyncio.run(main())


def get_character(client: Any) -> Any:
    return client.characters.get("c1")


def outcome(mode: str, behaviour: Any, action: Any = get_character, **options: Any) -> Any:
    """(what the call returned or raised, seconds it took, the server)."""
    with HostileServer(behaviour) as server:
        result, seconds = timed(lambda: call(mode, server.url, action, **options))
    return result, seconds, server


# Size


def test_an_endless_json_body_stops_at_the_default_cap(mode: str) -> None:
    sent: list[int] = []
    error, _, _ = outcome(mode, endless(counter=sent))
    assert isinstance(error, ResponseTooLargeError), error
    assert error.limit == 16 * MB and error.status_code == 200
    assert "16777216" in str(error)
    # The server got to write little more than the cap (plus socket buffers).
    assert sent and sent[0] < 16 * MB + 8 * MB


def test_the_cap_bounds_memory(mode: str) -> None:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        error, _, _ = outcome(mode, endless(), max_json_bytes=2 * MB)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert isinstance(error, ResponseTooLargeError) and error.limit == 2 * MB
    # The body read so far is held once (chunks), plus one chunk in flight.
    assert peak < 6 * MB, f"{peak / MB:.1f} MB traced"


def test_downloads_have_their_own_cap(mode: str) -> None:
    def fetch(client: Any) -> Any:
        return client.download(client.base_url + "/files/big.png")

    error, _, _ = outcome(mode, endless(content_type="image/png"), fetch, max_download_bytes=3 * MB)
    assert isinstance(error, ResponseTooLargeError) and error.limit == 3 * MB
    blob = b"\x89PNG" + b"\x00" * (2 * MB)

    def small(request: Request, sock: Any, stop: Any) -> None:
        respond(sock, 200, blob, {"content-type": "image/png"})

    data, _, _ = outcome(mode, small, fetch, max_download_bytes=3 * MB, max_json_bytes=MB)
    assert data == blob  # a download is not held to the JSON cap


def test_a_declared_length_over_the_cap_is_refused_before_reading(mode: str) -> None:
    error, seconds, _ = outcome(mode, declares(10 * 1024**3))
    assert isinstance(error, ResponseTooLargeError)
    assert "declares 10737418240 bytes" in str(error)
    assert seconds < SLACK


def test_a_compressed_body_is_counted_after_inflating(mode: str) -> None:
    # ~20 KB on the wire, 8 MiB once inflated.
    error, _, _ = outcome(mode, gzip_bomb(8 * MB), max_json_bytes=MB)
    assert isinstance(error, ResponseTooLargeError) and error.limit == MB


def test_a_body_that_does_not_inflate_is_a_validation_error(mode: str) -> None:
    def behave(request: Request, sock: Any, stop: Any) -> None:
        headers = {"content-type": "application/json", "content-encoding": "gzip"}
        respond(sock, 200, b"this is not gzip at all", headers)

    error, _, _ = outcome(mode, behave, max_retries=2)
    assert type(error) is APIResponseValidationError
    assert "could not be decoded" in str(error)


def test_an_endless_error_body_is_cut_and_the_status_kept(mode: str) -> None:
    error, _, _ = outcome(mode, endless(status=503, content_type="text/html"))
    assert isinstance(error, ServerError) and error.status_code == 503
    assert isinstance(error.body, str) and len(error.body) <= ERROR_BODY_BYTES


# Time


@pytest.mark.parametrize("where", ["body", "headers"])
def test_a_dripping_server_is_cut_off_at_the_deadline(mode: str, where: str) -> None:
    # A byte every 50 ms: each read is far within the 5 s timeout, so only the deadline
    # for the whole attempt can end this.
    behaviour = drip(0.05, in_headers=where == "headers")
    error, seconds, _ = outcome(mode, behaviour, timeout=5, deadline=1.0)
    assert isinstance(error, APITimeoutError), error
    assert "deadline" in str(error)
    assert 0.9 < seconds < 1.0 + SLACK


def test_the_sync_deadline_holds_on_a_transport_of_ones_own() -> None:
    # An httpx.HTTPTransport passed in (e.g. with retries or a proxy) keeps the deadline.
    with HostileServer(drip(0.05, in_headers=True)) as server:
        transport = httpx.HTTPTransport(retries=1)
        error, seconds = timed(
            lambda: call("sync", server.url, get_character, transport=transport, deadline=0.7)
        )
    assert isinstance(error, APITimeoutError)
    assert seconds < 0.7 + SLACK


def test_the_deadline_covers_every_attempt_and_retries_stay_bounded(mode: str) -> None:
    error, seconds, server = outcome(mode, drip(0.05), timeout=5, deadline=0.5, max_retries=2)
    assert isinstance(error, APITimeoutError)
    assert len(server.requests) == 3  # a GET is retried after a timeout
    assert seconds < 3 * 0.5 + SLACK


def test_a_slow_answer_within_the_deadline_is_read(mode: str) -> None:
    body = b'{"character_id": "c1", "name": "slow"}'
    character, seconds, _ = outcome(mode, drip(0.01, body=body), timeout=5, deadline=10)
    assert character.character_id == "c1" and character.name == "slow"
    assert seconds > 0.3


def test_no_deadline_when_it_is_turned_off(mode: str) -> None:
    body = b'{"character_id": "c1"}'
    character, _, _ = outcome(mode, drip(0.03, body=body), timeout=5, deadline=None)
    assert character.character_id == "c1"


# Parse failures


def _deep(levels: int) -> Callable[..., None]:
    def behave(request: Request, sock: Any, stop: Any) -> None:
        respond(sock, 200, b"[" * levels + b"]" * levels, {"content-type": "application/json"})

    return behave


@pytest.mark.parametrize("levels", [100, 100_000])
def test_deep_json_is_a_validation_error(mode: str, levels: int) -> None:
    # 100 levels parse but are refused; 100 000 make json itself raise RecursionError.
    error, _, _ = outcome(mode, _deep(levels))
    assert isinstance(error, APIResponseValidationError), error
    assert "nested" in str(error)


def test_invalid_utf8_is_a_validation_error(mode: str) -> None:
    def behave(request: Request, sock: Any, stop: Any) -> None:
        body = b'{"character_id": "c\xff\xfe1"}'
        respond(sock, 200, body, {"content-type": "application/json"})

    error, _, _ = outcome(mode, behave)
    assert isinstance(error, APIResponseValidationError)
    assert "not UTF-8" in str(error)


def test_a_body_cut_short_of_its_length_is_a_connection_error(mode: str) -> None:
    error, _, server = outcome(mode, truncated, max_retries=1)
    assert isinstance(error, APIConnectionError) and not isinstance(error, APITimeoutError)
    assert len(server.requests) == 2  # transient: a GET is retried


def test_a_body_cut_short_by_closing_is_a_validation_error(mode: str) -> None:
    error, _, _ = outcome(mode, close_delimited(b'{"character_id": "c1", "name": "Chl'))
    assert isinstance(error, APIResponseValidationError)
    assert "does not parse" in str(error)


def test_a_sane_answer_still_parses(mode: str) -> None:
    def behave(request: Request, sock: Any, stop: Any) -> None:
        respond_json(sock, 200, {"character_id": "c1", "surprise": {"new": [1, 2]}})

    character, _, server = outcome(mode, behave)
    assert character.character_id == "c1" and character.extra == {"surprise": {"new": [1, 2]}}
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize(
    "options",
    [{"deadline": 0}, {"deadline": -1.0}, {"max_json_bytes": 0}, {"max_download_bytes": -5}],
)
def test_bad_bounds_are_refused_up_front(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Client(api_key=KEY, **options)
    with pytest.raises(ValueError):
        AsyncClient(api_key=KEY, **options)
