"""No exception the client raises can reach the API key, by any attribute path.

A hostile server on loopback echoes the key everywhere it can (JSON fields and keys,
header values and names, text bodies, URL-quoted, JSON-escaped), and the client is also
made to fail without a server (connection refused, timeouts). For every error type the
client can raise, in both clients, the whole object graph of the raised exception is
walked: ``__cause__``, ``__context__``, ``args``, ``__notes__``, instance attributes
(``__dict__`` and ``__slots__``), containers, bound methods' ``__self__`` and closures.
Any string or bytes holding the key, in any of its escaped forms, is a leak.

Out of scope: ``__traceback__`` and its frames' local variables. A traceback keeps the
locals of every frame the error passed through (the request being sent is one of them)
for as long as the exception lives; that is how Python works, it is only visible to code
that inspects frames, and no message, repr, log line or attribute carries it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import socket
import threading
import types
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from hostile_server import (
    HostileServer,
    Request,
    close_delimited,
    closed_port,
    drip,
    endless,
    never_answer,
    respond,
    respond_json,
    truncated,
)

from animus_prep.client import (
    AnimusError,
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncClient,
    Client,
    WaitTimeoutError,
)
from animus_prep.client.testing import FakeClock

PLAIN_KEY = "sk-live-Zq8SECRETvalue-4711"
# Printable ASCII that JSON, repr and URLs all escape differently.
ESCAPED_KEY = 'sk-live/Zq8+SECRET"va\\lue%-4711'
KEYS = {"plain": PLAIN_KEY, "escaped": ESCAPED_KEY}


def key_forms(key: str) -> tuple[set[str], set[bytes]]:
    """Every way the key can be written: raw, escaped, quoted; as text and as bytes."""
    texts = {
        key,
        json.dumps(key)[1:-1],
        repr(key)[1:-1],
        key.encode("unicode_escape").decode("ascii"),
        quote(key, safe=""),
        quote(key),
        quote_plus(key),
    }
    return texts, {t.encode() for t in texts}


_OPAQUE = (type, types.ModuleType, types.FrameType, types.TracebackType, types.CodeType)


def leaks(root: object, key: str, limit: int = 200_000) -> list[str]:
    """Attribute paths from `root` to a string or bytes holding a form of `key`."""
    texts, blobs = key_forms(key)
    found: list[str] = []
    seen: set[int] = set()
    queue: collections.deque[tuple[object, str]] = collections.deque([(root, "exc")])
    while queue and len(seen) < limit:
        obj, path = queue.popleft()
        if id(obj) in seen or isinstance(obj, _OPAQUE):
            continue
        seen.add(id(obj))
        if isinstance(obj, str):
            if any(t in obj for t in texts):
                found.append(path)
            continue
        if isinstance(obj, bytes | bytearray | memoryview):
            if any(b in bytes(obj) for b in blobs):
                found.append(path)
            continue
        children: list[tuple[object, str]] = []
        if isinstance(obj, BaseException):
            children += [(obj.__cause__, ".__cause__"), (obj.__context__, ".__context__")]
            children += [(obj.args, ".args"), (getattr(obj, "__notes__", None), ".__notes__")]
        if isinstance(obj, Mapping):
            for k, v in obj.items():
                children += [(k, f"[key {k!r:.40}]"), (v, f"[{k!r:.40}]")]
        elif isinstance(obj, list | tuple | set | frozenset | collections.deque):
            children += [(v, f"[{i}]") for i, v in enumerate(obj)]
        if isinstance(obj, types.MethodType):
            children.append((obj.__self__, ".__self__"))
        if isinstance(obj, types.FunctionType):
            cells = obj.__closure__ or ()
            children += [(c.cell_contents, f".<closure {i}>") for i, c in enumerate(cells)]
            children.append((obj.__defaults__, ".__defaults__"))
        attrs = getattr(obj, "__dict__", None)
        if isinstance(attrs, Mapping):
            children += [(v, f".{k}") for k, v in attrs.items()]
        for cls in type(obj).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                if isinstance(slot, str) and hasattr(obj, slot):
                    children.append((getattr(obj, slot), f".{slot}"))
        queue.extend((child, path + step) for child, step in children if child is not None)
    assert len(seen) < limit, "the exception graph is suspiciously large"
    return found


def test_the_walker_finds_a_key_hidden_deep_in_a_cause() -> None:
    # The test's own instrument must be able to fail.
    class Holder:
        __slots__ = ("secret",)

        def __init__(self) -> None:
            self.secret = {"headers": [(b"authorization", f"Bearer {ESCAPED_KEY}".encode())]}

    error = RuntimeError("outer")
    error.__cause__ = ValueError("inner", Holder())
    assert leaks(error, ESCAPED_KEY) == ["exc.__cause__.args[1].secret['headers'][0][1]"]
    assert leaks(RuntimeError(quote(ESCAPED_KEY, safe="")), ESCAPED_KEY) == ["exc.args[0]"]
    assert leaks(RuntimeError(json.dumps(ESCAPED_KEY)), ESCAPED_KEY) == ["exc.args[0]"]
    assert leaks(RuntimeError("nothing here"), ESCAPED_KEY) == []


# The hostile server's answers


def echo(status: int, *, as_json: bool = True) -> Callable[..., None]:
    """Answer `status` with the key echoed in the body and the headers, many ways."""

    def behave(request: Request, sock: socket.socket, stop: threading.Event) -> None:
        key = request.key
        headers = {"x-echo": f"Bearer {key}", "x-quoted": quote(key, safe=""), "retry-after": "0"}
        if key == PLAIN_KEY:
            headers[f"x-{key}"] = "as a header name"
        if not as_json:
            body = f"error for Bearer {key} ({quote(key, safe='')}) {json.dumps(key)}"
            respond(sock, status, body.encode(), {"content-type": "text/plain", **headers})
            return
        payload = {
            "message": f"bad key {key}",
            "detail": [{"loc": ["header", key], "msg": key}],
            key: {"nested": [key, quote(key, safe="")]},
            "required_credits": 1,
        }
        respond_json(sock, status, payload, **headers)

    return behave


def echo_text_200(request: Request, sock: socket.socket, stop: threading.Event) -> None:
    respond(sock, 200, f"<html>{request.key}</html>".encode(), {"content-type": "text/html"})


def echo_invalid_json(request: Request, sock: socket.socket, stop: threading.Event) -> None:
    body = b'{"character_id": "' + json.dumps(request.key).encode() + b'", oops'
    respond(sock, 200, body, {"content-type": "application/json"})


def echo_missing_id(request: Request, sock: socket.socket, stop: threading.Event) -> None:
    respond_json(sock, 200, {"echo": request.key, request.key: 1})


def echo_array(request: Request, sock: socket.socket, stop: threading.Event) -> None:
    respond_json(sock, 200, [request.key])


def echo_deep(request: Request, sock: socket.socket, stop: threading.Event) -> None:
    body = ("[" * 5000 + json.dumps(request.key) + "]" * 5000).encode()
    respond(sock, 200, body, {"content-type": "application/json"})


def echo_huge(request: Request, sock: socket.socket, stop: threading.Event) -> None:
    entry = json.dumps(request.key).encode()
    body = b'{"character_id": "c1", "pad": [' + b",".join([entry] * 20_000) + b"]}"
    respond(sock, 200, body, {"content-type": "application/json"})


def echo_status_poll(request: Request, sock: socket.socket, stop: threading.Event) -> None:
    respond_json(sock, 200, {"generation_id": "g1", "status": "queued", "note": request.key})


def invalid_utf8(request: Request, sock: socket.socket, stop: threading.Event) -> None:
    body = b'{"character_id": "c1\xff\xfe", "k": "' + request.key.encode() + b'"}'
    respond(sock, 200, body, {"content-type": "application/json"})


Case = tuple[Callable[..., None] | None, type[AnimusError], dict[str, Any]]

STATUSES = (400, 401, 402, 403, 404, 409, 413, 422, 429, 500, 502, 503)
CASES: dict[str, Case] = {
    **{f"status-{s}": (echo(s), APIStatusError, {}) for s in STATUSES},
    **{f"text-status-{s}": (echo(s, as_json=False), APIStatusError, {}) for s in (400, 503)},
    "refused": (None, APIConnectionError, {}),
    "read-timeout": (never_answer, APITimeoutError, {"timeout": 0.3}),
    "deadline": (drip(0.05), APITimeoutError, {"timeout": 5, "deadline": 0.5}),
    "truncated": (truncated, APIConnectionError, {}),
    "not-json": (echo_text_200, APIResponseValidationError, {}),
    "invalid-json": (echo_invalid_json, APIResponseValidationError, {}),
    "invalid-utf8": (invalid_utf8, APIResponseValidationError, {}),
    "missing-id": (echo_missing_id, APIResponseValidationError, {}),
    "array": (echo_array, APIResponseValidationError, {}),
    "deep-json": (echo_deep, APIResponseValidationError, {}),
    "too-large": (echo_huge, APIResponseValidationError, {"max_json_bytes": 64 * 1024}),
    "endless": (endless(), APIResponseValidationError, {"max_json_bytes": 64 * 1024}),
    "close-delimited": (
        close_delimited(b'{"character_id": "c1", "x": "'),
        APIResponseValidationError,
        {},
    ),
    "wait-timeout": (echo_status_poll, WaitTimeoutError, {}),
}


def call(mode: str, base_url: str, key: str, action: str, **options: Any) -> BaseException:
    """Run one failing call with a real network transport; the exception it raised."""
    clock = FakeClock()
    config: dict[str, Any] = {"api_key": key, "base_url": base_url, "max_retries": 1, **options}

    def act(client: Any) -> Any:
        if action == "wait":
            return client.generation.wait("g1", timeout=5, interval=1)
        return client.characters.get("c1")

    if mode == "sync":
        with Client(clock=clock, sleep=clock.sleep, **config) as client:
            try:
                act(client)
            except AnimusError as error:
                return error
            raise AssertionError("no error raised")

    async def main() -> BaseException:
        async with AsyncClient(clock=clock, sleep=clock.async_sleep, **config) as client:
            try:
                await act(client)
            except AnimusError as error:
                return error
            raise AssertionError("no error raised")

    return asyncio.run(main())


@contextlib.contextmanager
def target(behaviour: Callable[..., None] | None) -> Iterator[str]:
    """A hostile server for `behaviour`, or a closed port for None."""
    if behaviour is None:
        with closed_port() as url:
            yield url
        return
    with HostileServer(behaviour) as server:
        yield server.url


@pytest.mark.parametrize("key", KEYS.values(), ids=KEYS.keys())
@pytest.mark.parametrize("name", CASES)
def test_no_raised_exception_reaches_the_key(mode: str, name: str, key: str) -> None:
    behaviour, expected, options = CASES[name]
    with target(behaviour) as url:
        action = "wait" if name == "wait-timeout" else "get"
        error = call(mode, url, key, action, **options)
    assert isinstance(error, expected), repr(error)
    assert leaks(error, key) == []
