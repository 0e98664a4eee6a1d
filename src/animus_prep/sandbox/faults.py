"""Seeded fault injection: error statuses, dropped connections, slow and lost responses.

A spec is a comma-separated list of `KIND:PROBABILITY[@DURATION]` entries, e.g.
`503:0.1,429:0.05@2s,reset:0.02,slow:0.05@1.5s,lost:0.03`:

- an HTTP status (400-599): answered instead of running the handler; `@DURATION` sets
  `Retry-After` (429 defaults to 1 s);
- `reset`: the connection is dropped before the handler runs (nothing committed);
- `slow`: the response is delayed by DURATION (default 1 s), then served normally;
- `lost`: the handler runs and commits, then the connection is dropped so the response
  never arrives; the case that makes naive retries act twice;
- `garbled`: the handler runs and commits, then its answer arrives with its status but
  as an HTML page (as from a proxy in between): a success the client cannot read.

At most one fault is drawn per request from one seeded generator, so a sequence of
requests meets the same faults on every run. Faults apply to `/v2` routes only; a request
carrying `X-Sandbox-Faults: off` is exempt (for harnesses that inspect state).

Behind `animus_prep.sandbox.server` a dropped connection is a real TCP reset. In-process
transports have no socket; there `ConnectionDropped` is raised to the caller instead.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import re
import socket
import struct
import threading
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

TRANSPORT_KEY = "animus_prep.sandbox.transport"
BYPASS_HEADER = b"x-sandbox-faults"
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s)?$")


class FaultSpecError(ValueError):
    """A `--faults` spec that cannot be parsed."""


class ConnectionDropped(ConnectionError):
    """Raised in-process where a served sandbox would reset the TCP connection."""


@dataclass(frozen=True)
class Fault:
    """One entry of a spec: `kind` is `reset`, `slow`, `lost` or a status code string."""

    kind: str
    probability: float
    duration: float | None = None

    @property
    def status(self) -> int | None:
        return int(self.kind) if self.kind.isdigit() else None


def _parse_duration(text: str, entry: str) -> float:
    m = _DURATION.match(text.strip())
    if not m:
        raise FaultSpecError(f"bad duration {text!r} in {entry!r}: use e.g. 2s, 1.5s or 500ms")
    value = float(m.group(1))
    return value / 1000 if m.group(2) == "ms" else value


def parse_faults(spec: str) -> tuple[Fault, ...]:
    """Parse a fault spec; raise `FaultSpecError` with a usage hint when it is malformed."""
    faults: list[Fault] = []
    seen: set[str] = set()
    for raw in spec.split(","):
        entry = raw.strip()
        if not entry:
            continue
        kind, sep, rest = entry.partition(":")
        kind = kind.strip().lower()
        if not sep:
            raise FaultSpecError(f"bad fault {entry!r}: expected KIND:PROBABILITY[@DURATION]")
        if kind.isdigit():
            if not 400 <= int(kind) <= 599:
                raise FaultSpecError(f"bad status {kind!r} in {entry!r}: use 400-599")
        elif kind not in {"reset", "slow", "lost", "garbled"}:
            raise FaultSpecError(
                f"unknown fault kind {kind!r} in {entry!r}: use a status (e.g. 503), "
                "reset, slow, lost or garbled"
            )
        if kind in seen:
            raise FaultSpecError(f"fault {kind!r} is listed twice")
        seen.add(kind)
        prob_text, at, dur_text = rest.partition("@")
        try:
            probability = float(prob_text)
        except ValueError:
            raise FaultSpecError(f"bad probability {prob_text!r} in {entry!r}") from None
        if not math.isfinite(probability) or not 0.0 <= probability <= 1.0:
            raise FaultSpecError(f"probability in {entry!r} must be within [0, 1]")
        duration = _parse_duration(dur_text, entry) if at else None
        if duration is not None and kind in {"reset", "lost", "garbled"}:
            raise FaultSpecError(f"{kind} takes no duration ({entry!r})")
        faults.append(Fault(kind, probability, duration))
    if sum(f.probability for f in faults) > 1.0 + 1e-9:
        raise FaultSpecError("fault probabilities add up to more than 1")
    return tuple(faults)


class FaultPlan:
    """Draws at most one fault per request from a seeded generator (thread-safe)."""

    def __init__(self, faults: tuple[Fault, ...], seed: int) -> None:
        self.faults = faults
        self._rng = random.Random(f"faults:{seed}")
        self._lock = threading.Lock()

    def draw(self) -> Fault | None:
        with self._lock:
            u = self._rng.random()
        edge = 0.0
        for fault in self.faults:
            edge += fault.probability
            if u < edge:
                return fault
        return None


async def _drop(scope: Scope, receive: Receive) -> None:
    transport: Any = scope.get("extensions", {}).get(TRANSPORT_KEY)
    if transport is None:
        raise ConnectionDropped("connection dropped by the sandbox fault injector")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # Linger 0 turns close into a TCP RST, which clients report as a reset.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    while (await receive())["type"] != "http.disconnect":
        pass


GARBLED_PAGE = b"<html><body><h1>Bad gateway</h1></body></html>"
"""What a `garbled` answer's body is replaced with."""


def _garbling(send: Send) -> Send:
    """A `send` that passes on the answer's status with `GARBLED_PAGE` as its body."""

    async def garble(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [
                (b"content-type", b"text/html"),
                (b"content-length", b"%d" % len(GARBLED_PAGE)),
            ]
            await send({**message, "headers": headers})
        elif message["type"] == "http.response.body" and not message.get("more_body"):
            await send({"type": "http.response.body", "body": GARBLED_PAGE})

    return garble


class FaultInjector:
    """ASGI middleware applying a `FaultPlan` to `/v2` requests."""

    def __init__(self, app: ASGIApp, plan: FaultPlan) -> None:
        self.app = app
        self.plan = plan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._applies(scope):
            await self.app(scope, receive, send)
            return
        fault = self.plan.draw()
        if fault is None:
            await self.app(scope, receive, send)
        elif fault.kind == "slow":
            await asyncio.sleep(1.0 if fault.duration is None else fault.duration)
            await self.app(scope, receive, send)
        elif fault.kind == "reset":
            await _drop(scope, receive)
        elif fault.kind == "lost":

            async def swallow(message: Message) -> None:
                return None

            await self.app(scope, receive, swallow)
            await _drop(scope, receive)
        elif fault.kind == "garbled":
            await self.app(scope, receive, _garbling(send))
        else:
            await self._error(fault, send)

    @staticmethod
    def _applies(scope: Scope) -> bool:
        path: str = scope.get("path", "")
        if not (path == "/v2" or path.startswith("/v2/")):
            return False
        return all(
            not (k == BYPASS_HEADER and v.strip().lower() == b"off")
            for k, v in scope.get("headers", [])
        )

    @staticmethod
    async def _error(fault: Fault, send: Send) -> None:
        status = fault.status or 500
        detail = {
            429: "Rate limit exceeded (injected by the sandbox)",
            503: "Service temporarily unavailable (injected by the sandbox)",
        }.get(status, f"Injected fault {status}")
        body = json.dumps({"detail": detail}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        retry_after = (
            fault.duration if fault.duration is not None else (1 if status == 429 else None)
        )
        if retry_after is not None:
            headers.append((b"retry-after", str(max(1, math.ceil(retry_after))).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
