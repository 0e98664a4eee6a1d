"""Retry policy, Retry-After, attempt and time bounds, and which calls are retried."""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Iterator

import httpx
import pytest
from client_support import BASE, Recorder, run
from hypothesis import given
from hypothesis import strategies as st

from animus_prep.client import (
    APIConnectionError,
    APITimeoutError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PaymentRequiredError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    _retry,
    parse_retry_after,
)
from animus_prep.client.testing import FakeClock, disable_sleep

OK = {"character_id": "c1", "job_id": "j1", "generation_id": "g1"}


def script(*outcomes: int | type[httpx.TransportError], headers: dict[str, str] | None = None):
    """A handler answering with each status (or raising each error) in turn, then 200."""
    queue: Iterator[int | type[httpx.TransportError]] = iter(outcomes)

    def handler(request: httpx.Request) -> httpx.Response:
        outcome = next(queue, 200)
        if isinstance(outcome, int):
            body = OK if outcome == 200 else {"detail": "x"}
            return httpx.Response(outcome, json=body, headers=headers or {})
        raise outcome("simulated", request=request)

    return Recorder(handler)


# Policy unit tests


@given(attempt=st.integers(1, 30), seed=st.integers(0, 2**32))
def test_backoff_is_full_jitter_under_the_cap(attempt: int, seed: int) -> None:
    policy = RetryPolicy(initial_wait=0.5, max_wait=8.0)
    wait = policy.backoff(attempt, random.Random(seed))
    assert 0.0 <= wait <= min(8.0, 0.5 * 2 ** (attempt - 1))


def test_backoff_grows_exponentially_on_average() -> None:
    policy = RetryPolicy(initial_wait=1.0, max_wait=100.0)
    rng = random.Random(1)
    means = [sum(policy.backoff(a, rng) for _ in range(2000)) / 2000 for a in (1, 2, 3)]
    assert 0.4 < means[0] < 0.6 and 0.9 < means[1] < 1.1 and 1.8 < means[2] < 2.2


def test_next_wait_respects_attempts_and_total_time() -> None:
    policy = RetryPolicy(attempts=3, timeout=10.0)
    rng = random.Random(0)
    assert policy.next_wait(1, 0.0, rng, retry_after=2.0) == 2.0
    assert policy.next_wait(3, 0.0, rng, retry_after=2.0) is None  # attempts spent
    assert policy.next_wait(1, 9.0, rng, retry_after=2.0) is None  # would pass the deadline
    assert policy.next_wait(1, 8.0, rng, retry_after=2.0) == 2.0


def test_the_long_running_budget_is_ten_attempts_or_five_minutes(mode: str) -> None:
    policy = RetryPolicy.long_running()
    assert (policy.attempts, policy.timeout) == (10, 300.0)
    recorder = script(*([503] * 12))
    clock = FakeClock()
    with pytest.raises(ServerError):
        run(mode, lambda c: c.characters.get("c1"), recorder, clock=clock, retry=policy)
    assert len(recorder.requests) == 10
    assert all(0 <= w <= 30.0 for w in clock.sleeps)
    # Refusals asking for a minute each: the five minutes run out first.
    recorder = script(*([429] * 12), headers={"retry-after": "60"})
    clock = FakeClock()
    with pytest.raises(RateLimitError):
        run(mode, lambda c: c.characters.get("c1"), recorder, clock=clock, retry=policy)
    assert clock.sleeps == [60.0] * 5 and len(recorder.requests) == 6


