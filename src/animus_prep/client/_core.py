"""The sans-I/O core shared by ``Client`` and ``AsyncClient``.

A call's whole life (build the request, map the response to a model or an error, decide
whether and how long to wait before retrying) is a generator that yields ``Send`` and
``Sleep`` steps; the sync and async clients only perform those steps. So retries,
reconciliation and waiters are written once and behave identically in both clients.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import random
import re
import time
import uuid
from collections.abc import Callable, Generator, Mapping
from typing import Any, Generic, TypeVar, cast
from urllib.parse import quote, quote_plus

import httpx

from . import _exceptions as exc
from ._bounds import BodyTooLarge, UnreadableBody
from ._parse import Model, missing_field
from ._retry import UNSENT_RETRYABLE_STATUSES, RetryPolicy, parse_retry_after, retryable_status

__all__ = ["DEFAULT_BASE_URL", "Call", "ClientCore", "Flow", "Send", "Sleep"]

DEFAULT_BASE_URL = "https://api.animusai.co/v2"
DEFAULT_TIMEOUT = 60.0
DEFAULT_DEADLINE = 300.0
"""Seconds one attempt may take in all, from connecting to the last byte of the body."""
DEFAULT_MAX_JSON_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024
MAX_JSON_DEPTH = 64
"""Nesting a JSON answer may have (the contract's answers nest 4 levels at most)."""
_USER_AGENT = "animus-prep-client"

logger = logging.getLogger("animus_prep.client")

T = TypeVar("T")
Outcome = httpx.Response | httpx.RequestError | None


@dataclasses.dataclass(frozen=True)
class Send:
    """Step: send this request; resume with the response or the ``httpx.RequestError``.

    The response's body must be read whole, and refused past ``max_bytes``.
    """

    request: httpx.Request
    max_bytes: int = DEFAULT_MAX_JSON_BYTES


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

    @property
    def shown(self) -> str:
        """What logs and notices name the call by: its API path, or the path of the URL it
        fetches (never the URL's query, which may carry a signature)."""
        if self.url is None:
            return self.path
        try:
            return httpx.URL(self.url).path or self.url
        except httpx.InvalidURL:
            return "(a download URL)"


_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]+")


