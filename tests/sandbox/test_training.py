"""Training and generation jobs on the sandbox clock."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from fastapi import FastAPI

from animus_prep.sandbox import (
    PRICE_BODY_LORA,
    PRICE_FACE_LORA,
    close_app,
    create_app,
    serve_in_thread,
)
from animus_prep.sandbox.jobs import training_state

from .support import (
    KEY,
    SANDBOX_START,
    FakeClock,
    api_client,
    approve_all,
    generate_dataset,
    make_character,
    wait_for,
)


def _ready_character(client: httpx.Client, clock: FakeClock) -> str:
    cid = make_character(client)
    approve_all(client, cid, generate_dataset(client, clock, cid, n=10))
    return cid


def test_training_walks_through_its_statuses(client: httpx.Client, clock: FakeClock) -> None:
    cid = _ready_character(client, clock)
    start = client.post(f"/{cid}/training/face-lora").json()
    assert start["credits_deducted"] == PRICE_FACE_LORA
    assert start["remaining_balance"] == 1000 - PRICE_FACE_LORA
    assert start["training_steps"] == 1000
    job_id = start["job_id"]

    def job() -> dict[str, object]:
        face: dict[str, object] = client.get(f"/{cid}/training/status").json()["face_training"]
        return face

    seen = [job()]
    for step in (30, 300, 450, 900):
        clock.advance(step)
        seen.append(job())
    statuses = [j["status"] for j in seen]
    assert statuses == ["queued", "starting", "training", "training", "succeeded"]
    assert seen[2]["progress"] < seen[3]["progress"] < 100  # type: ignore[operator]
    assert seen[3]["training_phase"] == "training"
    assert seen[3]["eta_minutes"] > 0  # type: ignore[operator]
    assert seen[-1]["progress"] == 100.0
    assert seen[-1]["completed_at"]
    logs = client.get(f"/{cid}/training/jobs/{job_id}/logs", params={"lines": 3}).json()
    assert logs["lines"] == 3
    assert logs["logs"][-1].endswith("training succeeded")
    caps = client.get(f"/{cid}/generation/capabilities").json()
    assert caps["face_lora"] == {"status": "succeeded"}
    assert caps["generation_ready"] is False
    client.post(f"/{cid}/training/body-lora")
    clock.advance(10_000)
    caps = client.get(f"/{cid}/generation/capabilities").json()
    assert caps["generation_ready"] is True
    complete = client.get(f"/{cid}/training/complete-status").json()
    assert complete["dataset_status"] == "approved"
    assert complete["generation_ready"] is True
    jobs = client.get(f"/{cid}/training/jobs").json()
    assert jobs["total"] == 2
    assert [j["job_type"] for j in jobs["training_jobs"]] == ["body_lora", "face_lora"]
    assert client.get(f"/characters/{cid}").json()["current_step"] == 4


def test_cancel_while_running(client: httpx.Client, clock: FakeClock) -> None:
    cid = _ready_character(client, clock)
    job_id = client.post(f"/{cid}/training/body-lora").json()["job_id"]
    clock.advance(200)
    r = client.post(f"/{cid}/training/jobs/{job_id}/cancel")
    assert r.json()["status"] == "cancelled"
    clock.advance(100_000)
    status = client.get(f"/{cid}/training/status").json()
    assert status["body_lora_status"] == "cancelled"
    assert 0 < status["character_training"]["progress"] < 100
    assert client.post(f"/{cid}/training/jobs/{job_id}/cancel").status_code == 409
    again = client.post(f"/{cid}/training/body-lora")
    assert again.status_code == 200
    assert again.json()["remaining_balance"] == 1000 - 2 * PRICE_BODY_LORA


def test_a_get_on_a_start_route_starts_and_charges_at_most_once(
    client: httpx.Client, clock: FakeClock
) -> None:
    # The vendor guide starts trainings with a bare curl, i.e. a GET. Repeating it (a
    # reload, a prefetch, a rerun of the guide) must never pay again.
    cid = _ready_character(client, clock)
    first = client.get(f"/{cid}/training/face-lora")
    assert first.status_code == 200
    assert first.json()["credits_deducted"] == PRICE_FACE_LORA
    balance = first.json()["remaining_balance"]
    assert balance == 1000 - PRICE_FACE_LORA
    again = client.get(f"/{cid}/training/face-lora").json()
    assert again["job_id"] == first.json()["job_id"]
    assert (again["credits_deducted"], again["remaining_balance"]) == (0.0, balance)
    clock.advance(100_000)  # finished: a GET still answers the same job, unpaid
    later = client.get(f"/{cid}/training/face-lora").json()
    assert (later["job_id"], later["credits_deducted"]) == (first.json()["job_id"], 0.0)
    assert client.get(f"/{cid}/training/jobs").json()["total"] == 1
    # A POST is how one trains again, and it is charged.
    retrain = client.post(f"/{cid}/training/face-lora").json()
    assert retrain["job_id"] != first.json()["job_id"]
    assert retrain["remaining_balance"] == balance - PRICE_FACE_LORA
    # A GET after a POST-started job answers that job too.
    body = client.post(f"/{cid}/training/body-lora").json()
    assert client.get(f"/{cid}/training/body-lora").json()["job_id"] == body["job_id"]
    assert client.get(f"/{cid}/training/jobs").json()["total"] == 3


def test_failures_are_reported(tmp_path: Path) -> None:
    clock = FakeClock(SANDBOX_START)
    app = create_app(data_dir=tmp_path, api_keys={KEY: 100}, training_failure_rate=1.0, clock=clock)
    try:
        with serve_in_thread(app) as url, api_client(url) as c:
            cid = _ready_character(c, clock)
            job_id = c.post(f"/{cid}/training/face-lora").json()["job_id"]
            clock.advance(100_000)
            job = c.get(f"/{cid}/training/status").json()["face_training"]
            assert job["status"] == "failed"
            assert job["error"]
            logs = c.get(f"/{cid}/training/jobs/{job_id}/logs").json()["logs"]
            assert "ERROR" in logs[-1]
            assert c.get(f"/{cid}/generation/capabilities").json()["generation_ready"] is False
    finally:
        close_app(app)


def test_training_progresses_with_time_scale(tmp_path: Path) -> None:
    # 1560 virtual seconds of body training at 1000x take about 1.6 s of real time.
    with (
        serve_in_thread(data_dir=tmp_path, api_keys={KEY: 100}, time_scale=1000) as url,
        api_client(url) as c,
    ):
        cid = make_character(c)
        c.post(f"/{cid}/dataset/generate", json={"prompts": [f"p{i}" for i in range(10)]})
        wait_for(lambda: c.get(f"/{cid}/dataset/status").json()["generation_complete"])
        approve_all(c, cid, c.get(f"/{cid}/dataset/images").json()["images"])
        started = time.monotonic()
        c.post(f"/{cid}/training/body-lora")
        seen: list[str] = []

        def done() -> bool:
            job = c.get(f"/{cid}/training/status").json()["character_training"]
            if not seen or seen[-1] != job["status"]:
                seen.append(job["status"])
            return bool(job["status"] == "succeeded")

        wait_for(done, timeout=20, step=0.02)
        elapsed = time.monotonic() - started
    assert seen[-1] == "succeeded"
    assert "training" in seen
    assert 1.2 < elapsed < 10


def test_training_state_is_a_function_of_time() -> None:
    a = training_state("face_lora", 100.0, 100.0 + 400, 2.0)
    b = training_state("face_lora", 100.0, 100.0 + 400, 2.0)
    assert a == b
    assert a.status == "training"
    assert a.progress == round(100 * (800 - 60) / 900, 1)
    assert a.eta_minutes == round((960 - 800) / 2 / 60, 2)


def test_generation_after_training(client: httpx.Client, clock: FakeClock) -> None:
    cid = _ready_character(client, clock)
    body = {
        "prompt": "on a beach",
        "character_id": cid,
        "num_images": 2,
        "width": 768,
        "height": 1024,
    }
    r = client.post("/generation/create", json=body)
    assert r.status_code == 409
    client.post(f"/{cid}/training/face-lora")
    client.post(f"/{cid}/training/body-lora")
    clock.advance(10_000)
    r = client.post("/generation/create", json=body)
    created = r.json()
    assert created["credits_deducted"] == 2.0
    assert created["remaining_balance"] == 1000 - 30 - 45 - 2
    status = client.get(f"/generation/status/{created['generation_id']}").json()
    assert status["status"] == "queued"
    assert status["result_urls"] == []
    clock.advance(100)
    status = client.get(f"/generation/status/{created['generation_id']}").json()
    assert status["status"] == "completed"
    assert len(status["result_urls"]) == 2
    img = client.get(status["result_urls"][0])
    assert img.headers["content-type"] == "image/jpeg"


def test_face_augmentation_adds_faces(
    sandbox: tuple[FastAPI, str], client: httpx.Client, clock: FakeClock
) -> None:
    cid = make_character(client, faces=1, bodies=0)
    source = client.get(f"/{cid}/assets").json()["assets"][0]["view_url"]
    r = client.post(
        f"/characters/{cid}/auto-generate-face-images",
        json={"source_image_url": source, "prompts": ["smile", "profile", "laugh"]},
    ).json()
    assert r["total_images"] == 3
    assert r["credits_deducted"] == 1.5
    assert r["remaining_balance"] == 998.5
    job = client.get(f"/upload-job/{r['job_id']}/status").json()
    assert (job["status"], job["completed_images"]) == ("queued", 0)
    clock.advance(5 + 6 + 1)
    job = client.get(f"/upload-job/{r['job_id']}/status").json()
    assert (job["status"], job["completed_images"]) == ("processing", 1)
    clock.advance(60)
    job = client.get(f"/upload-job/{r['job_id']}/status").json()
    assert (job["status"], job["completed_images"], job["progress"]) == ("completed", 3, 100.0)
    assets = client.get(f"/{cid}/assets", params={"asset_type": "face_image"}).json()
    assert assets["total"] == 4
    assert [a["source"] for a in assets["assets"]] == ["upload"] + ["augmented"] * 3
    too_many = client.post(
        f"/characters/{cid}/auto-generate-face-images",
        json={"source_image_url": source, "prompts": ["x"] * 17},
    )
    assert too_many.status_code == 400
    with api_client(sandbox[1], "sk-test-b") as other:
        assert other.get(f"/upload-job/{r['job_id']}/status").status_code == 404
