"""Shared pieces of the sandbox tests: test images, clocks, clients, pipeline steps."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
from PIL import Image

KEY = "sk-test-a"
OTHER_KEY = "sk-test-b"


def textured_image(seed: int, size: tuple[int, int] = (640, 800), fmt: str = "JPEG") -> bytes:
    """A sharp, textured synthetic photo (blocks plus a gradient), no network needed."""
    w, h = size
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (max(1, h // 16), max(1, w // 16), 3), dtype=np.uint8)
    img = Image.fromarray(blocks).resize((w, h), Image.Resampling.NEAREST)
    grad = np.linspace(0, 60, w, dtype=np.float32)[None, :, None]
    arr = np.clip(np.asarray(img, dtype=np.float32) * 0.8 + grad, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(arr).save(out, fmt)
    return out.getvalue()


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def api_client(base_url: str, key: str = KEY) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def upload(client: httpx.Client, cid: str, kind: str, seed: int, **extra: Any) -> httpx.Response:
    data = {"image_type": "body_image_front"} if kind == "body" else None
    return client.post(
        f"/{cid}/upload/{kind}-image",
        files={"file": (f"{kind}_{seed}.jpg", textured_image(seed), "image/jpeg")},
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
