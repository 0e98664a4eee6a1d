"""The typed client against the project's sandbox server: real requests, no mocks.

Every namespace is driven with both ``Client`` and ``AsyncClient``. In-process tests
share one ``FakeClock`` between the sandbox and the client, so a waiter's sleep moves
the sandbox's time and waits finish at once, deterministically. The over-HTTP tests
serve the sandbox on 127.0.0.1 with a high ``time_scale`` and real (short) sleeps, and
inject seeded faults: lost responses, connection resets, 503 and 429.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from PIL import Image
from sandbox_support import (
    CREDITS,
    KEY,
    OTHER_KEY,
    POOR_CREDITS,
    POOR_KEY,
    START,
    WRONG_KEY,
    Exchange,
    aw,
    collect,
    leaks,
    raw_client,
    run,
    seed_where,
)

from animus_prep.client import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    Capabilities,
    Character,
    ConflictError,
    DatasetStatus,
    GenerationStatus,
    NotFoundError,
    PaymentRequiredError,
    RetryPolicy,
    Status,
    TrainingProgress,
    UploadJob,
    WaitTimeoutError,
    content_filename,
)
from animus_prep.client.testing import FakeClock, disable_sleep
from animus_prep.sandbox import (
    PRICE_BODY_LORA,
    PRICE_FACE_AUGMENTATION,
    PRICE_FACE_LORA,
    PRICE_GENERATION_IMAGE,
    close_app,
    create_app,
    serve_in_thread,
)
from photos import textured

# Retries that never really wait: backoff is scaled down and sleeps go to a FakeClock.
PATIENT = RetryPolicy(attempts=12, initial_wait=0.05, max_wait=0.5, timeout=600)


@pytest.fixture
def clock() -> FakeClock:
    """Simulated time shared by the in-process sandbox and the client under test."""
    return FakeClock(START)


@pytest.fixture
def app(tmp_path: Path, clock: FakeClock) -> Iterator[FastAPI]:
    """An in-process sandbox with three organizations (one nearly out of credits)."""
    sandbox = create_app(
        data_dir=tmp_path / "sandbox",
        api_keys={KEY: CREDITS, OTHER_KEY: CREDITS, POOR_KEY: POOR_CREDITS},
        seed=11,
        clock=clock,
    )
    try:
        yield sandbox
    finally:
        close_app(sandbox)


def assert_clean(error: BaseException) -> None:
    """No test key in any string or repr of the error or its causes."""
    assert leaks(error) == []


# Scenario building blocks, shared by both clients.


async def new_character(c: Any, *, faces: int = 1, bodies: int = 1, name: str = "Chloe") -> str:
    character = await aw(c.characters.create(name, "test character"))
    cid: str = character.character_id
    for i in range(faces):
        await aw(c.assets.upload_face(cid, textured(100 + i), filename=f"face-{i}.jpg"))
    for i in range(bodies):
        await aw(
            c.assets.upload_body(
                cid, textured(200 + i), filename=f"body-{i}.jpg", image_type="body_image_front"
            )
        )
    return cid


async def ready_character(c: Any) -> str:
    """A character with an approved dataset of ten renders, ready to train."""
    cid = await new_character(c, faces=5)
    await aw(c.dataset.generate(cid, prompts=[f"pose {i}" for i in range(10)]))
    await aw(c.dataset.wait_until_generated(cid, interval=10, timeout=600))
    for image in (await aw(c.dataset.images(cid))).images:
        await aw(c.dataset.approve_image(cid, image.image_id))
    await aw(c.dataset.approve(cid))
    return cid


# Characters


def test_characters_create_list_page_get_update_delete(
    mode: str, app: FastAPI, clock: FakeClock
) -> None:
    async def scenario(c: Any) -> dict[str, Any]:
        made = [await aw(c.characters.create(f"Character {i}", f"no. {i}")) for i in range(5)]
        ids = [m.character_id for m in made]
        out: dict[str, Any] = {"made": made}
        out["first"] = await aw(c.characters.list(limit=2))
        out["last"] = await aw(c.characters.list(limit=2, offset=4))
        out["all"] = await collect(c.characters.iter(page_size=2))
        out["tail"] = await collect(c.characters.iter(page_size=2, offset=3))
        out["got"] = await aw(c.characters.get(ids[1]))
        out["renamed"] = await aw(
            c.characters.update(ids[1], name="Renamed", description="changed")
        )
        out["deleted"] = await aw(c.characters.delete(ids[0]))
        out["after"] = await collect(c.characters.iter(page_size=3))
        with pytest.raises(NotFoundError) as gone:
            await aw(c.characters.get(ids[0]))
        out["gone"] = gone.value
        out["repr"] = repr(c) + repr(c._core) + repr(vars(c._core))
        return out

    log: list[Exchange] = []
    out = run(mode, scenario, app=app, clock=clock, log=log)
    made: list[Character] = out["made"]
    ids = [m.character_id for m in made]
    first = made[0]
    assert isinstance(first, Character)
    assert (first.name, first.description, first.current_step) == ("Character 0", "no. 0", 1)
    assert first.organization_id and first.creator_id and first.created_at
    assert (first.face_images_count, first.body_images_count) == (0, 0)
    assert first.dataset_status == "not_started"
    assert first.face_lora_status == "not_started"
    assert len(set(ids)) == 5

    page = out["first"]
    assert [c.character_id for c in page.characters] == ids[:2]
    assert page.pagination.limit == 2
    assert (page.pagination.returned, page.pagination.has_more) == (2, True)
    assert page.filters["organization_id"] == first.organization_id
    assert out["last"].pagination.has_more is False
    assert [c.character_id for c in out["last"].characters] == ids[4:]

    # Three pages of two: the iterator walked them all, in order, once each.
    assert [c.character_id for c in out["all"]] == ids
    assert [c.character_id for c in out["tail"]] == ids[3:]
    pages = [e for e in log if e.method == "GET" and e.path == "/v2/characters"]
    assert len(pages) == 1 + 1 + 3 + 1 + 2  # two lists, then 3, 1 and 2 pages of iteration

    assert out["got"] == made[1]
    renamed = out["renamed"]
    assert (renamed.character_id, renamed.name, renamed.description) == (
        ids[1],
        "Renamed",
        "changed",
    )
    assert out["deleted"].success is True
    assert [c.character_id for c in out["after"]] == ids[1:]
    assert out["gone"].status_code == 404
    assert_clean(out["gone"])
    assert KEY not in out["repr"] and "http://sandbox/v2" in out["repr"]


def test_organizations_see_only_their_own_characters(mode: str, app: FastAPI) -> None:
    async def create(c: Any) -> str:
        character = await aw(c.characters.create("Mine"))
        return str(character.character_id)

    async def listing(c: Any) -> list[str]:
        return [ch.character_id for ch in await collect(c.characters.iter())]

    mine = run(mode, create, app=app)
    assert run(mode, listing, app=app, key=OTHER_KEY) == []
    assert run(mode, listing, app=app) == [mine]


# Reference photos


def test_uploads_list_filters_and_downloads(
    mode: str, app: FastAPI, clock: FakeClock, tmp_path: Path
) -> None:
    path = tmp_path / "front face.jpg"
    path.write_bytes(textured(1))

    async def scenario(c: Any) -> dict[str, Any]:
        cid = (await aw(c.characters.create("Chloe"))).character_id
        out: dict[str, Any] = {"cid": cid}
        out["from_path"] = await aw(c.assets.upload_face(cid, path))
        out["from_bytes"] = await aw(c.assets.upload_face(cid, textured(2), filename="smile.jpg"))
        out["body"] = await aw(
            c.assets.upload_body(
                cid, textured(3), filename="back.jpg", image_type="body_image_back"
            )
        )
        out["all"] = await aw(c.assets.list(cid))
        out["faces"] = await aw(c.assets.list(cid, asset_type="face_image"))
        out["bodies"] = await aw(c.assets.list(cid, asset_type="body_image"))
        out["skipped"] = await aw(c.assets.upload_face(cid, path, skip_existing=True))
        out["again"] = await aw(c.assets.upload_face(cid, textured(2), filename="smile.jpg"))
        out["after"] = await aw(c.assets.list(cid))
        out["bytes"] = await aw(c.download(out["body"].view_url))
        out["character"] = await aw(c.characters.get(cid))
        return out

    log: list[Exchange] = []
    out = run(mode, scenario, app=app, clock=clock, log=log)
    from_path, from_bytes, body = out["from_path"], out["from_bytes"], out["body"]
    assert from_path.success is True and from_path.asset_id
    assert from_path.filename == content_filename("front face.jpg", textured(1)).replace(" ", "_")
    assert from_bytes.filename == content_filename("smile.jpg", textured(2))
    assert from_path.caption_status == "completed"
    assert body.image_type == "body_image_back"
    assert not (from_path.reconciled or from_bytes.reconciled or body.reconciled)

    assert out["all"].total == 3
    assert [a.asset_id for a in out["all"].assets] == [
        from_path.asset_id,
        from_bytes.asset_id,
        body.asset_id,
    ]
    assert {a.asset_type for a in out["faces"].assets} == {"face_image"}
    assert len(out["faces"].assets) == 2
    [only_body] = out["bodies"].assets
    assert (only_body.asset_id, only_body.image_type) == (body.asset_id, "body_image_back")

    # Content already stored: skip_existing answers from the asset list without a POST,
    # and a plain re-upload of the same content is replayed by its Idempotency-Key.
    skipped, again = out["skipped"], out["again"]
    assert skipped.reconciled is True and skipped.asset_id == from_path.asset_id
    assert again.asset_id == from_bytes.asset_id
    assert out["after"].total == 3
    face_posts = [e for e in log if e.method == "POST" and e.path.endswith("/face-image")]
    assert len(face_posts) == 3

    assert out["bytes"] == textured(3)
    assert (out["character"].face_images_count, out["character"].body_images_count) == (2, 1)


# Face augmentation


def test_face_augmentation_and_its_upload_job_waiter(
    mode: str, app: FastAPI, clock: FakeClock
) -> None:
    seen: list[UploadJob] = []

    async def scenario(c: Any) -> dict[str, Any]:
        cid = await new_character(c, faces=1, bodies=0)
        source = (await aw(c.assets.list(cid))).assets[0].view_url
        job = await aw(
            c.face_augmentation.create(cid, source, prompts=["smile", "profile", "laugh"])
        )
        done = await aw(
            c.face_augmentation.wait(job.job_id, interval=4, timeout=120, on_progress=seen.append)
        )
        again = await aw(c.face_augmentation.job_status(job.job_id))
        faces = await aw(c.assets.list(cid, asset_type="face_image"))
        return {"job": job, "done": done, "again": again, "faces": faces}

    out = run(mode, scenario, app=app, clock=clock)
    job = out["job"]
    assert job.status == "queued" and job.is_active
    assert job.total_images == 3
    assert job.credits_deducted == 3 * PRICE_FACE_AUGMENTATION
    assert job.remaining_balance == CREDITS - 3 * PRICE_FACE_AUGMENTATION
    done = out["done"]
    assert done.succeeded and done.state is Status.SUCCEEDED
    assert (done.completed_images, done.failed_images, done.progress) == (3, 0, 100.0)
    assert out["again"].status == "completed"

    statuses = [s.status for s in seen]
    assert statuses[0] == "queued" and statuses[-1] == "completed"
    assert "processing" in statuses
    completed = [s.completed_images or 0 for s in seen]
    assert completed == sorted(completed)
    assert clock.sleeps and set(clock.sleeps) == {4}
    assert out["faces"].total == 4 and len(out["faces"].assets) == 4


# Dataset


def test_dataset_generate_review_regenerate_delete_approve(
    mode: str, app: FastAPI, clock: FakeClock
) -> None:
    progress: list[DatasetStatus] = []

    async def scenario(c: Any) -> dict[str, Any]:
        cid = await new_character(c)
        out: dict[str, Any] = {}
        with pytest.raises(ConflictError) as early:
            await aw(c.dataset.approve(cid))
        out["early"] = early.value
        prompts = [f"pose {i}" for i in range(12)]
        out["generation"] = await aw(c.dataset.generate(cid, prompts=prompts))
        out["complete"] = await aw(
            c.dataset.wait_until_generated(
                cid, interval=10, timeout=600, on_progress=progress.append
            )
        )
        images = (await aw(c.dataset.images(cid))).images
        out["images"] = images
        with pytest.raises(ConflictError) as pending:
            await aw(c.dataset.approve(cid))
        out["pending"] = pending.value
        out["approvals"] = [
            await aw(c.dataset.approve_image(cid, im.image_id)) for im in images[:10]
        ]
        out["rejection"] = await aw(c.dataset.reject_image(cid, images[10].image_id))
        out["regenerated"] = await aw(
            c.dataset.regenerate_image(cid, images[11].image_id, prompt="new pose", seed=1234)
        )
        out["while_regenerating"] = await aw(c.dataset.status(cid))
        await aw(c.dataset.wait_until_generated(cid, interval=2, timeout=60))
        out["deleted"] = await aw(c.dataset.delete_image(cid, images[10].image_id))
        out["reviewed"] = (await aw(c.dataset.images(cid))).images
        await aw(c.dataset.approve_image(cid, images[11].image_id))
        out["ready"] = await aw(c.dataset.status(cid))
        out["approval"] = await aw(c.dataset.approve(cid))
        out["approved_only"] = await aw(c.dataset.images(cid, approved_only=True))
        with pytest.raises(ConflictError) as frozen:
            await aw(c.dataset.reject_image(cid, images[0].image_id))
        out["frozen"] = frozen.value
        out["character"] = await aw(c.characters.get(cid))
        return out

    out = run(mode, scenario, app=app, clock=clock)
    assert out["early"].status_code == 409
    assert "Generate the dataset first" in out["early"].message
    generation = out["generation"]
    assert generation.success is True and generation.total_images == 12 and generation.job_id

    assert progress[0].generation_complete is False
    assert progress[0].dataset_status == "generating"
    complete = out["complete"]
    assert complete.generation_complete is True and complete.dataset_status == "reviewing"
    assert (complete.total_images, complete.min_required, complete.max_allowed) == (12, 10, 50)
    assert complete.can_approve is False

    images = out["images"]
    assert [im.prompt for im in images] == [f"pose {i}" for i in range(12)]
    assert not any(im.approved for im in images)
    assert all(im.view_url and im.image_id for im in images)
    pending = out["pending"]
    assert pending.status_code == 409
    assert "12 images are still pending review" in pending.message
    assert pending.body == {"detail": pending.message}

    assert all(a.approved is True and a.success for a in out["approvals"])
    assert out["rejection"].approved is False
    assert out["regenerated"].image_id == images[11].image_id
    assert out["while_regenerating"].dataset_status == "generating"
    assert out["while_regenerating"].generation_complete is False
    assert out["deleted"].success is True

    reviewed = {im.image_id: im for im in out["reviewed"]}
    assert len(reviewed) == 11 and images[10].image_id not in reviewed
    renewed = reviewed[images[11].image_id]
    assert (renewed.regenerated, renewed.seed, renewed.prompt) == (True, 1234, "new pose")
    assert renewed.approved is False

    assert out["ready"].can_approve is True
    approval = out["approval"]
    assert (approval.success, approval.approved_images, approval.next_step) == (True, 11, 3)
    assert out["approved_only"].total == 11
    assert "already approved" in out["frozen"].message
    assert out["character"].dataset_status == "approved"
    assert out["character"].current_step == 3


def test_dataset_waiter_times_out_with_the_last_status(
    mode: str, app: FastAPI, clock: FakeClock
) -> None:
    async def scenario(c: Any) -> WaitTimeoutError:
        cid = await new_character(c)
        await aw(c.dataset.generate(cid, prompts=[f"pose {i}" for i in range(10)]))
        with pytest.raises(WaitTimeoutError) as info:
            await aw(c.dataset.wait_until_generated(cid, interval=5, timeout=20))
        return info.value

    error = run(mode, scenario, app=app, clock=clock)
    # Ten renders need 8 + 9 * 4 = 44 simulated seconds; the waiter gave up at 20.
    assert error.timeout == 20 and error.elapsed == pytest.approx(20)
    assert isinstance(error.last, DatasetStatus)
    assert error.last.generation_complete is False and error.last.total_images == 10
    assert clock.sleeps == [5, 5, 5, 5]
    assert_clean(error)


# Training and generation


def test_training_waiter_readiness_and_generation(
    mode: str, app: FastAPI, clock: FakeClock
) -> None:
    progress: list[TrainingProgress] = []
    generation_progress: list[GenerationStatus] = []

    async def scenario(c: Any) -> dict[str, Any]:
        cid = await ready_character(c)
        out: dict[str, Any] = {"cid": cid}
        out["caps_before"] = await aw(c.generation.capabilities(cid))
        with pytest.raises(ConflictError) as not_trained:
            await aw(c.generation.create(cid, "on a beach"))
        out["not_trained"] = not_trained.value
        out["face"] = await aw(c.training.start_face_lora(cid))
        out["body"] = await aw(c.training.start_body_lora(cid))
        with pytest.raises(ConflictError) as twice:
            await aw(c.training.start_face_lora(cid))
        out["twice"] = twice.value
        out["status"] = await aw(c.training.status(cid))
        out["jobs"] = await aw(c.training.jobs(cid))
        out["final"] = await aw(
            c.training.wait(
                cid,
                out["face"].job_id,
                interval=30,
                timeout=7200,
                log_lines=5,
                on_progress=progress.append,
            )
        )
        out["logs"] = await aw(c.training.logs(cid, out["face"].job_id, lines=3))
        out["complete_mid"] = await aw(c.training.complete_status(cid))
        out["caps"] = await aw(c.generation.wait_until_ready(cid, interval=60, timeout=7200))
        out["complete"] = await aw(c.training.complete_status(cid))
        out["character"] = await aw(c.characters.get(cid))
        generation = await aw(
            c.generation.create(cid, "on a beach", num_images=2, seed=7, width=256, height=256)
        )
        out["generation"] = generation
        out["generated"] = await aw(
            c.generation.wait(
                generation.generation_id,
                interval=5,
                timeout=600,
                on_progress=generation_progress.append,
            )
        )
        out["generation_status"] = await aw(c.generation.status(generation.generation_id))
        out["image"] = await aw(c.download(out["generated"].result_urls[0]))
        return out

    out = run(mode, scenario, app=app, clock=clock)
    caps_before: Capabilities = out["caps_before"]
    assert caps_before.generation_ready is False
    assert caps_before.face_lora is not None and caps_before.face_lora.status == "not_started"
    assert "Training not finished" in out["not_trained"].message

    face, body = out["face"], out["body"]
    assert (face.success, face.training_steps, face.credits_deducted) == (
        True,
        1000,
        PRICE_FACE_LORA,
    )
    assert face.remaining_balance == CREDITS - PRICE_FACE_LORA
    assert body.credits_deducted == PRICE_BODY_LORA
    assert body.remaining_balance == CREDITS - PRICE_FACE_LORA - PRICE_BODY_LORA
    assert "already running" in out["twice"].message

    status = out["status"]
    assert status.face_training.job_id == face.job_id and status.face_training.is_active
    assert status.character_training.job_id == body.job_id
    assert status.face_lora_status == "queued"
    assert [j.job_id for j in status.face_training_history] == [face.job_id]
    jobs = out["jobs"]
    assert jobs.total == 2
    assert {j.job_type for j in jobs.training_jobs} == {"face_lora", "body_lora"}

    # The waiter reported every phase in order, a shrinking ETA and the log tail.
    final: TrainingProgress = out["final"]
    assert final.state is Status.SUCCEEDED and final.job_id == face.job_id
    assert (final.phase, final.progress, final.eta_minutes) == ("completed", 100.0, 0.0)
    assert final.log_lines[-1].endswith("training succeeded") and len(final.log_lines) <= 5
    phases = [p.phase for p in progress]
    assert list(dict.fromkeys(phases)) == [
        "queued",
        "provisioning",
        "caching_latents",
        "training",
        "saving_weights",
        "completed",
    ]
    etas = [p.eta_minutes for p in progress if p.eta_minutes is not None]
    assert len(etas) == len(progress)
    assert etas == sorted(etas, reverse=True) and len(set(etas)) == len(etas)
    assert all(p.log_lines for p in progress)
    assert any("step 500/1000" in line for p in progress for line in p.log_lines)
    assert progress[-1] is final
    assert all(p.state is Status.ACTIVE for p in progress[:-1])

    logs = out["logs"]
    assert (logs.job_id, logs.line_count, len(logs.log_lines)) == (face.job_id, 3, 3)
    assert logs.log_lines[-1].endswith("training succeeded")
    mid = out["complete_mid"]
    assert (mid.face_lora_status, mid.generation_ready) == ("succeeded", False)
    assert mid.body_lora_status == "training"

    caps: Capabilities = out["caps"]
    assert caps.generation_ready is True
    assert caps.face_lora is not None and caps.face_lora.succeeded
    assert caps.body_lora is not None and caps.body_lora.succeeded
    complete = out["complete"]
    assert (complete.generation_ready, complete.dataset_status) == (True, "approved")
    assert out["character"].current_step == 4
    assert out["character"].body_lora_state is Status.SUCCEEDED

    generation = out["generation"]
    assert generation.status == "queued" and generation.generation_id and generation.group_id
    assert generation.credits_deducted == 2 * PRICE_GENERATION_IMAGE
    assert generation.remaining_balance == (
        CREDITS - PRICE_FACE_LORA - PRICE_BODY_LORA - 2 * PRICE_GENERATION_IMAGE
    )
    generated: GenerationStatus = out["generated"]
    assert generated.succeeded and generated.progress == 100.0
    assert len(generated.result_urls) == 2
    assert generation_progress[0].status == "queued"
    assert generation_progress[-1] is generated
    assert out["generation_status"].result_urls == generated.result_urls
    with Image.open(io.BytesIO(out["image"])) as image:
        assert (image.format, image.size) == ("JPEG", (256, 256))


def test_cancelled_training_ends_the_waiters(mode: str, app: FastAPI, clock: FakeClock) -> None:
    async def scenario(c: Any) -> dict[str, Any]:
        cid = await ready_character(c)
        body = await aw(c.training.start_body_lora(cid))
        clock.advance(200)  # into the training phase
        out: dict[str, Any] = {"body": body}
        out["cancel"] = await aw(c.training.cancel(cid, body.job_id))
        sleeps_before = len(clock.sleeps)
        out["final"] = await aw(c.training.wait(cid, body.job_id, interval=30, timeout=600))
        out["caps"] = await aw(c.generation.wait_until_ready(cid, interval=30, timeout=600))
        out["slept"] = len(clock.sleeps) - sleeps_before
        with pytest.raises(ConflictError) as again:
            await aw(c.training.cancel(cid, body.job_id))
        out["again"] = again.value
        out["status"] = await aw(c.training.status(cid))
        return out

    out = run(mode, scenario, app=app, clock=clock)
    cancel = out["cancel"]
    assert (cancel.success, cancel.job_id, cancel.status) == (True, out["body"].job_id, "cancelled")
    assert cancel.cancelled
    final = out["final"]
    assert final.state is Status.CANCELLED and final.phase == "cancelled"
    assert final.log_lines[-1].endswith("cancelled by user")
    # A cancelled LoRA can never become ready: the readiness waiter stops at once.
    caps = out["caps"]
    assert caps.generation_ready is False
    assert caps.body_lora is not None and caps.body_lora.cancelled
    assert out["slept"] == 0
    assert "already finished (cancelled)" in out["again"].message
    job = out["status"].character_training
    assert job.cancelled and 0 < job.progress < 100


# Typed errors from the real server


def test_bad_key_is_an_authentication_error(mode: str, app: FastAPI) -> None:
    async def scenario(c: Any) -> AuthenticationError:
        with pytest.raises(AuthenticationError) as info:
            await aw(c.characters.list())
        return info.value

    error = run(mode, scenario, app=app, key=WRONG_KEY)
    assert error.status_code == 401
    assert error.message == "Invalid API key"
    assert error.headers["www-authenticate"] == "Bearer"
    assert error.method == "GET" and error.url.endswith("/v2/characters")
    assert_clean(error)


def test_another_organizations_resources_are_not_found(mode: str, app: FastAPI) -> None:
    async def owner(c: Any) -> tuple[str, str]:
        cid = await new_character(c, faces=1, bodies=0, name="Private")
        source = (await aw(c.assets.list(cid))).assets[0].view_url
        job = await aw(c.face_augmentation.create(cid, source, prompts=["smile"]))
        return cid, job.job_id

    cid, job_id = run(mode, owner, app=app)

    async def intruder(c: Any) -> list[NotFoundError]:
        attempts: list[Callable[[], Any]] = [
            lambda: c.characters.get(cid),
            lambda: c.characters.update(cid, name="Stolen"),
            lambda: c.characters.delete(cid),
            lambda: c.assets.list(cid),
            lambda: c.assets.upload_face(cid, textured(5), filename="intruder.jpg"),
            lambda: c.dataset.status(cid),
            lambda: c.training.status(cid),
            lambda: c.generation.capabilities(cid),
            lambda: c.face_augmentation.job_status(job_id),
        ]
        errors = []
        for attempt in attempts:
            with pytest.raises(NotFoundError) as info:
                await aw(attempt())
            errors.append(info.value)
        return errors

    errors = run(mode, intruder, app=app, key=OTHER_KEY)
    assert len(errors) == 9
    assert {e.status_code for e in errors} == {404}
    assert {e.message for e in errors[:-1]} == {"Character not found"}
    assert errors[-1].message == "Job not found"
    for error in errors:
        assert_clean(error)

    async def check(c: Any) -> tuple[Character, int]:
        return await aw(c.characters.get(cid)), (await aw(c.assets.list(cid))).total

    character, assets = run(mode, check, app=app)
    assert character.name == "Private"
    assert assets == 1  # the intruder's upload was refused


def test_insufficient_credits_is_payment_required(mode: str, app: FastAPI) -> None:
    async def scenario(c: Any) -> PaymentRequiredError:
        cid = await new_character(c, faces=1, bodies=0)
        source = (await aw(c.assets.list(cid))).assets[0].view_url
        with pytest.raises(PaymentRequiredError) as info:
            await aw(c.face_augmentation.create(cid, source, prompts=["smile"]))
        return info.value

    error = run(mode, scenario, app=app, key=POOR_KEY)
    assert error.status_code == 402
    assert error.required_credits == PRICE_FACE_AUGMENTATION
    assert error.current_balance == POOR_CREDITS
    assert error.body["error"] == "insufficient_credits"
    assert error.message == "This operation requires 0.5 credits; your balance is 0.4."
    assert_clean(error)


def test_invalid_uploads_are_bad_requests(mode: str, app: FastAPI) -> None:
    async def scenario(c: Any) -> dict[str, Any]:
        cid = (await aw(c.characters.create("Chloe"))).character_id
        out: dict[str, Any] = {}
        with pytest.raises(BadRequestError) as small:
            await aw(c.assets.upload_face(cid, textured(7, (400, 400)), filename="small.jpg"))
        out["small"] = small.value
        with pytest.raises(BadRequestError) as kind:
            await aw(c.assets.upload_body(cid, textured(8), filename="b.jpg", image_type="front"))
        out["kind"] = kind.value
        with pytest.raises(BadRequestError) as garbage:
            await aw(c.assets.upload_face(cid, b"not an image", filename="x.jpg"))
        out["garbage"] = garbage.value
        with pytest.raises(APIStatusError) as invalid:
            await aw(c.generation.create(cid, "too many", num_images=9))
        out["invalid"] = invalid.value
        out["assets"] = await aw(c.assets.list(cid))
        return out

    out = run(mode, scenario, app=app)
    assert out["small"].status_code == 400
    assert out["small"].message == "Face image must be at least 512x512 pixels, got 400x400"
    assert "image_type must look like body_image_front" in out["kind"].message
    assert "not a decodable" in out["garbage"].message
    invalid = out["invalid"]
    assert type(invalid) is APIStatusError and invalid.status_code == 422
    assert "num_images" in invalid.message
    assert out["assets"].total == 0
    for name in ("small", "kind", "garbage", "invalid"):
        assert_clean(out[name])


def test_training_before_the_dataset_is_a_conflict(mode: str, app: FastAPI) -> None:
    async def scenario(c: Any) -> list[ConflictError]:
        cid = await new_character(c)
        errors = []
        for start in (c.training.start_face_lora, c.training.start_body_lora):
            with pytest.raises(ConflictError) as info:
                await aw(start(cid))
            errors.append(info.value)
        with pytest.raises(ConflictError) as info:
            await aw(c.dataset.approve(cid))
        errors.append(info.value)
        return errors

    errors = run(mode, scenario, app=app)
    assert [e.status_code for e in errors] == [409, 409, 409]
    assert errors[0].message == "Approve the dataset before starting training"
    for error in errors:
        assert_clean(error)


# Over real HTTP: real sleeps, a sped-up clock, injected faults


def test_whole_pipeline_over_http_in_real_time(mode: str, tmp_path: Path) -> None:
    progress: list[TrainingProgress] = []

    async def scenario(c: Any) -> dict[str, Any]:
        cid = await new_character(c, faces=5)
        await aw(c.dataset.generate(cid, prompts=[f"pose {i}" for i in range(10)]))
        dataset = await aw(c.dataset.wait_until_generated(cid, interval=0.01, timeout=30))
        for image in (await aw(c.dataset.images(cid))).images:
            await aw(c.dataset.approve_image(cid, image.image_id))
        await aw(c.dataset.approve(cid))
        face = await aw(c.training.start_face_lora(cid))
        await aw(c.training.start_body_lora(cid))
        trained = await aw(
            c.training.wait(
                cid, face.job_id, interval=0.02, timeout=30, on_progress=progress.append
            )
        )
        caps = await aw(c.generation.wait_until_ready(cid, interval=0.02, timeout=30))
        generation = await aw(c.generation.create(cid, "portrait", width=256, height=256))
        done = await aw(c.generation.wait(generation.generation_id, interval=0.01, timeout=30))
        image = await aw(c.download(done.result_urls[0]))
        return {"dataset": dataset, "trained": trained, "caps": caps, "done": done, "img": image}

    # At 5000x the body LoRA (1580 simulated seconds) trains in about a third of a second.
    with serve_in_thread(data_dir=tmp_path, api_keys={KEY: CREDITS}, time_scale=5000) as url:
        assert url.startswith("http://127.0.0.1:")
        out = run(mode, scenario, base_url=url)
    assert out["dataset"].generation_complete is True
    assert out["trained"].state is Status.SUCCEEDED
    assert progress and progress[-1] is out["trained"]
    assert out["caps"].generation_ready is True
    assert out["done"].succeeded and len(out["done"].result_urls) == 1
    assert out["img"][:2] == b"\xff\xd8"


def _faulty_server(tmp_path: Path, faults: str, seed: int) -> Any:
    return serve_in_thread(
        data_dir=tmp_path, api_keys={KEY: CREDITS}, faults=faults, seed=seed, time_scale=100
    )


def test_lost_responses_never_duplicate_uploads(mode: str, tmp_path: Path) -> None:
    files = [(f"face-{i}.jpg", textured(300 + i), None) for i in range(6)] + [
        (f"body-{i}.jpg", textured(400 + i), "body_image_front") for i in range(2)
    ]

    async def scenario(c: Any) -> list[Any]:
        results = []
        for name, data, image_type in files:
            if image_type is None:
                results.append(await aw(c.assets.upload_face(cid, data, filename=name)))
            else:
                upload = c.assets.upload_body(cid, data, filename=name, image_type=image_type)
                results.append(await aw(upload))
        return results

    log: list[Exchange] = []
    clock = FakeClock()
    # Half of all responses are lost after the server committed the request.
    with _faulty_server(tmp_path, "lost:0.5", seed=3) as url:
        with raw_client(url) as raw:
            cid = raw.post("/characters", json={"name": "Chloe"}).json()["character_id"]
        results = run(mode, scenario, base_url=url, clock=clock, retry=PATIENT, log=log)
        with raw_client(url) as raw:
            stored = raw.get(f"/{cid}/assets").json()["assets"]

    assert len(stored) == len(files) == len(results)
    assert {r.asset_id for r in results} == {a["asset_id"] for a in stored}
    assert sorted(a["filename"] for a in stored) == sorted(
        content_filename(name, data) for name, data, _ in files
    )
    assert [a["image_type"] for a in stored].count("body_image_front") == 2
    # Each lost upload was settled from the asset list instead of being sent again.
    uploads = [e for e in log if e.method == "POST"]
    lost = [e for e in uploads if not isinstance(e.outcome, int)]
    assert len(uploads) == len(files)
    assert lost, "the seeded faults should have lost some uploads"
    assert sum(r.reconciled for r in results) == len(lost)
    assert any(e.method == "GET" and not isinstance(e.outcome, int) for e in log)


def test_retries_through_503_and_429_without_duplicates(mode: str, tmp_path: Path) -> None:
    async def scenario(c: Any) -> dict[str, Any]:
        made = [await aw(c.characters.create(f"Character {i}")) for i in range(4)]
        cid = made[0].character_id
        await aw(c.characters.update(cid, description="updated"))
        uploads = [
            await aw(c.assets.upload_face(cid, textured(500 + i), filename=f"f{i}.jpg"))
            for i in range(3)
        ]
        listing = await collect(c.characters.iter(page_size=2))
        return {"made": made, "uploads": uploads, "listing": listing}

    log: list[Exchange] = []
    clock = FakeClock()
    with _faulty_server(tmp_path, "503:0.25,429:0.25@2s", seed=5) as url:
        out = run(mode, scenario, base_url=url, clock=clock, retry=PATIENT, log=log)
        with raw_client(url) as raw:
            characters = raw.get("/characters").json()["characters"]
            assets = raw.get(f"/{out['made'][0].character_id}/assets").json()["total"]

    assert [c["name"] for c in characters] == [f"Character {i}" for i in range(4)]
    assert characters[0]["description"] == "updated"
    assert assets == 3
    assert [c.character_id for c in out["listing"]] == [c["character_id"] for c in characters]
    outcomes = [e.outcome for e in log]
    assert 503 in outcomes and 429 in outcomes
    # Retry-After: 2 of the injected 429s was honoured; other waits are capped backoff.
    assert clock.sleeps.count(2.0) == outcomes.count(429)
    assert all(s == 2.0 or s <= PATIENT.max_wait for s in clock.sleeps)
    assert len(clock.sleeps) == outcomes.count(429) + outcomes.count(503)


def test_resets_are_retried_when_resending_is_safe(mode: str, tmp_path: Path) -> None:
    async def scenario(c: Any) -> dict[str, Any]:
        got = await aw(c.characters.get(cid))
        renamed = await aw(c.characters.update(cid, name="Renamed"))
        uploads = [
            await aw(c.assets.upload_face(cid, textured(600 + i), filename=f"f{i}.jpg"))
            for i in range(4)
        ]
        listing = await aw(c.assets.list(cid))
        status = await aw(c.dataset.status(cid))
        return {"got": got, "renamed": renamed, "uploads": uploads, "listing": listing, "s": status}

    log: list[Exchange] = []
    clock = FakeClock()
    with _faulty_server(tmp_path, "reset:0.4", seed=2) as url:
        with raw_client(url) as raw:
            cid = raw.post("/characters", json={"name": "Chloe"}).json()["character_id"]
        out = run(mode, scenario, base_url=url, clock=clock, retry=PATIENT, log=log)
        with raw_client(url) as raw:
            stored = raw.get(f"/{cid}/assets").json()

    assert out["got"].character_id == cid and out["renamed"].name == "Renamed"
    assert stored["total"] == 4 == out["listing"].total
    assert {u.asset_id for u in out["uploads"]} == {a["asset_id"] for a in stored["assets"]}
    assert out["s"].dataset_status == "not_started"
    resets = [e for e in log if not isinstance(e.outcome, int)]
    assert resets, "the seeded faults should have reset some connections"
    assert len(clock.sleeps) == len(resets)


def test_a_success_answered_unreadably_ran_and_says_so(mode: str, tmp_path: Path) -> None:
    async def scenario(c: Any) -> tuple[APIResponseValidationError, APIResponseValidationError]:
        with pytest.raises(APIResponseValidationError) as create:
            await aw(c.characters.create("Maybe"))
        with pytest.raises(APIResponseValidationError) as listing:
            await aw(c.characters.list())
        return create.value, listing.value

    log: list[Exchange] = []
    with _faulty_server(tmp_path, "garbled:1", seed=0) as url:
        create, listing = run(mode, scenario, base_url=url, clock=FakeClock(), log=log)
        with raw_client(url) as raw:
            (made,) = raw.get("/characters").json()["characters"]
    # The POST's success came back as a proxy's page: it ran, and is not sent again.
    # The GET is sent again as after any passing fault, until its retries run out.
    assert made["name"] == "Maybe"
    assert create.may_have_run is True and create.status_code == 200
    assert listing.may_have_run is False  # a GET acts on nothing
    assert [e.method for e in log] == ["POST", "GET", "GET", "GET"]
    assert_clean(create)


def test_a_read_answered_once_by_a_proxy_s_page_is_read_again(mode: str, tmp_path: Path) -> None:
    async def scenario(c: Any) -> Any:
        return await aw(c.characters.get(cid))

    spec = "garbled:0.5"
    with _faulty_server(tmp_path, spec, seed=seed_where(spec, [True, False])) as url:
        with raw_client(url) as raw:
            cid = raw.post("/characters", json={"name": "Chloe"}).json()["character_id"]
        got = run(mode, scenario, base_url=url, clock=FakeClock(), retry=PATIENT)
    assert got.character_id == cid and got.name == "Chloe"


def _uploaded_photo(url: str, data: bytes) -> str:
    """The view_url of a face photo uploaded to a new character (past any fault)."""
    with raw_client(url) as raw:
        cid = raw.post("/characters", json={"name": "Chloe"}).json()["character_id"]
        files = {"file": ("f.jpg", data, "image/jpeg")}
        raw.post(f"/{cid}/upload/face-image", files=files).raise_for_status()
        (asset,) = raw.get(f"/{cid}/assets").json()["assets"]
    view_url: str = asset["view_url"]
    return view_url


def test_a_download_answered_once_by_a_proxy_s_page_is_fetched_again(
    mode: str, tmp_path: Path
) -> None:
    photo = textured(32)

    async def scenario(c: Any) -> Any:
        return await aw(c.download(view_url))

    log: list[Exchange] = []
    spec = "garbled:0.5"
    with _faulty_server(tmp_path, spec, seed=seed_where(spec, [True, False])) as url:
        view_url = _uploaded_photo(url, photo)
        got = run(mode, scenario, base_url=url, clock=FakeClock(), retry=PATIENT, log=log)
    # The page is not the photo: it is fetched again, and the photo's own bytes come back.
    assert got == photo
    assert [e.method for e in log] == ["GET", "GET"]


def test_a_download_always_answered_by_a_page_fails_and_says_so(mode: str, tmp_path: Path) -> None:
    async def scenario(c: Any) -> Any:
        with pytest.raises(APIResponseValidationError) as caught:
            await aw(c.download(view_url))
        return caught.value

    with _faulty_server(tmp_path, "garbled:1", seed=0) as url:
        view_url = _uploaded_photo(url, textured(33))
        error = run(mode, scenario, base_url=url, clock=FakeClock(), max_retries=2)
    assert "expected a file, got an HTML page (text/html)" in str(error)
    assert error.may_have_run is False


def test_a_delete_answered_by_a_proxy_s_page_is_done(mode: str, tmp_path: Path) -> None:
    async def scenario(c: Any) -> Any:
        return await aw(c.characters.delete(cid))

    spec = "garbled:0.5"
    with _faulty_server(tmp_path, spec, seed=seed_where(spec, [True, False])) as url:
        with raw_client(url) as raw:
            cid = raw.post("/characters", json={"name": "Chloe"}).json()["character_id"]
        result = run(mode, scenario, base_url=url, clock=FakeClock(), retry=PATIENT)
        with raw_client(url) as raw:
            assert raw.get(f"/characters/{cid}").status_code == 404
    assert result.success is True  # its second sending found it gone: done


def test_an_upload_answered_unreadably_is_found_on_the_server(mode: str, tmp_path: Path) -> None:
    async def scenario(c: Any) -> Any:
        return await aw(c.assets.upload_face(cid, textured(31), filename="f.jpg"))

    log: list[Exchange] = []
    spec = "garbled:0.5"
    with _faulty_server(tmp_path, spec, seed=seed_where(spec, [True] + [False] * 5)) as url:
        with raw_client(url) as raw:
            cid = raw.post("/characters", json={"name": "Chloe"}).json()["character_id"]
        uploaded = run(mode, scenario, base_url=url, clock=FakeClock(), retry=PATIENT, log=log)
        with raw_client(url) as raw:
            (stored,) = raw.get(f"/{cid}/assets").json()["assets"]
    assert uploaded.reconciled is True and uploaded.asset_id == stored["asset_id"]
    assert [e.method for e in log].count("POST") == 1


def test_unsafe_calls_are_not_resent_after_a_reset(mode: str, tmp_path: Path) -> None:
    async def scenario(c: Any) -> tuple[APIConnectionError, APIConnectionError]:
        with pytest.raises(APIConnectionError) as create:
            await aw(c.characters.create("Maybe"))
        with pytest.raises(APIConnectionError) as listing:
            await aw(c.characters.list())
        return create.value, listing.value

    log: list[Exchange] = []
    # The default policy (backoff from 0.5 s) with the testing switch: no real sleeping.
    with _faulty_server(tmp_path, "reset:1", seed=0) as url, disable_sleep():
        started = time.monotonic()
        create, listing = run(mode, scenario, base_url=url, max_retries=2, log=log)
        took = time.monotonic() - started
        with raw_client(url) as raw:
            assert raw.get("/characters").json()["characters"] == []

    # The POST may have run, so it was sent once; the GET was tried three times.
    assert [(e.method, e.path) for e in log] == [("POST", "/v2/characters")] + [
        ("GET", "/v2/characters")
    ] * 3
    assert create.method == "POST" and create.url == url + "/characters"
    assert type(create.__cause__).__module__.startswith("httpx")
    assert listing.message.startswith(f"GET {url}/characters failed: ")
    assert took < 5
    assert_clean(create)
    assert_clean(listing)


# Known defects (each test states the behaviour the contract calls for)


def test_delete_whose_response_was_lost_still_succeeds(mode: str, tmp_path: Path) -> None:
    async def scenario(c: Any) -> Any:
        return await aw(c.characters.delete(cid))

    clock = FakeClock()
    with _faulty_server(tmp_path, "lost:0.5", seed=seed_where("lost:0.5", [True, False])) as url:
        with raw_client(url) as raw:
            cid = raw.post("/characters", json={"name": "Chloe"}).json()["character_id"]
        try:
            result = run(mode, scenario, base_url=url, clock=clock, retry=PATIENT)
        finally:
            with raw_client(url) as raw:
                assert raw.get(f"/characters/{cid}").status_code == 404  # it is gone
    assert result.success is True


def test_skip_existing_recognises_long_file_names(mode: str, app: FastAPI) -> None:
    name = "holiday-" + "x" * 120 + ".jpg"

    async def scenario(c: Any) -> tuple[Any, Any]:
        cid = (await aw(c.characters.create("Chloe"))).character_id
        first = await aw(c.assets.upload_face(cid, textured(9), filename=name))
        second = await aw(c.assets.upload_face(cid, textured(9), filename=name, skip_existing=True))
        return first, second

    log: list[Exchange] = []
    first, second = run(mode, scenario, app=app, log=log)
    assert second.asset_id == first.asset_id  # the server's idempotency replay holds
    assert [e.method for e in log].count("POST") == 2  # character + one upload
    assert second.reconciled is True


def test_cancel_whose_response_was_lost_still_succeeds(tmp_path: Path) -> None:
    # Retries live in the core both clients share, so one client shows it.
    mode = "sync"
    clock = FakeClock(START)
    keys = {KEY: CREDITS}

    async def prepare(c: Any) -> tuple[str, str]:
        cid = await ready_character(c)
        return cid, (await aw(c.training.start_body_lora(cid))).job_id

    setup = create_app(data_dir=tmp_path, api_keys=keys, clock=clock)
    try:
        cid, job_id = run(mode, prepare, app=setup, clock=clock)
    finally:
        close_app(setup)

    async def scenario(c: Any) -> Any:
        return await aw(c.training.cancel(cid, job_id))

    # The same data served again, now losing the first response and answering the second.
    seed = seed_where("lost:0.5", [True, False])
    faulty = create_app(data_dir=tmp_path, api_keys=keys, clock=clock, faults="lost:0.5", seed=seed)
    try:
        with serve_in_thread(faulty) as url:
            try:
                result = run(mode, scenario, base_url=url, clock=FakeClock(), retry=PATIENT)
            finally:
                with raw_client(url) as raw:
                    status = raw.get(f"/{cid}/training/status").json()
                    assert status["body_lora_status"] == "cancelled"  # the cancel took effect
    finally:
        close_app(faulty)
    assert result.success is True and result.cancelled
