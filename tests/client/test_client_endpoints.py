"""Every endpoint: method, path (with its irregular prefix), auth, query, body and parsing."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from client_support import API_KEY, Recorder, json_body, respond_json, run

from animus_prep.client import (
    AssetList,
    Capabilities,
    Character,
    CharacterPage,
    CompleteStatus,
    DatasetApproval,
    DatasetGeneration,
    DatasetImageList,
    DatasetStatus,
    FaceAugmentationJob,
    GenerationJob,
    GenerationStatus,
    ImageApproval,
    OperationResult,
    RegenerateResult,
    Status,
    TrainingCancel,
    TrainingJobList,
    TrainingLogs,
    TrainingStart,
    TrainingStatus,
    UploadJob,
)

JOB = {"job_id": "j1", "status": "training", "progress": 42.5, "training_phase": "train"}


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    call: Callable[[Any], Any]
    method: str
    path: str
    response: Any
    check: Callable[[Any], bool]
    params: dict[str, str] = dataclasses.field(default_factory=dict)
    body: Any = None
    reads: tuple[str, ...] = ()
    """Paths read before the call, so a lost answer can be recognised (reconciled calls)."""


# What the reads before a reconciled call are answered: a state the call may start from.
READ_ANSWERS: dict[str, Any] = {
    "/v2/c1/dataset/status": {"character_id": "c1", "dataset_status": "pending"},
    "/v2/c1/dataset/images": {
        "character_id": "c1",
        "images": [{"image_id": "i1", "seed": 1, "view_url": "https://x/i1.jpg"}],
    },
}


CASES = [
    Case(
        "characters.create",
        lambda c: c.characters.create("Chloe", description="travel"),
        "POST",
        "/v2/characters",
        {"character_id": "c1", "name": "Chloe", "current_step": 1},
        lambda r: isinstance(r, Character) and r.character_id == "c1" and r.current_step == 1,
        body={"name": "Chloe", "description": "travel"},
    ),
    Case(
        "characters.create-no-description",
        lambda c: c.characters.create("Chloe"),
        "POST",
        "/v2/characters",
        {"character_id": "c1"},
        lambda r: r.character_id == "c1",
        body={"name": "Chloe"},
    ),
    Case(
        "characters.list",
        lambda c: c.characters.list(limit=5, offset=10),
        "GET",
        "/v2/characters",
        {
            "characters": [{"character_id": "c1"}, {"character_id": "c2"}],
            "pagination": {"limit": 5, "offset": 10, "returned": 2, "has_more": False},
            "filters": {"organization_id": "o1", "creator_id": None},
        },
        lambda r: (
            isinstance(r, CharacterPage)
            and [c.character_id for c in r.characters] == ["c1", "c2"]
            and r.pagination.has_more is False
            and r.filters["organization_id"] == "o1"
        ),
        params={"limit": "5", "offset": "10"},
    ),
    Case(
        "characters.get",
        lambda c: c.characters.get("c/1"),
        "GET",
        "/v2/characters/c%2F1",
        {"character_id": "c/1", "face_lora_status": "Trained"},
        lambda r: r.character_id == "c/1" and r.face_lora_state is Status.SUCCEEDED,
    ),
    Case(
        "characters.update",
        lambda c: c.characters.update("c1", name="New"),
        "PUT",
        "/v2/characters/c1",
        {"character_id": "c1", "name": "New"},
        lambda r: r.name == "New",
        body={"name": "New"},
    ),
    Case(
        "characters.delete",
        lambda c: c.characters.delete("c1"),
        "DELETE",
        "/v2/characters/c1",
        {"success": True, "message": "deleted"},
        lambda r: isinstance(r, OperationResult) and r.success is True,
    ),
    Case(
        "assets.list",
        lambda c: c.assets.list("c1"),
        "GET",
        "/v2/c1/assets",
        {
            "assets": [
                {"asset_id": "a1", "asset_type": "face_image"},
                {"asset_id": "a2", "asset_type": "body_image", "image_type": "body_image_front"},
            ],
            "total": 2,
        },
        lambda r: isinstance(r, AssetList) and [a.asset_id for a in r.assets] == ["a1", "a2"],
    ),
    Case(
        "assets.list-filtered",
        lambda c: c.assets.list("c1", asset_type="body_image"),
        "GET",
        "/v2/c1/assets",
        {
            "assets": [
                {"asset_id": "a1", "asset_type": "face_image"},
                {"asset_id": "a2", "asset_type": "body_image"},
            ],
            "total": 2,
        },
        lambda r: [a.asset_id for a in r.assets] == ["a2"] and r.total == 2,
    ),
    Case(
        "face_augmentation.create",
        lambda c: c.face_augmentation.create("c1", "https://x/s.png", prompts=["smile"]),
        "POST",
        "/v2/characters/c1/auto-generate-face-images",
        {"job_id": "u1", "status": "queued", "credits_deducted": 2.5, "remaining_balance": 7},
        lambda r: (
            isinstance(r, FaceAugmentationJob)
            and r.is_active
            and r.credits_deducted == 2.5
            and r.remaining_balance == 7.0
        ),
        body={"source_image_url": "https://x/s.png", "prompts": ["smile"]},
    ),
    Case(
        "face_augmentation.job_status",
        lambda c: c.face_augmentation.job_status("u1"),
        "GET",
        "/v2/upload-job/u1/status",
        {"job_id": "u1", "status": "COMPLETED", "completed_images": 4, "failed_images": 0},
        lambda r: isinstance(r, UploadJob) and r.succeeded and r.completed_images == 4,
    ),
    Case(
        "dataset.generate",
        lambda c: c.dataset.generate("c1"),
        "POST",
        "/v2/c1/dataset/generate",
        {"success": True, "total_images": 30, "job_id": "d1"},
        lambda r: isinstance(r, DatasetGeneration) and r.total_images == 30,
        body={"use_default_prompts": True},
        reads=("/v2/c1/dataset/status",),
    ),
    Case(
        "dataset.generate-prompts",
        lambda c: c.dataset.generate("c1", use_default_prompts=False, prompts=["a", "b"]),
        "POST",
        "/v2/c1/dataset/generate",
        {"success": True, "job_id": "d2"},
        lambda r: r.job_id == "d2",
        body={"use_default_prompts": False, "prompts": ["a", "b"]},
        reads=("/v2/c1/dataset/status",),
    ),
    Case(
        "dataset.status",
        lambda c: c.dataset.status("c1"),
        "GET",
        "/v2/c1/dataset/status",
        {"dataset_status": "generating", "generation_complete": False, "min_required": 10},
        lambda r: (
            isinstance(r, DatasetStatus)
            and r.generation_complete is False
            and r.state is Status.ACTIVE
            and r.min_required == 10
        ),
    ),
    Case(
        "dataset.images",
        lambda c: c.dataset.images("c1"),
        "GET",
        "/v2/c1/dataset/images",
        {"images": [{"image_id": "i1", "seed": 7, "approved": False}], "approved_count": 0},
        lambda r: (
            isinstance(r, DatasetImageList)
            and r.images[0].seed == 7
            and r.images[0].approved is False
        ),
        params={"approved_only": "false"},
    ),
    Case(
        "dataset.images-approved",
        lambda c: c.dataset.images("c1", approved_only=True),
        "GET",
        "/v2/c1/dataset/images",
        {"images": []},
        lambda r: r.images == (),
        params={"approved_only": "true"},
    ),
    Case(
        "dataset.approve_image",
        lambda c: c.dataset.approve_image("c1", "i1"),
        "PUT",
        "/v2/c1/dataset/images/i1/approval",
        {"success": True, "image_id": "i1", "approved": True},
        lambda r: isinstance(r, ImageApproval) and r.approved is True,
        body={"approved": True},
    ),
    Case(
        "dataset.reject_image",
        lambda c: c.dataset.reject_image("c1", "i1"),
        "PUT",
        "/v2/c1/dataset/images/i1/approval",
        {"success": True, "image_id": "i1", "approved": False},
        lambda r: r.approved is False,
        body={"approved": False},
    ),
    Case(
        "dataset.regenerate_image",
        lambda c: c.dataset.regenerate_image("c1", "i1", prompt="p", seed=3),
        "POST",
        "/v2/c1/dataset/images/i1/regenerate",
        {"success": True, "image_id": "i9"},
        lambda r: isinstance(r, RegenerateResult) and r.image_id == "i9",
        body={"prompt": "p", "seed": 3},
        reads=("/v2/c1/dataset/images",),
    ),
    Case(
        "dataset.regenerate_image-bare",
        lambda c: c.dataset.regenerate_image("c1", "i1"),
        "POST",
        "/v2/c1/dataset/images/i1/regenerate",
        {"success": True},
        lambda r: r.success is True,
        body=None,
        reads=("/v2/c1/dataset/images",),
    ),
    Case(
        "dataset.delete_image",
        lambda c: c.dataset.delete_image("c1", "i1"),
        "DELETE",
        "/v2/c1/dataset/images/i1",
        {"success": True, "message": "gone"},
        lambda r: r.message == "gone",
    ),
    Case(
        "dataset.approve",
        lambda c: c.dataset.approve("c1"),
        "POST",
        "/v2/c1/dataset/approve",
        {"success": True, "approved_images": 25, "next_step": 5},
        lambda r: isinstance(r, DatasetApproval) and r.approved_images == 25 and r.next_step == 5,
    ),
    Case(
        "training.start_face_lora",
        lambda c: c.training.start_face_lora("c1"),
        "POST",
        "/v2/c1/training/face-lora",
        {"job_id": "t1", "training_steps": 1000, "credits_deducted": 10, "remaining_balance": None},
        lambda r: (
            isinstance(r, TrainingStart)
            and r.training_steps == 1000
            and r.remaining_balance is None
        ),
        reads=("/v2/c1/training/status",),
    ),
    Case(
        "training.start_body_lora",
        lambda c: c.training.start_body_lora("c1"),
        "POST",
        "/v2/c1/training/body-lora",
        {"job_id": "t2"},
        lambda r: r.job_id == "t2",
        reads=("/v2/c1/training/status",),
    ),
    Case(
        "training.status",
        lambda c: c.training.status("c1"),
        "GET",
        "/v2/c1/training/status",
        {
            "face_lora_status": "training",
            "face_training": JOB,
            "character_training": None,
            "face_training_history": [JOB, JOB],
        },
        lambda r: (
            isinstance(r, TrainingStatus)
            and r.face_training.progress == 42.5
            and r.character_training is None
            and len(r.face_training_history) == 2
        ),
    ),
    Case(
        "training.jobs",
        lambda c: c.training.jobs("c1"),
        "GET",
        "/v2/c1/training/jobs",
        {"training_jobs": [JOB], "total": 1},
        lambda r: isinstance(r, TrainingJobList) and r.training_jobs[0].is_active,
    ),
    Case(
        "training.logs",
        lambda c: c.training.logs("c1", "j1", lines=50),
        "GET",
        "/v2/c1/training/jobs/j1/logs",
        {"job_id": "j1", "logs": "step 1\nstep 2", "lines": 2},
        lambda r: (
            isinstance(r, TrainingLogs)
            and r.log_lines == ("step 1", "step 2")
            and r.line_count == 2
        ),
        params={"lines": "50"},
    ),
    Case(
        "training.complete_status",
        lambda c: c.training.complete_status("c1"),
        "GET",
        "/v2/c1/training/complete-status",
        {"generation_ready": True, "dataset_status": "approved"},
        lambda r: isinstance(r, CompleteStatus) and r.generation_ready is True,
    ),
    Case(
        "training.cancel",
        lambda c: c.training.cancel("c1", "j1"),
        "POST",
        "/v2/c1/training/jobs/j1/cancel",
        {"success": True, "job_id": "j1", "status": "canceled"},
        lambda r: isinstance(r, TrainingCancel) and r.cancelled,
    ),
    Case(
        "generation.capabilities",
        lambda c: c.generation.capabilities("c1"),
        "GET",
        "/v2/c1/generation/capabilities",
        {"face_lora": {"status": "ready"}, "body_lora": {"status": "x"}, "generation_ready": 0},
        lambda r: (
            isinstance(r, Capabilities)
            and r.face_lora.succeeded
            and r.body_lora.state is Status.UNKNOWN
            and r.generation_ready is False
        ),
    ),
    Case(
        "generation.create",
        lambda c: c.generation.create(
            "c1", "a portrait", num_images=2, seed=5, width=512, height=768, extra={"style": "x"}
        ),
        "POST",
        "/v2/generation/create",
        {"generation_id": "g1", "status": "pending", "credits_deducted": 1},
        lambda r: isinstance(r, GenerationJob) and r.generation_id == "g1" and r.is_active,
        body={
            "style": "x",
            "prompt": "a portrait",
            "character_id": "c1",
            "use_face_lora": True,
            "use_body_lora": True,
            "num_images": 2,
            "seed": 5,
            "width": 512,
            "height": 768,
        },
    ),
    Case(
        "generation.status",
        lambda c: c.generation.status("g1"),
        "GET",
        "/v2/generation/status/g1",
        {"generation_id": "g1", "status": "succeeded", "progress": 100, "result_urls": ["u"]},
        lambda r: isinstance(r, GenerationStatus) and r.succeeded and r.result_urls == ("u",),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_endpoint(mode: str, case: Case) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode().split("?")[0]
        read = path in case.reads and path in READ_ANSWERS
        return respond_json(READ_ANSWERS[path] if read else case.response)

    recorder = Recorder(answer)
    result = run(mode, case.call, recorder)
    paths = [r.url.raw_path.decode().split("?")[0] for r in recorder.requests]
    assert paths == [*case.reads, case.path]
    assert all(r.method == "GET" for r in recorder.requests[:-1])
    request = recorder.requests[-1]
    assert request.method == case.method
    assert request.url.host == "api.test"
    assert request.url.raw_path.decode().split("?")[0] == case.path
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["accept"] == "application/json"
    assert dict(request.url.params) == case.params
    assert json_body(request) == case.body
    assert case.check(result), result


def test_every_resource_method_has_a_case() -> None:
    from animus_prep.client import Client

    names = {c.id.split("-")[0] for c in CASES}
    skip = {"wait", "wait_until_generated", "wait_until_ready", "upload_face", "upload_body"}
    namespaces = ("characters", "assets", "face_augmentation", "dataset", "training", "generation")
    with Client(api_key="k", transport=_never()) as client:
        for ns in namespaces:
            methods = {n for n in vars(type(getattr(client, ns))) if not n.startswith("_")}
            methods -= skip | {"iter"}  # iter is covered by the pagination tests
            assert methods
            assert {f"{ns}.{n}" for n in methods} <= names


def _never() -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(500))


def _page(ids: list[str], offset: int, has_more: bool | None) -> dict[str, Any]:
    pagination: dict[str, Any] = {"limit": 2, "offset": offset, "returned": len(ids)}
    if has_more is not None:
        pagination["has_more"] = has_more
    return {"characters": [{"character_id": i} for i in ids], "pagination": pagination}


def _collect(mode: str, recorder: Recorder) -> list[str]:
    def sync_fn(client: Any) -> list[str]:
        return [c.character_id for c in client.characters.iter(page_size=2)]

    async def async_fn(client: Any) -> list[str]:
        return [c.character_id async for c in client.characters.iter(page_size=2)]

    return run(mode, sync_fn if mode == "sync" else async_fn, recorder)  # type: ignore[no-any-return]


def test_iter_follows_has_more(mode: str) -> None:
    pages = {"0": _page(["a", "b"], 0, True), "2": _page(["c"], 2, False)}
    recorder = Recorder(lambda r: respond_json(pages[r.url.params["offset"]]))
    assert _collect(mode, recorder) == ["a", "b", "c"]
    assert [dict(r.url.params) for r in recorder.requests] == [
        {"limit": "2", "offset": "0"},
        {"limit": "2", "offset": "2"},
    ]


def test_iter_without_has_more_stops_on_short_page(mode: str) -> None:
    pages = {"0": _page(["a", "b"], 0, None), "2": _page(["c"], 2, None)}
    recorder = Recorder(lambda r: respond_json(pages[r.url.params["offset"]]))
    assert _collect(mode, recorder) == ["a", "b", "c"]
    assert len(recorder.requests) == 2


def test_iter_stops_on_empty_page_even_if_has_more(mode: str) -> None:
    recorder = Recorder(lambda r: respond_json(_page([], 0, True)))
    assert _collect(mode, recorder) == []
    assert len(recorder.requests) == 1


@pytest.mark.parametrize("limit", [0, 101])
def test_list_rejects_out_of_range_limit(limit: int) -> None:
    recorder = Recorder(lambda r: respond_json({}))
    with pytest.raises(ValueError, match="limit"):
        run("sync", lambda c: c.characters.list(limit=limit), recorder)
    assert recorder.requests == []


def test_empty_id_is_refused_before_sending() -> None:
    recorder = Recorder(lambda r: respond_json({}))
    with pytest.raises(ValueError, match="empty"):
        run("sync", lambda c: c.characters.get(""), recorder)
    assert recorder.requests == []


def test_async_namespaces_mirror_sync() -> None:
    import inspect

    from animus_prep.client import AsyncClient, Client

    namespaces = ("characters", "assets", "face_augmentation", "dataset", "training", "generation")
    transport = _never()
    with Client(api_key="k", transport=transport) as sync_client:
        sync_ns = {ns: type(getattr(sync_client, ns)) for ns in namespaces}
    async_client = AsyncClient(api_key="k", transport=transport)
    async_ns = {ns: type(getattr(async_client, ns)) for ns in namespaces}
    asyncio.run(async_client.aclose())
    for ns in namespaces:
        sync_methods = {n: f for n, f in vars(sync_ns[ns]).items() if not n.startswith("_")}
        async_methods = {n: f for n, f in vars(async_ns[ns]).items() if not n.startswith("_")}
        assert sync_methods.keys() == async_methods.keys(), ns
        for name, method in async_methods.items():
            assert inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method), name
            sync_params = inspect.signature(sync_methods[name]).parameters
            assert inspect.signature(method).parameters.keys() == sync_params.keys(), name


@pytest.mark.parametrize("bad", ["", ".", ".."])
def test_an_id_that_a_url_would_read_as_a_path_is_refused(bad: str) -> None:
    from animus_prep.client._endpoints import seg

    with pytest.raises(ValueError, match="id"):
        seg(bad)
    assert seg("a/../b") == "a%2F..%2Fb"
