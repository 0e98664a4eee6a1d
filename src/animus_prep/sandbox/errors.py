"""Errors the sandbox returns, with the bodies the contract documents."""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

logger = logging.getLogger("animus_prep.sandbox")


class SandboxError(Exception):
    """An API error rendered as `{"detail": ...}` with its HTTP status."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


class InsufficientCredits(Exception):
    """The 402 of the contract: `{error, message, required_credits, current_balance}`."""

    def __init__(self, required: float, balance: float) -> None:
        super().__init__(f"{required} credits required, {balance} available")
        self.required = required
        self.balance = balance


def not_found(what: str) -> SandboxError:
    return SandboxError(404, f"{what} not found")


def conflict(detail: str) -> SandboxError:
    return SandboxError(409, detail)


def bad_request(detail: str) -> SandboxError:
    return SandboxError(400, detail)


def install_error_handlers(app: FastAPI) -> None:
    """Map sandbox exceptions to JSON bodies; anything unexpected becomes a plain 500."""

    async def on_sandbox_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, SandboxError)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    async def on_credits(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, InsufficientCredits)
        body = {
            "error": "insufficient_credits",
            "message": (
                f"This operation requires {exc.required:g} credits; "
                f"your balance is {exc.balance:g}."
            ),
            "required_credits": exc.required,
            "current_balance": exc.balance,
        }
        return JSONResponse(body, status_code=402)

    async def on_invalid(request: Request, exc: Exception) -> JSONResponse:
        # FastAPI's own handler echoes the input back, and fails (a 500) on input that
        # JSON cannot carry: lone surrogates, NaN, infinities.
        assert isinstance(exc, RequestValidationError)
        detail = [
            {"type": e.get("type"), "loc": _json_safe(list(e.get("loc", ()))), "msg": e.get("msg")}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": _json_safe(detail)}, status_code=422)

    app.add_exception_handler(SandboxError, on_sandbox_error)
    app.add_exception_handler(InsufficientCredits, on_credits)
    app.add_exception_handler(RequestValidationError, on_invalid)


def _json_safe(value: Any) -> Any:
    """``value`` with strings JSON can encode and no non-finite numbers."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {_json_safe(k): _json_safe(v) for k, v in value.items()}
    return value
