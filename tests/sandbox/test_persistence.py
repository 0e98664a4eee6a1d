"""A restart with the same data folder keeps characters, assets, renders, jobs, credits."""

from __future__ import annotations

from pathlib import Path

from animus_prep.sandbox import close_app, create_app, injected_defects, serve_in_thread

from .support import (
    KEY,
    SANDBOX_START,
    FakeClock,
    api_client,
    approve_all,
    generate_dataset,
    make_character,
)


def test_restart_keeps_everything(tmp_path: Path) -> None:
    clock = FakeClock(SANDBOX_START)
    data = tmp_path / "state"
    app = create_app(data_dir=data, api_keys={KEY: 100}, seed=3, clock=clock)
    try:
        with serve_in_thread(app) as url, api_client(url) as c:
            cid = make_character(c, faces=5, bodies=1)
            images = generate_dataset(c, clock, cid, n=10)
            approve_all(c, cid, images)
            job = c.post(f"/{cid}/training/face-lora").json()
            clock.advance(60 + 450)  # half-way through the training stage
            before = {
                "character": c.get(f"/characters/{cid}").json(),
                "assets": c.get(f"/{cid}/assets").json(),
                "images": c.get(f"/{cid}/dataset/images").json(),
                "training": c.get(f"/{cid}/training/status").json(),
            }
            render = c.get(images[0]["view_url"]).content
    finally:
        close_app(app)
    assert before["training"]["face_training"]["status"] == "training"
    assert before["training"]["face_training"]["progress"] == 50.0

    # New keys may be added at restart; the old balance is kept, not reset to the flag.
    app = create_app(data_dir=data, api_keys={KEY: 100, "sk-new": 5}, seed=3, clock=clock)
    try:
        with serve_in_thread(app) as url, api_client(url) as c:
            assert c.get(f"/characters/{cid}").json() == before["character"]
            assert c.get(f"/{cid}/assets").json()["assets"] == [
                {**a, "view_url": a["view_url"].replace(_origin(before), _origin_of(url))}
                for a in before["assets"]["assets"]
            ]
            after_images = c.get(f"/{cid}/dataset/images").json()
            assert [i["image_id"] for i in after_images["images"]] == [
                i["image_id"] for i in before["images"]["images"]
            ]
            assert c.get(after_images["images"][0]["view_url"]).content == render
            assert c.get(f"/{cid}/training/status").json() == before["training"]
            clock.advance(1000)
            status = c.get(f"/{cid}/training/jobs/{job['job_id']}/logs").json()
            assert status["logs"][-1].endswith("training succeeded")
            r = c.post(f"/{cid}/training/body-lora")
            assert r.json()["remaining_balance"] == 100 - 30 - 45
        assert set(injected_defects(data, cid)) == {i["image_id"] for i in images}
    finally:
        close_app(app)


def _origin(before: dict[str, dict[str, list[dict[str, str]]]]) -> str:
    return before["assets"]["assets"][0]["view_url"].split("/v2/")[0]


def _origin_of(url: str) -> str:
    return url.removesuffix("/v2")
