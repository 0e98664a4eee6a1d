"""Status -> exception mapping, message precedence, and what an exception keeps."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from client_support import Recorder, respond_json, run

from animus_prep.client import (
    AnimusError,
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PaymentRequiredError,
    RateLimitError,
    ServerError,
)

STATUS_CLASSES: list[tuple[int, type[APIStatusError]]] = [
    (400, BadRequestError),
    (401, AuthenticationError),
    (402, PaymentRequiredError),
    (403, AuthenticationError),
    (404, NotFoundError),
    (409, ConflictError),
    (413, APIStatusError),
    (422, APIStatusError),
    (429, RateLimitError),
    (500, ServerError),
    (502, ServerError),
    (503, ServerError),
    (504, ServerError),
    (599, ServerError),
]


@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES)
def test_status_maps_to_class(mode: str, status: int, cls: type[APIStatusError]) -> None:
    body = {"detail": f"boom {status}"}
    headers = {"x-request-id": "req-77"}
    recorder = Recorder(lambda r: respond_json(body, status, **headers))
    with pytest.raises(APIStatusError) as info:
        run(mode, lambda c: c.characters.get("c1"), recorder, max_retries=0)
    err = info.value
    assert type(err) is cls
    assert isinstance(err, APIError) and isinstance(err, AnimusError)
    assert err.status_code == status
    assert err.body == body
    assert err.request_id == "req-77"
    assert err.message == f"boom {status}"
    assert str(err) == f"HTTP {status}: boom {status} [request id req-77]"
    assert err.method == "GET" and err.url == "https://api.test/v2/characters/c1"
    assert len(recorder.requests) == 1


def test_payment_required_carries_credit_fields(mode: str) -> None:
    body = {
        "error": "insufficient_credits",
        "message": "Need 10 credits",
        "required_credits": 10,
        "current_balance": "2.5",
    }
    recorder = Recorder(lambda r: respond_json(body, 402))
    with pytest.raises(PaymentRequiredError) as info:
        run(mode, lambda c: c.training.start_face_lora("c1"), recorder)
    assert info.value.message == "Need 10 credits"
    assert info.value.required_credits == 10.0
    assert info.value.current_balance == 2.5
    assert len(recorder.requests) == 1  # 402 is never retried


def test_payment_required_without_credit_fields() -> None:
    recorder = Recorder(lambda r: respond_json({"error": "no subscription"}, 402))
    with pytest.raises(PaymentRequiredError) as info:
        run("sync", lambda c: c.dataset.generate("c1"), recorder)
    assert info.value.message == "no subscription"
    assert info.value.required_credits is None
    assert info.value.current_balance is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"message": "m", "detail": "d", "error": "e"}, "m"),
        ({"detail": "d", "error": "e"}, "d"),
        ({"error": "e"}, "e"),
        ({"message": "", "detail": "d"}, "d"),
        (
            {
                "detail": [
                    {"loc": ["body", "name"], "msg": "field required", "type": "missing"},
                    {"loc": ["query", "limit"], "msg": "too big"},
                ]
            },
            "body.name: field required; query.limit: too big",
        ),
        ({"detail": ["plain", "strings"]}, "plain; strings"),
        ({"detail": {"msg": "single object"}}, "single object"),
        ({"unrelated": 1}, "Unprocessable Entity"),
        ({}, "Unprocessable Entity"),
    ],
)
def test_message_precedence(body: dict[str, Any], expected: str) -> None:
    recorder = Recorder(lambda r: respond_json(body, 422))
    with pytest.raises(APIStatusError) as info:
        run("sync", lambda c: c.characters.get("c1"), recorder)
    assert info.value.message == expected
    assert info.value.body == body


def test_non_json_error_body_keeps_text(mode: str) -> None:
    recorder = Recorder(lambda r: httpx.Response(500, text="<html>Bad gateway</html>"))
    with pytest.raises(ServerError) as info:
        run(mode, lambda c: c.characters.get("c1"), recorder, max_retries=0)
    assert info.value.body == "<html>Bad gateway</html>"
    assert "Bad gateway" in info.value.message
    assert info.value.request_id is None


def test_an_error_page_s_message_is_its_words_without_markup(mode: str) -> None:
    page = (
        "<!DOCTYPE html><html><head><title>502</title><style>h1{color:red}</style></head>"
        "<body><h1>Bad gateway</h1>\n<p>upstream &amp; proxy</p></body></html>"
    )
    recorder = Recorder(lambda r: httpx.Response(409, text=page))
    with pytest.raises(APIStatusError) as info:
        run(mode, lambda c: c.characters.get("c1"), recorder, max_retries=0)
    assert info.value.message == "Bad gateway upstream & proxy"
    assert info.value.body == page  # the body itself kept as it came


def test_non_json_success_is_a_validation_error(mode: str) -> None:
    recorder = Recorder(
        lambda r: httpx.Response(200, text="ok", headers={"content-type": "text/plain"})
    )
    with pytest.raises(APIResponseValidationError) as info:
        run(mode, lambda c: c.characters.get("c1"), recorder)
    assert info.value.status_code == 200
    assert "text/plain" in str(info.value)


def test_empty_success_body_parses_as_empty_model(mode: str) -> None:
    recorder = Recorder(lambda r: httpx.Response(204))
    result = run(mode, lambda c: c.characters.delete("c1"), recorder)
    assert result.success is None and result.raw == {}


def test_connection_error_is_wrapped(mode: str) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(APIConnectionError) as info:
        run(mode, lambda c: c.characters.get("c1"), Recorder(fail), max_retries=0)
    assert not isinstance(info.value, APITimeoutError)
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert "connection refused" in str(info.value)


def test_timeout_is_a_connection_error(mode: str) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(APITimeoutError) as info:
        run(mode, lambda c: c.characters.get("c1"), Recorder(slow), max_retries=0)
    assert isinstance(info.value, APIConnectionError)
    assert info.value.method == "GET"


def test_hierarchy_shape() -> None:
    from animus_prep.client import MissingAPIKeyError, WaitTimeoutError

    assert issubclass(APIStatusError, APIError) and issubclass(APIError, AnimusError)
    assert issubclass(APITimeoutError, APIConnectionError)
    assert not issubclass(APIConnectionError, APIStatusError)
    assert issubclass(WaitTimeoutError, AnimusError) and not issubclass(WaitTimeoutError, APIError)
    assert issubclass(MissingAPIKeyError, AnimusError)
    for _, cls in STATUS_CLASSES:
        assert issubclass(cls, APIStatusError)


def test_exceptions_module_opens_with_a_tree() -> None:
    from animus_prep.client import _exceptions

    doc = _exceptions.__doc__ or ""
    assert "AnimusError" in doc.splitlines()[2]
    assert "└── APIError" in doc and "ServerError" in doc