def _checked_base_url(url: str, key: str) -> str:
    """``url`` when it is an http(s) URL with a host; else ClientConfigError, whose
    message quotes it with ``key`` redacted (a user may have written the key into it)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as error:
        shown, why = redacted(repr(url), key), redacted(str(error), key)
        raise exc.ClientConfigError(f"the Animus base URL {shown} is not a URL: {why}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise exc.ClientConfigError(
            f"the Animus base URL {redacted(repr(url), key)} must be an http:// or https:// "
            "URL with a host"
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
        deadline: float | None = DEFAULT_DEADLINE,
        max_json_bytes: int = DEFAULT_MAX_JSON_BYTES,
        max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
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
        self.base_url = _checked_base_url(url.rstrip("/"), key)
        policy = retry or RetryPolicy()
        if max_retries is not None:
            if max_retries < 0:
                raise exc.ClientConfigError("max_retries must not be negative")
            policy = dataclasses.replace(policy, attempts=max_retries + 1)
        self.retry = policy
        self.clock = clock or time.monotonic
        self.rng = rng or random.Random()
        if deadline is not None and not 0 < deadline < math.inf:
            raise exc.ClientConfigError("deadline must be a positive number of seconds, or None")
        if min(max_json_bytes, max_download_bytes) < 1:
            raise exc.ClientConfigError("max_json_bytes and max_download_bytes must be positive")
        self.deadline = deadline
        self.max_json_bytes = max_json_bytes
        self.max_download_bytes = max_download_bytes

    def __repr__(self) -> str:
        return f"ClientCore(base_url={self.base_url!r})"

    @staticmethod
    def checked_timeout(timeout: float | httpx.Timeout) -> float | httpx.Timeout:
        """A client's per-request ``timeout=``, refused at construction when it is not a
        positive, finite number of seconds (or an ``httpx.Timeout``)."""
        if isinstance(timeout, httpx.Timeout):
            return timeout
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise exc.ClientConfigError(f"timeout must be a number of seconds, got {timeout!r}")
        if not 0 < timeout < math.inf:
            raise exc.ClientConfigError(f"timeout must be positive and finite, got {timeout}")
        return timeout

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

    def body_limit(self, call: Call[Any]) -> int:
        """Bytes the body of ``call``'s response may have."""
        return self.max_download_bytes if call.binary else self.max_json_bytes

    def parse(self, call: Call[T], response: httpx.Response) -> T:
        """Map a response to the call's model, or raise the matching APIError.

        A success whose body is not JSON, is nested past ``MAX_JSON_DEPTH``, is not an
        object where a model is expected, lacks a field the model requires, or that the
        call's parser refuses is an ``APIResponseValidationError``.
        """
        if not response.is_success:
            raise self.status_error(call, response, self._body(response))
        if call.binary:
            page = _error_page(response)
            if page is not None:
                raise self._unusable(call, response, f"expected a file, got {page}")
            return call.parse(response.content)
        body, problem = self._decode(response)
        result: object = None
        field = None
        if problem is None:
            result, problem, field = self._shape(call, body)
        if problem is not None:
            # Raised here, outside any handler, so it carries no exception context.
            raise self._unusable(call, response, problem, field)
        return cast(T, result)

    def _unusable(
        self, call: Call[Any], response: httpx.Response, problem: str, field: str | None = None
    ) -> exc.APIResponseValidationError:
        """The error for a success whose body cannot be used, and why."""
        return exc.APIResponseValidationError(
            f"{call.method} {self._url(call)}: {problem}",
            method=call.method,
            url=self._url(call),
            status_code=response.status_code,
            field=field,
        )

    def _shape(self, call: Call[Any], body: object) -> tuple[object, str | None, str | None]:
        """(result, problem, missing field) of handing ``body`` to the call's parser."""
        failure = None
        try:
            result = call.parse(body)
        except (ValueError, TypeError, LookupError, AttributeError, RecursionError) as error:
            failure = f"{type(error).__name__}: {self.redact(str(error))[:200]}"
        if failure is not None:
            return None, f"the body does not have the expected shape ({failure})", None
        if isinstance(result, Model):
            if not isinstance(body, Mapping):
                return None, f"expected a JSON object, got {_json_kind(body)}", None
            missing = missing_field(result)
            if missing is not None:
                return None, f"the answer lacks the required field {missing!r}", missing
        return result, None, None

    def status_error(
        self, call: Call[Any], response: httpx.Response, body: object
    ) -> exc.APIStatusError:
        """The APIStatusError subclass for a non-2xx response (``body`` from ``_body``)."""
        if body is _NOT_JSON:
            # A server that echoes the request (some error pages do) must not leak the key.
            body = self.redact(response.text)
        message = exc.error_message(body, response.status_code, response.reason_phrase)
        cls = exc.status_error_class(response.status_code)
        request_id = response.headers.get("x-request-id")
        return cls(
            message,
            method=call.method,
            url=self._url(call),
            status_code=response.status_code,
            body=body,
            request_id=None if request_id is None else self.redact(request_id),
            headers={self.redact(k): self.redact(v) for k, v in response.headers.items()},
        )

    def connection_error(self, call: Call[Any], error: httpx.RequestError) -> exc.APIError:
        """Wrap an httpx transport failure, or a body that could not be read."""
        detail = self.redact(str(error)) or type(error).__name__
        message = f"{call.method} {self._url(call)} failed: {detail}"
        if isinstance(error, BodyTooLarge):
            return exc.ResponseTooLargeError(
                message,
                method=call.method,
                url=self._url(call),
                status_code=error.status_code,
                limit=error.limit,
            )
        if isinstance(error, UnreadableBody):
            return exc.APIResponseValidationError(
                message, method=call.method, url=self._url(call), status_code=error.status_code
            )
        cls = (
            exc.APITimeoutError
            if isinstance(error, httpx.TimeoutException)
            else exc.APIConnectionError
        )
        return cls(message, method=call.method, url=self._url(call))

    def safe_cause(self, error: BaseException) -> BaseException | None:
        """A copy of an httpx error to chain to the API error: same type, redacted
        message, no request (whose headers carry the key), no context of its own."""
        if not isinstance(error, httpx.RequestError) or isinstance(error, UnreadableBody):
            return None
        try:
            return type(error)(self.redact(str(error)))
        except TypeError:
            return None

    def redact(self, text: str) -> str:
        """Remove the API key from text that may echo request data, in any of the forms an
        echo can take: raw, JSON- or repr-escaped, URL-quoted."""
        return _without(text, self.__api_key.forms())

    def _redacted(self, value: object, depth: int = 0) -> object:
        """A decoded JSON value with the key redacted from every string, keys included."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict | list) and depth >= MAX_JSON_DEPTH:
            raise _TooDeep
        if isinstance(value, dict):
            return {self.redact(k): self._redacted(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [self._redacted(v, depth + 1) for v in value]
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
                try:
                    found = yield from reconcile()
                except exc.APIError as unsettled:
                    # The call itself may have run: its caller must not take this for
                    # a refusal of it.
                    unsettled.may_have_run = unsettled.may_have_run or (
                        uncertain and not call.idempotent
                    )
                    raise
                if found is not None:
                    logger.info("%s %s: already done, not resending", call.method, call.shown)
                    return found
            outcome = yield Send(self.build_request(call, key), self.body_limit(call))
            success = isinstance(outcome, httpx.Response) and outcome.is_success
            if isinstance(outcome, httpx.Response):
                logger.debug(
                    "%s %s -> %s (attempt %d, request id %s)",
                    call.method,
                    call.shown,
                    outcome.status_code,
                    attempt,
                    self.redact(outcome.headers.get("x-request-id", "")) or None,
                )
                if success:
                    try:
                        return self.parse(call, outcome)
                    except exc.APIResponseValidationError as unreadable:
                        garbled = unreadable
                    # The call ran. An answer that is not JSON at all (a proxy's page, a
                    # cut body) is a passing fault: a call idempotent by itself is sent
                    # again. One that acts never is (its state may lag behind): it is
                    # settled, or its caller learns that it ran.
                    uncertain = True
                    if not (call.idempotent and self._decode(outcome)[1] is not None):
                        return (yield from self._settle(call, garbled, reconcile))
                    error: exc.APIError = garbled
                    retryable, retry_after = True, None
                elif call.gone_means_done and uncertain and outcome.status_code == 404:
                    logger.info(
                        "%s %s: already done by an earlier attempt", call.method, call.shown
                    )
                    return call.parse({"success": True, "message": "already deleted"})
            if not success:
                uncertain = uncertain or _may_have_run(outcome)
                error, retryable, retry_after = self.classify(call, outcome, safe)
            wait = None
            if retryable:
                elapsed = self.clock() - start
                wait = self.retry.next_wait(attempt, elapsed, self.rng, retry_after)
            if wait is None:
                # Only a call that is not safe to resend leaves its caller in doubt.
                error.may_have_run = uncertain and not safe
                # Never the httpx error itself: its request holds the key in its headers.
                cause = (
                    self.safe_cause(outcome) if isinstance(outcome, httpx.RequestError) else None
                )
                raise error from cause
            logger.info(
                "retrying %s %s in %.2fs after %s (attempt %d of %d)",
                call.method,
                call.shown,
                wait,
                type(error).__name__,
                attempt,
                self.retry.attempts,
            )
            yield Sleep(wait)

    def _settle(
        self,
        call: Call[T],
        unreadable: exc.APIResponseValidationError,
        reconcile: Callable[[], Flow[T | None]] | None,
    ) -> Flow[T]:
        """The answer to a call that ran but whose success could not be read, from the
        server's state (``reconcile``); else raise ``unreadable``, flagged
        ``may_have_run`` when the call acts."""
        if reconcile is not None:
            try:
                found = yield from reconcile()
            except exc.APIError:  # unsettled: the caller learns that the call ran
                found = None
            if found is not None:
                logger.info("%s %s: answer unreadable; found done", call.method, call.shown)
                return found
        unreadable.may_have_run = not call.idempotent
        raise unreadable

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
            # (An unreadable body is not transient: the server would send it again.)
            transient = isinstance(outcome, httpx.TransportError)
            return error, transient and (safe or isinstance(outcome, _UNSENT)), None
        raise TypeError(f"unexpected outcome {outcome!r}")  # a driver bug

    def _body(self, response: httpx.Response) -> object:
        """The decoded, redacted JSON body, or ``_NOT_JSON``."""
        value, problem = self._decode(response)
        return _NOT_JSON if problem is not None else value

    def _decode(self, response: httpx.Response) -> tuple[object, str | None]:
        """(redacted JSON value, None), or (None, why the body is not usable JSON)."""
        if not response.content:
            return {}, None
        kind = response.headers.get("content-type", "none")
        try:
            value = json.loads(response.content)
        except RecursionError:
            return None, f"expected a JSON body, got {kind} nested too deeply to parse"
        except UnicodeDecodeError as error:
            return None, f"expected a JSON body, got {kind} that is not UTF-8 ({error.reason})"
        except ValueError as error:
            reason = self.redact(str(error))[:200]
            return None, f"expected a JSON body, got {kind} that does not parse ({reason})"
        try:
            return self._redacted(value), None
        except _TooDeep:
            return None, f"expected a JSON body, got {kind} nested over {MAX_JSON_DEPTH} levels"

    def _where(self, call: Call[Any]) -> str:
        return call.url or self.base_url + call.path

    def _url(self, call: Call[Any]) -> str:
        # A view_url comes from the server, which could have put the key in it.
        return self.redact(self._where(call))


_PAGE_START = re.compile(rb"\s*(<!doctype\s+html|<html)", re.IGNORECASE)


def _error_page(response: httpx.Response) -> str | None:
    """What a download's success is, when it is a web page in place of the file (a
    proxy's or a gateway's "Bad gateway" page answered with 200); else None."""
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "text/html" or _PAGE_START.match(response.content[:512]):
        return f"an HTML page ({kind or 'no content type'})"
    return None


def _json_kind(value: object) -> str:
    kinds = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")


def redacted(text: str, key: str) -> str:
    """``text`` with ``key`` (stripped, as the client takes it) replaced by ``[redacted]``
    in every form an echo may write it (`_key_forms`); unchanged for a blank key."""
    key = key.strip()
    return _without(text, _key_forms(key)) if key else text


def _without(text: str, forms: tuple[str, ...]) -> str:
    for form in forms:
        if form in text:
            text = text.replace(form, "[redacted]")
    return text


def _key_forms(key: str) -> tuple[str, ...]:
    """The key as an echo may write it, longest first (so no form is cut by another)."""
    forms = {
        key,
        json.dumps(key)[1:-1],
        repr(key)[1:-1],
        key.encode("unicode_escape").decode("ascii"),
        quote(key, safe=""),
        quote(key),
        quote_plus(key),
    }
    return tuple(sorted(forms, key=len, reverse=True))


class _TooDeep(Exception):
    """A JSON value nested past MAX_JSON_DEPTH."""


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

    __slots__ = ("_forms", "_value")

    def __init__(self, value: str) -> None:
        self._value = value
        self._forms = _key_forms(value)

    def reveal(self) -> str:
        return self._value

    def forms(self) -> tuple[str, ...]:
        """Every way an echo may write the key (see ``_key_forms``)."""
        return self._forms

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__


_NOT_JSON = object()
# Failures that happen before any byte of the request reaches the server.
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
