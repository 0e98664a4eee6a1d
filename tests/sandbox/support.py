"""Shared pieces of the sandbox tests: keys, clients, pipeline steps.

Images come from the tests' one photo helper (`photos.textured`), clocks from the
client's public `FakeClock`, started at a realistic time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from animus_prep.client.testing import FakeClock
from photos import textured

SANDBOX_START = 1_800_000_000.0
"""Where the sandbox tests' fake clocks start: a realistic Unix time."""

KEY = "sk-test-a"
OTHER_KEY = "sk-test-b"


def api_client(base_url: str, key: str = KEY) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def upload(client: httpx.Client, cid: str, kind: str, seed: int, **extra: Any) -> httpx.Response:
    data = {"image_type": "body_image_front"} if kind == "body" else None
    return client.post(
        f"/{cid}/upload/{kind}-image",
        files={"file": (f"{kind}_{seed}.jpg", textured(seed), "image/jpeg")},
        data=data,
        **extra,
    )


def make_character(client: httpx.Client, faces: int = 5, bodies: int = 1) -> str:
    r = client.post("/characters", json={"name": "Chloe", "description": "test"})
    assert r.status_code == 200, r.text
    cid: str = r.json()["character_id"]
    for i in range(faces):
        assert upload(client, cid, "face", 100 + i).status_code == 200
    for i in range(bodies):
        assert upload(client, cid, "body", 200 + i).status_code == 200
    return cid


def wait_for(predicate: Callable[[], bool], timeout: float = 30, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(step)


def generate_dataset(
    client: httpx.Client, clock: FakeClock, cid: str, n: int = 10
) -> list[dict[str, Any]]:
    """Generate `n` renders, let the fake clock pass, return the image list."""
    prompts = [f"pose {i}" for i in range(n)]
    r = client.post(f"/{cid}/dataset/generate", json={"prompts": prompts})
    assert r.status_code == 200, r.text
    clock.advance(3600)
    status = client.get(f"/{cid}/dataset/status").json()
    assert status["generation_complete"], status
    images: list[dict[str, Any]] = client.get(f"/{cid}/dataset/images").json()["images"]
    assert len(images) == n
    return images


def approve_all(client: httpx.Client, cid: str, images: list[dict[str, Any]]) -> None:
    for im in images:
        r = client.put(f"/{cid}/dataset/images/{im['image_id']}/approval", json={"approved": True})
        assert r.status_code == 200, r.text
    r = client.post(f"/{cid}/dataset/approve")
    assert r.status_code == 200, r.text
