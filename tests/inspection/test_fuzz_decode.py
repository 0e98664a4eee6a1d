"""Bounded fuzzing of the whole per-file analysis with mutated real images: every input
gets a verdict, never an exception, within a bounded time."""

from __future__ import annotations

import time
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from animus_prep.inspection.analysis import analyze_bytes
from animus_prep.policy import Policy
from animus_prep.reasons import ReasonCode
from photos import encode, photo

POLICY = Policy(identity=False)
# Far above what a 700 px image takes (tens of ms): a hang or a runaway decode, not speed.
MAX_SECONDS = 10.0


@cache
def _original(fmt: str) -> bytes:
    params: dict[str, object] = {"progressive": True} if fmt == "JPEG-progressive" else {}
    real = "JPEG" if fmt.startswith("JPEG") else fmt
    return encode(photo("astronaut", 700), real, **params)


mutation = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0.0, 1.0), st.just(b"")),
    st.tuples(st.just("flip"), st.floats(0.0, 1.0), st.integers(0, 7).map(lambda b: bytes([b]))),
    st.tuples(st.just("overwrite"), st.floats(0.0, 1.0), st.binary(min_size=1, max_size=512)),
    st.tuples(st.just("insert"), st.floats(0.0, 1.0), st.binary(min_size=1, max_size=64)),
)


def _mutate(data: bytes, mutations: list[tuple[str, float, bytes]]) -> bytes:
    out = bytearray(data)
    for kind, where, payload in mutations:
        at = min(len(out) - 1, int(where * len(out))) if out else 0
        if kind == "truncate":
            del out[at:]
        elif kind == "flip" and out:
            out[at] ^= 1 << payload[0]
        elif kind == "overwrite":
            out[at : at + len(payload)] = payload
        elif kind == "insert":
            out[at:at] = payload
    return bytes(out)


@pytest.mark.parametrize("fmt", ["JPEG", "JPEG-progressive", "PNG", "WEBP"])
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(mutations=st.lists(mutation, min_size=1, max_size=4))
def test_a_mutated_image_always_gets_a_verdict(
    fmt: str, mutations: list[tuple[str, float, bytes]]
) -> None:
    data = _mutate(_original(fmt), mutations)
    started = time.perf_counter()
    a = analyze_bytes(data, "fuzzed", POLICY, kind="face")
    assert time.perf_counter() - started < MAX_SECONDS
    for reason in a.reasons():
        assert isinstance(reason.code, ReasonCode) and reason.message