@pytest.mark.parametrize("bad", [{"attempts": 0}, {"timeout": -1.0}, {"max_wait": -1.0}])
def test_policy_rejects_nonsense(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": " 1.5 "}, 1.5),
        ({"retry-after": "-4"}, 0.0),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "nan"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after_seconds(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers) == expected


def test_parse_retry_after_http_date() -> None:
    now = 1_800_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after({"retry-after": date}, now=now) == pytest.approx(30.0)
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert parse_retry_after({"retry-after": past}, now=now) == 0.0


# Client behaviour


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504, 599])
def test_transient_statuses_are_retried(mode: str, status: int) -> None:
    recorder = script(status, status)
    clock = FakeClock()
    result = run(mode, lambda c: c.characters.get("c1"), recorder, clock=clock)
    assert result.character_id == "c1"
    assert len(recorder.requests) == 3
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ReadError, httpx.ReadTimeout])
def test_transport_errors_are_retried(mode: str, error: type[httpx.TransportError]) -> None:
    recorder = script(error)
    result = run(mode, lambda c: c.characters.get("c1"), recorder)
    assert result.character_id == "c1"
    assert len(recorder.requests) == 2


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (402, PaymentRequiredError),
        (404, NotFoundError),
        (409, ConflictError),
        (501, ServerError),
        (505, ServerError),
    ],
)
def test_permanent_statuses_are_not_retried(mode: str, status: int, cls: type[Exception]) -> None:
    recorder = script(status)
    clock = FakeClock()
    with pytest.raises(cls):
        run(mode, lambda c: c.characters.get("c1"), recorder, clock=clock)
    assert len(recorder.requests) == 1
    assert clock.sleeps == []


def test_retry_after_is_honoured(mode: str) -> None:
    recorder = script(429, 503, headers={"retry-after": "7"})
    clock = FakeClock()
    run(mode, lambda c: c.characters.get("c1"), recorder, clock=clock)
    assert clock.sleeps == [7.0, 7.0]


def test_retry_after_http_date_is_honoured(mode: str) -> None:
    date = email.utils.formatdate(time.time() + 20, usegmt=True)
    recorder = script(429, headers={"retry-after": date})
    clock = FakeClock()
    run(mode, lambda c: c.characters.get("c1"), recorder, clock=clock)
    assert len(clock.sleeps) == 1
    assert 18.0 <= clock.sleeps[0] <= 20.0  # HTTP-dates have whole-second precision


def test_attempts_are_bounded(mode: str) -> None:
    recorder = script(503, 503, 503, 503, 503)
    with pytest.raises(ServerError):
        run(mode, lambda c: c.characters.get("c1"), recorder, max_retries=3)
    assert len(recorder.requests) == 4


def test_max_retries_zero_sends_once(mode: str) -> None:
    recorder = script(httpx.ConnectError)
    with pytest.raises(APIConnectionError):
        run(mode, lambda c: c.characters.get("c1"), recorder, max_retries=0)
    assert len(recorder.requests) == 1


def test_total_time_is_bounded(mode: str) -> None:
    # Each 429 asks for 25 s; with a 60 s budget the third wait (75 s) is refused.
    recorder = script(429, 429, 429, 429, headers={"retry-after": "25"})
    clock = FakeClock()
    policy = RetryPolicy(attempts=10, timeout=60.0)
    with pytest.raises(RateLimitError) as info:
        run(mode, lambda c: c.characters.get("c1"), recorder, clock=clock, retry=policy)
    assert clock.sleeps == [25.0, 25.0]
    assert len(recorder.requests) == 3
    assert info.value.headers["retry-after"] == "25"


def test_slow_attempts_count_against_the_budget(mode: str) -> None:
    clock = FakeClock()

    def slow_fail(request: httpx.Request) -> httpx.Response:
        clock.advance(40.0)  # the request itself took 40 s
        raise httpx.ReadTimeout("slow", request=request)

    recorder = Recorder(slow_fail)
    policy = RetryPolicy(attempts=10, timeout=60.0, max_wait=1.0)
    with pytest.raises(APITimeoutError):
        run(mode, lambda c: c.characters.get("c1"), recorder, clock=clock, retry=policy)
    assert len(recorder.requests) == 2


