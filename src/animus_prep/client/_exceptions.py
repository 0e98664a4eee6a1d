"""Every error the Animus client raises.

    AnimusError
    ├── MissingAPIKeyError
    ├── WaitTimeoutError
    └── APIError
        ├── APIConnectionError
        │   └── APITimeoutError
        ├── APIResponseValidationError
        │   └── ResponseTooLargeError
        └── APIStatusError            (any other status, e.g. 413, 422)
            ├── BadRequestError       400
            ├── AuthenticationError   401, 403
            ├── PaymentRequiredError  402
            ├── NotFoundError         404
            ├── ConflictError         409
            ├── RateLimitError        429
            └── ServerError           5xx

No exception keeps the outgoing request (its headers carry the API key), and anything
the server sent back is redacted, so no attribute of an error leads to the key.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "AnimusError",
    "AuthenticationError",
    "BadRequestError",
    "ClientConfigError",
    "ConflictError",
    "MissingAPIKeyError",
    "NotFoundError",
    "PaymentRequiredError",
    "RateLimitError",
    "ResponseTooLargeError",
    "ServerError",
    "WaitTimeoutError",
    "error_message",
    "status_error_class",
]


class AnimusError(Exception):
    """Base class of every error raised by the client."""


class ClientConfigError(AnimusError, ValueError):
    """An API key or base URL that cannot be used (the message never holds the key)."""


class MissingAPIKeyError(ClientConfigError):
    """No API key was passed and ``ANIMUS_API_KEY`` is not set."""


class WaitTimeoutError(AnimusError):
    """A waiter ran out of time; ``last`` holds the last state it observed."""

    def __init__(self, what: str, *, last: object, elapsed: float, timeout: float) -> None:
        super().__init__(
            f"timed out after {elapsed:.1f}s (limit {timeout:.1f}s) waiting for {what}"
        )
        self.what = what
        self.last = last
        self.elapsed = elapsed
        self.timeout = timeout
        self.failed_polls = 0
        """Polls that failed transiently along the way (skipped, not fatal)."""


class APIError(AnimusError):
    """A request to the API failed; ``method`` and ``url`` say which one."""

    may_have_run: bool = False
    """True when the call is not safe to resend and an attempt may have reached the server
    and acted (its answer was lost, a 5xx came back, or a success came back unreadable):
    find out from the server's state before sending it again."""

    def __init__(self, message: str, *, method: str, url: str) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = url


class APIConnectionError(APIError):
    """The request could not be sent or its response was not received."""


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class APIResponseValidationError(APIError):
    """A successful response whose body is not the JSON the contract promises.

    ``field`` names a required field the answer lacks (``"job_id"``,
    ``"assets[2].asset_id"``), when that is the problem. The server did answer with a
    success: a call that acts (a POST) ran, and its ``may_have_run`` is True.
    """

    def __init__(
        self, message: str, *, method: str, url: str, status_code: int, field: str | None = None
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.status_code = status_code
        self.field = field


class ResponseTooLargeError(APIResponseValidationError):
    """A response body over the client's cap (``max_json_bytes`` or
    ``max_download_bytes``); it was not read past ``limit`` bytes."""

    def __init__(
        self, message: str, *, method: str, url: str, status_code: int, limit: int
    ) -> None:
        super().__init__(message, method=method, url=url, status_code=status_code)
        self.limit = limit


class APIStatusError(APIError):
    """The API answered with a non-2xx status; the parsed body is kept in ``body``."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status_code: int,
        body: object,
        request_id: str | None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.status_code = status_code
        self.body = body
        self.request_id = request_id
        self.headers: Mapping[str, str] = dict(headers or {})

    def __str__(self) -> str:
        suffix = f" [request id {self.request_id}]" if self.request_id else ""
        return f"HTTP {self.status_code}: {self.message}{suffix}"

    def _body_field(self, key: str) -> Any:
        return self.body.get(key) if isinstance(self.body, Mapping) else None


class BadRequestError(APIStatusError):
    """400: validation failed, e.g. an image too small or corrupt."""


class AuthenticationError(APIStatusError):
    """401 or 403: missing or bad key, or not allowed."""


class PaymentRequiredError(APIStatusError):
    """402: not enough credits, or no character subscription."""

    @property
    def required_credits(self) -> float | None:
        """Credits the operation needs, when the body says."""
        return _number(self._body_field("required_credits"))

    @property
    def current_balance(self) -> float | None:
        """The organisation's balance, when the body says."""
        return _number(self._body_field("current_balance"))


class NotFoundError(APIStatusError):
    """404: character, image or job not found in your organisation."""


class ConflictError(APIStatusError):
    """409: a prerequisite step is unfinished."""


class RateLimitError(APIStatusError):
    """429: rate limited; ``Retry-After`` is in ``headers`` when sent."""


class ServerError(APIStatusError):
    """5xx: a server fault."""


_STATUS_ERRORS: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    403: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The exception class for an HTTP status (the one table the client uses)."""
    if status_code in _STATUS_ERRORS:
        return _STATUS_ERRORS[status_code]
    if 500 <= status_code <= 599:
        return ServerError
    return APIStatusError


def error_message(body: object, status_code: int, reason: str = "") -> str:
    """The human message of an error body: ``message``, then ``detail``, then ``error``."""
    if isinstance(body, Mapping):
        text = message_text(body)
        if text:
            return text
    elif isinstance(body, str) and body.strip():
        return _page_text(body.strip())[:500] or reason or f"HTTP {status_code}"
    return reason or f"HTTP {status_code}"


def message_text(value: object) -> str:
    """The words of an error value: a text, a list of FastAPI-style items (joined), or an
    object's ``message``, ``detail`` or ``error`` (the first that says something); ""
    when it says nothing (None, a number, a flag)."""
    if isinstance(value, Mapping):
        for key in ("message", "detail", "error"):
            text = _as_text(value.get(key))
            if text:
                return text
        return ""
    return _as_text(value)


_TAG = re.compile(r"<[^>]*>")
_HEAD = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def _page_text(body: str) -> str:
    """An error page's words without its markup (a proxy's ``<h1>Bad gateway</h1>``
    reads ``Bad gateway``); other text as it is."""
    if not body.startswith("<"):
        return body
    text = html.unescape(_TAG.sub(" ", _HEAD.sub(" ", body)))
    return " ".join(text.split())


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return "; ".join(t for t in (_detail_item(item) for item in value) if t)
    if isinstance(value, Mapping):
        return _detail_item(value)
    return ""


def _detail_item(item: object) -> str:
    # FastAPI validation items look like {"loc": ["body", "name"], "msg": "...", "type": ...}.
    if isinstance(item, Mapping):
        msg = item.get("msg") or item.get("message") or ""
        loc = item.get("loc")
        if isinstance(loc, list | tuple) and loc:
            where = ".".join(str(part) for part in loc)
            return f"{where}: {msg}" if msg else where
        return str(msg)
    return str(item) if item is not None else ""


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None
