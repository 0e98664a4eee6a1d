"""Every error status of the contract, with the documented bodies."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image

from animus_prep.sandbox import serve_in_thread
from photos import textured

from .support import (
    KEY,
    FakeClock,
    api_client,
    approve_all,
    generate_dataset,
    make_character,
    upload,
)


def test_401_without_or_with_a_bad_key(sandbox: tuple[FastAPI, str]) -> None:
    with httpx.Client(base_url=sandbox[1]) as anon:
        r = anon.get("/characters")
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert "bearer" in r.json()["detail"].lower()
    with api_client(sandbox[1], "sk-wrong") as bad:
        r = bad.get("/characters")
        assert r.status_code == 401
        assert r.json() == {"detail": "Invalid API key"}


def test_401_never_echoes_the_key(sandbox: tuple[FastAPI, str]) -> None:
    with api_client(sandbox[1], "sk-secret-value") as bad:
        assert "sk-secret-value" not in bad.get("/characters").text


def test_404_for_unknown_ids(client: httpx.Client) -> None:
    cid = make_character(client, faces=0, bodies=0)
    for path in (
        "/characters/char_nope",
        "/char_nope/assets",
        "/char_nope/dataset/status",
        f"/{cid}/training/jobs/train_nope/logs",
        "/upload-job/upjob_nope/status",
        "/generation/status/gen_nope",
        "/files/asset_000000000000000000000000.jpg",
    ):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "not found" in r.json()["detail"]
    r = client.put(f"/{cid}/dataset/images/img_nope/approval", json={"approved": True})
    assert r.status_code == 404


def test_402_body_and_balance_untouched(tmp_path: Path, clock: FakeClock) -> None:
    with (
        serve_in_thread(data_dir=tmp_path, api_keys={KEY: 3}, clock=clock) as url,
        api_client(url) as c,
    ):
        cid = make_character(c, faces=1, bodies=0)
        r = c.post(
            f"/characters/{cid}/auto-generate-face-images",
            json={"source_image_url": "https://cdn.example.com/a.png"},
        )
        assert r.status_code == 402
        body = r.json()
        assert body["error"] == "insufficient_credits"
        assert body["required_credits"] == 4.0
        assert body["current_balance"] == 3.0
        assert "4" in body["message"]
        r = c.post(
            f"/characters/{cid}/auto-generate-face-images",
            json={"source_image_url": "https://cdn.example.com/a.png", "prompts": ["a"] * 6},
        )
        assert r.status_code == 200
        assert r.json()["remaining_balance"] == 0.0


def test_400_validation_of_uploads(client: httpx.Client) -> None:
    cid = make_character(client, faces=0, bodies=0)
    cases = {
        "small": (textured(1, (400, 400)), "image/jpeg", "at least 512x512"),
        "corrupt": (textured(1)[:5000], "image/jpeg", "corrupt or truncated"),
        "text": (b"hello world", "image/jpeg", "not a decodable"),
        "type": (textured(1), "text/html", "Unsupported content type"),
    }
    for name, (data, ctype, needle) in cases.items():
        r = client.post(f"/{cid}/upload/face-image", files={"file": (f"{name}.jpg", data, ctype)})
        assert r.status_code == 400, name
        assert needle in r.json()["detail"], (name, r.json())
    flat = io.BytesIO()
    Image.new("RGB", (800, 800), (120, 120, 120)).save(flat, "PNG")
    r = client.post(f"/{cid}/upload/face-image", files={"file": ("flat.png", flat.getvalue())})
    assert r.status_code == 400
    assert "sharpness" in r.json()["detail"]
    assert client.get(f"/{cid}/assets").json()["total"] == 0


def test_409_prerequisites(client: httpx.Client, clock: FakeClock) -> None:
    cid = make_character(client, faces=0, bodies=0)
    r = client.post(f"/{cid}/dataset/generate", json={"use_default_prompts": True})
    assert r.status_code == 409
    assert client.post(f"/{cid}/dataset/approve").status_code == 409
    for i in range(3):
        upload(client, cid, "face", i)
    upload(client, cid, "body", 9)
    images = generate_dataset(client, clock, cid, n=10)
    r = client.post(f"/{cid}/dataset/approve")
    assert r.status_code == 409
    assert "10 images are still pending review" in r.json()["detail"]
    r = client.post(f"/{cid}/training/face-lora")
    assert r.status_code == 409
    assert "Approve the dataset" in r.json()["detail"]
    approve_all(client, cid, images)
    r = client.post(f"/{cid}/training/face-lora")
    assert r.status_code == 409
    assert "face LoRA training needs at least 5" in r.json()["detail"]
    assert client.post(f"/{cid}/training/body-lora").status_code == 200
    r = client.post(f"/{cid}/training/body-lora")
    assert r.status_code == 409
    assert "already running" in r.json()["detail"]


def test_409_too_few_approved(client: httpx.Client, clock: FakeClock) -> None:
    cid = make_character(client)
    images = generate_dataset(client, clock, cid, n=10)
    for i, im in enumerate(images):
        r = client.put(
            f"/{cid}/dataset/images/{im['image_id']}/approval", json={"approved": i % 2 == 0}
        )
        assert r.json()["approved"] is (i % 2 == 0)
    r = client.post(f"/{cid}/dataset/approve")
    assert r.status_code == 409
    assert "at least 10 are required" in r.json()["detail"]


def test_413_for_a_body_over_the_limit(client: httpx.Client) -> None:
    cid = make_character(client, faces=0, bodies=0)
    big = b"\xff\xd8" + b"0" * (22 * 1024 * 1024)
    r = client.post(f"/{cid}/upload/face-image", files={"file": ("big.jpg", big, "image/jpeg")})
    assert r.status_code == 413
    assert "too large" in r.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        (
            "post",
            "/characters",
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
        ),
        ("post", "/characters", {"json": {"name": ""}}),
        ("post", "/characters", {"json": {"name": 5}}),
        ("get", "/characters?limit=0", {}),
        ("get", "/characters?limit=101", {}),
        ("get", "/characters?offset=-1", {}),
        ("post", "/generation/create", {"json": {"prompt": "x"}}),
    ],
)
def test_422_for_malformed_requests(
    client: httpx.Client, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    r = client.request(method.upper(), path, **kwargs)
    assert r.status_code == 422
    assert r.json()["detail"]


def test_413_for_a_chunked_body_over_the_limit(client: httpx.Client) -> None:
    cid = make_character(client, faces=0, bodies=0)
    boundary = b"xyz"

    def body() -> Iterator[bytes]:
        yield b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
        yield b"Content-Type: image/jpeg\r\n\r\n"
        for _ in range(23):
            yield b"\xff" * (1024 * 1024)
        yield b"\r\n--xyz--\r\n"

    r = client.post(
        f"/{cid}/upload/face-image",
        content=body(),
        headers={"content-type": f"multipart/form-data; boundary={boundary.decode()}"},
    )
    assert r.status_code == 413
    assert client.get(f"/{cid}/assets").json()["total"] == 0


def test_deeply_nested_json_is_a_client_error(client: httpx.Client) -> None:
    r = client.post(
        "/characters",
        content=b"[" * 100_000 + b"]" * 100_000,
        headers={"content-type": "application/json"},
    )
    assert 400 <= r.status_code < 500
    assert r.json()["detail"]


def test_402_for_training(tmp_path: Path, clock: FakeClock) -> None:
    with (
        serve_in_thread(data_dir=tmp_path, api_keys={KEY: 40}, clock=clock) as url,
        api_client(url) as c,
    ):
        cid = make_character(c)
        approve_all(c, cid, generate_dataset(c, clock, cid, n=10))
        assert c.post(f"/{cid}/training/face-lora").json()["remaining_balance"] == 10
        r = c.post(f"/{cid}/training/body-lora")
        assert r.status_code == 402
        assert r.json() == {
            "error": "insufficient_credits",
            "message": "This operation requires 45 credits; your balance is 10.",
            "required_credits": 45.0,
            "current_balance": 10.0,
        }
        assert c.get(f"/{cid}/training/jobs").json()["total"] == 1


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "a\\ud800b"}',  # a lone surrogate
        b'{"name": "ok", "description": "\\udfff"}',
        b'{"name": NaN}',
        b'{"name": "x", "description": 1e999}',
        b'{"name": -Infinity}',
    ],
)
def test_input_json_cannot_echo_back_is_a_422_not_a_500(client: httpx.Client, body: bytes) -> None:
    r = client.post("/characters", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail and all({"type", "loc", "msg"} <= set(item) for item in detail)
    # The connection stays usable for the next request.
    assert client.get("/characters").status_code == 200