def test_non_idempotent_post_is_not_resent_after_ambiguous_failure(mode: str) -> None:
    # The server may have queued the generation (and charged) before the gateway failed;
    # generations cannot be listed, so nothing can tell.
    for outcome in (500, 502, 504, httpx.ReadError, httpx.ReadTimeout):
        recorder = script(outcome)
        with pytest.raises((ServerError, APIConnectionError)) as info:
            run(mode, lambda c: c.generation.create("c1", "p"), recorder)
        assert len(recorder.requests) == 1, outcome
        assert info.value.may_have_run is True, outcome


def test_a_failure_that_proves_nothing_ran_is_not_in_doubt(mode: str) -> None:
    cases = [
        (lambda c: c.generation.create("c1", "p"), (503,) * 3),  # refused every time
        (lambda c: c.generation.create("c1", "p"), (httpx.ConnectError,) * 3),
        (lambda c: c.generation.create("c1", "p"), (400,)),
        (lambda c: c.characters.get("c1"), (httpx.ReadError,) * 3),  # safe to resend anyway
    ]
    for call, outcomes in cases:
        with pytest.raises((ServerError, APIConnectionError, BadRequestError)) as info:
            run(mode, call, script(*outcomes))
        assert info.value.may_have_run is False, outcomes


def test_non_idempotent_post_is_resent_when_surely_unprocessed(mode: str) -> None:
    for outcome in (429, 503, httpx.ConnectError, httpx.ConnectTimeout):
        recorder = script(outcome)
        run(mode, lambda c: c.generation.create("c1", "p"), recorder)
        assert len(recorder.requests) == 2, outcome
        keys = {r.headers["idempotency-key"] for r in recorder.requests}
        assert len(keys) == 1  # the same key on every attempt


def test_each_post_call_gets_its_own_idempotency_key() -> None:
    recorder = script()

    def twice(client: object) -> None:
        client.generation.create("c1", "p")  # type: ignore[attr-defined]
        client.generation.create("c1", "p")  # type: ignore[attr-defined]

    run("sync", twice, recorder)
    keys = [r.headers["idempotency-key"] for r in recorder.requests]
    assert len(keys) == 2 and keys[0] != keys[1]


def test_get_sends_no_idempotency_key() -> None:
    recorder = script()
    run("sync", lambda c: c.characters.get("c1"), recorder)
    assert "idempotency-key" not in recorder.requests[0].headers


def test_disable_sleep_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    with disable_sleep():
        _retry.default_sleep(5.0)
    assert slept == []
    _retry.default_sleep(0.25)
    assert slept == [0.25]


def test_default_sleep_used_with_switch(mode: str) -> None:
    recorder = script(503)
    clock = FakeClock()
    with disable_sleep():
        if mode == "sync":
            from animus_prep.client import Client

            with Client(api_key="k", transport=httpx.MockTransport(recorder), clock=clock) as c:
                c.characters.get("c1")
        else:
            import asyncio

            from animus_prep.client import AsyncClient

            async def main() -> None:
                transport = httpx.MockTransport(recorder)
                async with AsyncClient(api_key="k", transport=transport, clock=clock) as c:
                    await c.characters.get("c1")

            asyncio.run(main())
    assert len(recorder.requests) == 2
    assert clock.sleeps == []  # the default sleep ran, not the fake one


def test_retries_are_logged(mode: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG", logger="animus_prep.client")
    run(mode, lambda c: c.characters.get("c1"), script(503))
    messages = [r.getMessage() for r in caplog.records]
    assert any("retrying GET /characters/c1" in m and "ServerError" in m for m in messages)
    assert any("-> 200" in m for m in messages)


def test_download_retries_name_the_url_path_not_its_query(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="animus_prep.client")
    url = f"{BASE}/files/render-7.png?signature=secret-token"
    run(mode, lambda c: c.download(url), script(503))
    notices = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(notices) == 1
    assert notices[0].startswith("retrying GET /v2/files/render-7.png in ")
    assert "secret-token" not in notices[0]
