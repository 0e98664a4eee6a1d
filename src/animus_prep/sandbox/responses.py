"""OpenAPI descriptions of the error responses each route can return."""

from __future__ import annotations

from typing import Any

from .schemas import ErrorDetail, PaymentRequired, ValidationErrorBody

_DESCRIPTIONS = {
    400: "Validation failed",
    401: "Missing or invalid API key",
    402: "Insufficient credits",
    404: "Not found in your organization",
    409: "A prerequisite step is unfinished",
    413: "Upload too large",
    422: "Malformed request",
    429: "Rate limited; retry after `Retry-After` seconds",
    503: "Temporarily unavailable",
}
_RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: `codes` plus the statuses any route can return.

    400 (unparsable body), 401 and 422 come from request handling; 429 and 503 are what
    the real service (and the sandbox's fault injector) answer under load.
    """
    out: dict[int | str, dict[str, Any]] = {}
    for code in sorted({400, 401, 422, 429, 503, *codes}):
        model: type = {402: PaymentRequired, 422: ValidationErrorBody}.get(code, ErrorDetail)
        out[code] = {"model": model, "description": _DESCRIPTIONS[code]}
        if code in {429, 503}:
            out[code]["headers"] = _RETRY_AFTER
    return out
