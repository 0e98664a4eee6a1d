"""Dataset renders: real JPEGs from the references, seeded defects, review actions."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from PIL import Image

from animus_prep.sandbox import Defect, close_app, create_app, injected_defects, serve_in_thread
from animus_prep.sandbox.defects import plan_batch

from .support import KEY, SANDBOX_START, FakeClock, api_client, generate_dataset, make_character


def _decode(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return im.convert("RGB")


def test_renders_arrive_over_time(client: httpx.Client, clock: FakeClock) -> None:
    cid = make_character(client, faces=1, bodies=1)
    r = client.post(f"/{cid}/dataset/generate", json={"use_default_prompts": True})
    assert r.json()["total_images"] == 20
    status = client.get(f"/{cid}/dataset/status").json()
    assert (status["dataset_status"], status["generation_complete"]) == ("generating", False)
    assert client.get(f"/{cid}/dataset/images").json()["total"] == 0
    clock.advance(8 + 4 * 4 + 0.5)  # the first five are due
    assert client.get(f"/{cid}/dataset/images").json()["total"] == 5
    assert client.post(f"/{cid}/dataset/generate", json={}).status_code == 409
    clock.advance(3600)
    listing = client.get(f"/{cid}/dataset/images").json()
    assert listing["total"] == 20
    assert listing["dataset_status"] == "reviewing"
    assert all(i["prompt"] and i["review_status"] == "pending" for i in listing["images"])
    assert len({i["seed"] for i in listing["images"]}) == 20


def test_clean_renders_are_large_jpegs_derived_from_references(
    sandbox: tuple[FastAPI, str], client: httpx.Client, clock: FakeClock
) -> None:
    cid = make_character(client, faces=2, bodies=1)
    images = generate_dataset(client, clock, cid, n=12)
    defects = injected_defects(sandbox[0], cid)
    clean = [i for i in images if defects[i["image_id"]] is None]
    assert len(clean) == 12 - round(0.3 * 12)
    for im in clean:
        assert im["view_url"].startswith(sandbox[1] + "/files/")
        r = client.get(im["view_url"])
        assert r.headers["content-type"] == "image/jpeg"
        img = _decode(r.content)
        assert min(img.size) >= 768
        assert np.asarray(img.convert("L"), dtype=np.float32).std() > 10


def test_defects_at_the_configured_rate_and_detectable(
    sandbox: tuple[FastAPI, str], client: httpx.Client, clock: FakeClock
) -> None:
    cid = make_character(client, faces=2, bodies=1)
    images = generate_dataset(client, clock, cid, n=24)
    defects = injected_defects(sandbox[0], cid)
    flawed = {k: v for k, v in defects.items() if v}
    assert len(flawed) == round(0.3 * 24)
    assert set(flawed.values()) == {d.value for d in Defect}  # 7 flawed: every kind once
    by_kind = {v: k for k, v in flawed.items()}
    content = {i["image_id"]: client.get(i["view_url"]).content for i in images}

    with pytest.raises(OSError):
        _decode(content[by_kind["corrupt"]])
    assert max(_decode(content[by_kind["tiny"]]).size) < 512
    dup = content[by_kind["duplicate"]]
    assert [k for k, v in content.items() if v == dup and k != by_kind["duplicate"]]
    blurred = np.asarray(_decode(content[by_kind["blur"]]).convert("L"), dtype=np.float32)
    sharp_id = next(k for k, v in defects.items() if v is None)
    sharp = np.asarray(_decode(content[sharp_id]).convert("L"), dtype=np.float32)
    assert np.abs(np.diff(blurred, axis=1)).mean() < np.abs(np.diff(sharp, axis=1)).mean() / 2


def test_defect_plan_is_reproducible_and_exact() -> None:
    import random

    a = plan_batch(20, 0.25, random.Random("x"))
    b = plan_batch(20, 0.25, random.Random("x"))
    assert a == b
    assert sum(d is not None for d in a) == 5
    assert sum(d is not None for d in plan_batch(20, 0.0, random.Random(1))) == 0
    assert all(
        d is not None and d is not Defect.DUPLICATE for d in plan_batch(3, 1.0, random.Random(1))
    )


def _defect_sequence(tmp_path: Path, seed: int) -> list[str | None]:
    clock = FakeClock(SANDBOX_START)
    app = create_app(data_dir=tmp_path, api_keys={KEY: 10}, seed=seed, defect_rate=0.4, clock=clock)
    try:
        with serve_in_thread(app) as url, api_client(url) as c:
            cid = make_character(c, faces=1, bodies=1)
            c.post(f"/{cid}/dataset/generate", json={"prompts": [f"p{i}" for i in range(10)]})
            return list(injected_defects(app, cid).values())
    finally:
        close_app(app)


def test_defects_are_seeded(tmp_path: Path) -> None:
    first = _defect_sequence(tmp_path / "a", 11)
    assert first == _defect_sequence(tmp_path / "b", 11)
    assert sum(d is not None for d in first) == 4
    others = [_defect_sequence(tmp_path / f"s{s}", s) for s in (12, 13)]
    assert any(other != first for other in others)


def test_review_regenerate_and_delete(client: httpx.Client, clock: FakeClock) -> None:
    cid = make_character(client)
    images = generate_dataset(client, clock, cid, n=11)
    first, second = images[0], images[1]
    r = client.post(
        f"/{cid}/dataset/images/{first['image_id']}/regenerate", json={"prompt": "new pose"}
    )
    assert r.json() == {
        "success": True,
        "message": "Regeneration queued",
        "image_id": first["image_id"],
    }
    assert client.get(f"/{cid}/dataset/status").json()["generation_complete"] is False
    clock.advance(10)
    again = next(
        i
        for i in client.get(f"/{cid}/dataset/images").json()["images"]
        if i["image_id"] == first["image_id"]
    )
    assert again["regenerated"] is True
    assert again["prompt"] == "new pose"
    assert again["seed"] != first["seed"]
    assert again["review_status"] == "pending"
    assert again["view_url"] != first["view_url"]
    assert client.get(first["view_url"]).status_code == 404
    assert client.delete(f"/{cid}/dataset/images/{second['image_id']}").json()["success"]
    assert client.get(second["view_url"]).status_code == 404
    listing = client.get(f"/{cid}/dataset/images").json()
    assert listing["total"] == 10
    for im in listing["images"]:
        client.put(f"/{cid}/dataset/images/{im['image_id']}/approval", json={"approved": True})
    only = client.get(f"/{cid}/dataset/images", params={"approved_only": True}).json()
    assert only["approved_count"] == only["total"] == 10
    status = client.get(f"/{cid}/dataset/status").json()
    assert status["can_approve"] is True
    r = client.post(f"/{cid}/dataset/approve").json()
    assert r == {
        "success": True,
        "message": "Dataset approved",
        "approved_images": 10,
        "next_step": 3,
    }
    assert client.get(f"/characters/{cid}").json()["current_step"] == 3
    r = client.delete(f"/{cid}/dataset/images/{listing['images'][0]['image_id']}")
    assert r.status_code == 409
