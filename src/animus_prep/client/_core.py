"""The sans-I/O core shared by ``Client`` and ``AsyncClient``.

A call's whole life (build the request, map the response to a model or an error, decide
whether and how long to wait before retrying) is a generator that yields ``Send`` and
``Sleep`` steps; the sync and async clients only perform those steps. So retries,
reconciliation and waiters are written once and behave identically in both clients.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import random
import re
import time
import uuid
from collections.abc import Callable, Generator, Mapping
from typing import Any, Generic, TypeVar

import httpx

from . import _exceptions as exc
from ._retry import UNSENT_RETRYABLE_STATUSES, RetryPolicy, parse_retry_after, retryable_status

__all__ = ["DEFAULT_BASE_URL", "Call", "ClientCore", "Flow", "Send", "Sleep"]

DEFAULT_BASE_URL = "https://api.animusai.co/v2"
DEFAULT_TIMEOUT = 60.0
_USER_AGENT = "animus-prep-client"

logger = logging.getLogger("animus_prep.client")

T = TypeVar("T")
Outcome = httpx.Response | httpx.RequestError | None


@dataclasses.dataclass(frozen=True)
class Send:
    """Step: send this request; resume with the response or the ``httpx.RequestError``."""

    request: httpx.Request


@dataclasses.dataclass(frozen=True)
class Sleep:
    """Step: wait this many seconds; resume with None."""

    seconds: float


Step = Send | Sleep
Flow = Generator[Step, Outcome, T]


@dataclasses.dataclass(frozen=True)
class Call(Generic[T]):
    """One API operation: how to send it, how to read its answer, whether resending is safe.

    ``idempotent`` calls are retried on every transient failure; others only when the
    failure shows the server never ran them (connection refused, 429, 503).
    """

    method: str
    path: str
    parse: Callable[[Any], T]
    params: Mapping[str, str | int | float | bool] | None = None
    json: Any = None
    files: Mapping[str, tuple[str, bytes, str]] | None = None
    data: Mapping[str, str] | None = None
    idempotent: bool = False
    idempotency_key: str | None = None
    url: str | None = None
    """An absolute URL to fetch instead of ``path`` (a ``view_url``)."""
    binary: bool = False
    """Hand ``parse`` the raw response bytes instead of parsed JSON."""
    gone_means_done: bool = False
    """A 404 on a resend, after an attempt whose fate is unknown, means that attempt worked
    (a DELETE whose response was lost)."""


_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]+")


def _checked_base_url(url: str) -> str:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as error:
        raise exc.ClientConfigError(f"the Animus base URL {url!r} is not a URL: {error}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise exc.ClientConfigError(
            f"the Animus base URL {url!r} must be an http:// or https:// URL with a host"
        )
    return url


class ClientCore:
    """Configuration plus the pure logic of every call. Holds the API key privately."""

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        max_retries: int | None,
        retry: RetryPolicy | None,
        clock: Callable[[], float] | None,
        rng: random.Random | None,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("ANIMUS_API_KEY")
        if not key or not key.strip():
            raise exc.MissingAPIKeyError(
                "no Animus API key: pass api_key= or set the ANIMUS_API_KEY environment variable"
            )
        key = key.strip()
        if not _PRINTABLE_ASCII.fullmatch(key):
            raise exc.ClientConfigError(
                "the Animus API key is malformed: it must be printable ASCII with no spaces or "
                "line breaks (look for a line break inside it, or typographic quotes around it)"
            )
        self.__api_key = _Secret(key)
        url = base_url or os.environ.get("ANIMUS_BASE_URL") or DEFAULT_BASE_URL
        self.base_url = _checked_base_url(url.rstrip("/"))
        policy = retry or RetryPolicy()
        if max_retries is not None:
            if max_retries < 0:
                raise ValueError("max_retries must not be negative")
            policy = dataclasses.replace(policy, attempts=max_retries + 1)
        self.retry = policy
        self.clock = clock or time.monotonic
        self.rng = rng or random.Random()

    def __repr__(self) -> str:
        return f"ClientCore(base_url={self.base_url!r})"

    # Request side

    def build_request(self, call: Call[Any], idempotency_key: str | None) -> httpx.Request:
        """A fresh request for one attempt (multipart bodies cannot be re-read)."""
        headers = {
            "Accept": "*/*" if call.binary else "application/json",
            "User-Agent": _USER_AGENT,
        }
        # The key goes only to the API's own origin, never to a storage host in a view_url.
        if call.url is None or _origin(call.url) == _origin(self.base_url):
            headers["Authorization"] = f"Bearer {self.__api_key.reveal()}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return httpx.Request(
            call.method,
            self._where(call),
            params=dict(call.params) if call.params else None,
            json=call.json,
            files=dict(call.files) if call.files else None,
            data=dict(call.data) if call.data else None,
            headers=headers,
        )

    # Response side

    def parse(self, call: Call[T], response: httpx.Response) -> T:
        """Map a response to the call's model, or raise the matching APIError."""
        if call.binary and response.is_success:
            return call.parse(response.content)
        body = self._body(response)
        if response.is_success:
            if body is _NOT_JSON:
                raise exc.APIResponseValidationError(
                    f"expected a JSON body, got {response.headers.get('content-type', 'none')}",
                    method=call.method,
                    url=self._where(call),
                    status_code=response.status_code,
                )
            return call.parse(body)
        raise self.status_error(call, response, body)

    def status_error(
        self, call: Call[Any], response: httpx.Response, body: object
    ) -> exc.APIStatusError:
        """The APIStatusError subclass for a non-2xx response."""
        if body is _NOT_JSON:
            body = response.text
        # A server that echoes the request (some error pages do) must not leak the key.
        body = self._redact_value(body)
        message = exc.error_message(body, response.status_code, response.reason_phrase)
        cls = exc.status_error_class(response.status_code)
        return cls(
            message,
            method=call.method,
            url=self._where(call),
            status_code=response.status_code,
            body=body,
            request_id=response.headers.get("x-request-id"),
            headers={k: self.redact(v) for k, v in response.headers.items()},
        )

    def connection_error(self, call: Call[Any], error: httpx.RequestError) -> exc.APIError:
        """Wrap an httpx transport failure."""
        cls = (
            exc.APITimeoutError
            if isinstance(error, httpx.TimeoutException)
            else exc.APIConnectionError
        )
        detail = self.redact(str(error)) or type(error).__name__
        return cls(
            f"{call.method} {self._where(call)} failed: {detail}",
            method=call.method,
            url=self._where(call),
        )

    def redact(self, text: str) -> str:
        """Remove the API key from text that may echo request data (also as escaped)."""
        key = self.__api_key.reveal()
        for form in {key, repr(key)[1:-1], key.encode("unicode_escape").decode("ascii")}:
            text = text.replace(form, "[redacted]")
        return text

    def _redact_value(self, value: object) -> object:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {k: self._redact_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._redact_value(v) for v in value]
        return value

    # The retry loop

    def execute(
        self, call: Call[T], reconcile: Callable[[], Flow[T | None]] | None = None
    ) -> Flow[T]:
        """Run ``call`` with retries; before each resend, ``reconcile`` may supply the answer.

        Reconciliation makes resending safe, so a reconciled call retries like an
        idempotent one.
        """
        safe = call.idempotent or reconcile is not None
        key = call.idempotency_key
        if key is None and call.method == "POST":
            key = f"animus-prep-{uuid.uuid4().hex}"
        start = self.clock()
        attempt = 0
        uncertain = False  # an earlier attempt may have run on the server
        while True:
            attempt += 1
            if attempt > 1 and reconcile is not None:
                found = yield from reconcile()
                if found is not None:
                    logger.info("%s %s: already done, not resending", call.method, call.path)
                    return found
            outcome = yield Send(self.build_request(call, key))
            if isinstance(outcome, httpx.Response):
                logger.debug(
                    "%s %s -> %s (attempt %d, request id %s)",
                    call.method,
                    call.path,
                    outcome.status_code,
                    attempt,
                    outcome.headers.get("x-request-id"),
                )
                if outcome.is_success:
                    return self.parse(call, outcome)
                if call.gone_means_done and uncertain and outcome.status_code == 404:
                    logger.info("%s %s: already done by an earlier attempt", call.method, call.path)
                    return call.parse({"success": True, "message": "already deleted"})
            uncertain = uncertain or _may_have_run(outcome)
            error, retryable, retry_after = self.classify(call, outcome, safe)
            wait = None
            if retryable:
                elapsed = self.clock() - start
                wait = self.retry.next_wait(attempt, elapsed, self.rng, retry_after)
            if wait is None:
                # Only a call that is not safe to resend leaves its caller in doubt.
                error.may_have_run = uncertain and not safe
                raise error from (outcome if isinstance(outcome, httpx.RequestError) else None)
            logger.info(
                "retrying %s %s in %.2fs after %s (attempt %d of %d)",
                call.method,
                call.path,
                wait,
                type(error).__name__,
                attempt,
                self.retry.attempts,
            )
            yield Sleep(wait)

    def classify(
        self, call: Call[Any], outcome: Outcome, safe: bool
    ) -> tuple[exc.APIError, bool, float | None]:
        """The error for a failed attempt, whether it may be retried, and any Retry-After."""
        if isinstance(outcome, httpx.Response):
            error: exc.APIError = self.status_error(call, outcome, self._body(outcome))
            if not retryable_status(outcome.status_code, safe=safe):
                return error, False, None
            return error, True, parse_retry_after(outcome.headers)
        if isinstance(outcome, httpx.RequestError):
            error = self.connection_error(call, outcome)
            # Once bytes may have reached the server, only a safe call can be resent.
            transient = isinstance(outcome, httpx.TransportError)
            return error, transient and (safe or isinstance(outcome, _UNSENT)), None
        raise TypeError(f"unexpected outcome {outcome!r}")  # a driver bug

    @staticmethod
    def _body(response: httpx.Response) -> object:
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            return _NOT_JSON

    def _where(self, call: Call[Any]) -> str:
        return call.url or self.base_url + call.path


def _may_have_run(outcome: Outcome) -> bool:
    """Whether the server may have acted on an attempt that failed this way."""
    if isinstance(outcome, httpx.Response):
        return outcome.status_code >= 500 and outcome.status_code not in UNSENT_RETRYABLE_STATUSES
    return not isinstance(outcome, _UNSENT)


def _origin(url: str) -> tuple[str, str, int | None]:
    u = httpx.URL(url)
    return (u.scheme, u.host, u.port)


class _Secret:
    """Holds the key so that reprs, ``vars()`` and debugger views show a mask."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__


_NOT_JSON = object()
# Failures that happen before any byte of the request reaches the server.
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
