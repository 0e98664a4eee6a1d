"""Waiters: bounded by timeout, paced by interval, reporting progress, never sleeping."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from client_support import Recorder, respond_json, run

from animus_prep.client import (
    Capabilities,
    DatasetStatus,
    GenerationStatus,
    NotFoundError,
    ServerError,
    Status,
    TrainingProgress,
    UploadJob,
    WaitTimeoutError,
)
from animus_prep.client.testing import FakeClock


def sequence(*payloads: dict[str, Any]) -> Callable[[httpx.Request], httpx.Response]:
    """Answer with each payload in turn, repeating the last one."""
    items = list(payloads)

    def handler(request: httpx.Request) -> httpx.Response:
        return respond_json(items.pop(0) if len(items) > 1 else items[0])

    return handler


def test_wait_for_dataset(mode: str) -> None:
    recorder = Recorder(
        sequence(
            {"dataset_status": "generating", "total_images": 3, "generation_complete": False},
            {"dataset_status": "generating", "total_images": 9, "generation_complete": False},
            {"dataset_status": "pending_review", "total_images": 20, "generation_complete": True},
        )
    )
    seen: list[DatasetStatus] = []
    clock = FakeClock()
    result = run(
        mode,
        lambda c: c.dataset.wait_until_generated("c1", interval=5, on_progress=seen.append),
        recorder,
        clock=clock,
    )
    assert result.generation_complete is True and result.total_images == 20
    assert [s.total_images for s in seen] == [3, 9, 20]
    assert clock.sleeps == [5, 5]
    assert set(recorder.paths) == {"/v2/c1/dataset/status"}


def test_wait_for_dataset_times_out_with_last_state(mode: str) -> None:
    recorder = Recorder(sequence({"dataset_status": "generating", "total_images": 4}))
    clock = FakeClock()
    with pytest.raises(WaitTimeoutError) as info:
        run(
            mode,
            lambda c: c.dataset.wait_until_generated("c1", timeout=25, interval=10),
            recorder,
            clock=clock,
        )
    err = info.value
    assert isinstance(err.last, DatasetStatus) and err.last.total_images == 4
    assert err.timeout == 25 and err.elapsed == 25
    assert clock.sleeps == [10, 10, 5]  # the last pause is trimmed to the deadline
    assert len(recorder.requests) == 4
    assert "dataset generation of character c1" in str(err)


def test_wait_for_dataset_stops_on_failure(mode: str) -> None:
    recorder = Recorder(sequence({"dataset_status": "FAILED", "generation_complete": False}))
    result = run(mode, lambda c: c.dataset.wait_until_generated("c1"), recorder)
    assert result.state is Status.FAILED and len(recorder.requests) == 1


def test_wait_for_upload_job(mode: str) -> None:
    recorder = Recorder(
        sequence(
            {"job_id": "u1", "status": "processing", "completed_images": 1},
            {"job_id": "u1", "status": "completed", "completed_images": 4},
        )
    )
    seen: list[UploadJob] = []
    result = run(
        mode,
        lambda c: c.face_augmentation.wait("u1", interval=2, on_progress=seen.append),
        recorder,
    )
    assert result.succeeded and result.completed_images == 4
    assert [j.status for j in seen] == ["processing", "completed"]
    assert recorder.paths == ["/v2/upload-job/u1/status"] * 2


def test_wait_for_upload_job_keeps_polling_unknown_status(mode: str) -> None:
    recorder = Recorder(sequence({"status": "thinking"}, {"status": "error", "error": "boom"}))
    result = run(mode, lambda c: c.face_augmentation.wait("u1"), recorder)
    assert result.failed and result.error == "boom"
    assert len(recorder.requests) == 2


def training_server(states: list[dict[str, Any]], logs: list[Any]) -> Recorder:
    jobs = list(states)
    tails = list(logs)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/c1/training/jobs":
            job = jobs.pop(0) if len(jobs) > 1 else jobs[0]
            other = {"job_id": "other", "status": "failed"}
            return respond_json({"training_jobs": [other, job] if job else [other]})
        if request.url.path == "/v2/c1/training/jobs/t1/logs":
            tail = tails.pop(0) if len(tails) > 1 else tails[0]
            if tail is None:
                return respond_json({"detail": "no logs yet"}, 404)
            return respond_json({"job_id": "t1", "logs": tail})
        return respond_json({"detail": "unexpected"}, 500)

    return Recorder(handler)


def test_wait_for_training_reports_phase_eta_and_logs(mode: str) -> None:
    recorder = training_server(
        [
            {},
            {"job_id": "t1", "status": "starting"},
            {"job_id": "t1", "status": "training", "training_phase": "train", "eta_minutes": 12},
            {"job_id": "t1", "status": "completed", "progress": 100},
        ],
        [None, ["step 1", "step 2", "step 3"], "done"],
    )
    seen: list[TrainingProgress] = []
    result = run(
        mode,
        lambda c: c.training.wait("c1", "t1", log_lines=2, on_progress=seen.append),
        recorder,
    )
    assert result.state is Status.SUCCEEDED and result.progress == 100
    assert [p.state for p in seen] == [
        Status.UNKNOWN,
        Status.ACTIVE,
        Status.ACTIVE,
        Status.SUCCEEDED,
    ]
    assert seen[2].phase == "train" and seen[2].eta_minutes == 12
    assert seen[2].log_lines == ("step 2", "step 3")  # only the last lines
    assert seen[0].job is None and seen[0].log_lines == ()
    assert seen[1].log_lines == ()  # logs answered 404 before the trainer wrote any
    assert seen[3].log_lines == ("done",)
    logs_requests = [r for r in recorder.requests if r.url.path.endswith("/logs")]
    assert {r.url.params["lines"] for r in logs_requests} == {"2"}
    assert len(logs_requests) == 3  # none while the job was not listed yet


def test_wait_for_training_tolerates_missing_logs(mode: str) -> None:
    recorder = training_server([{"job_id": "t1", "status": "cancelled"}], [None])
    result = run(mode, lambda c: c.training.wait("c1", "t1"), recorder)
    assert result.state is Status.CANCELLED and result.log_lines == ()


def test_wait_for_training_timeout_carries_progress(mode: str) -> None:
    recorder = training_server([{"job_id": "t1", "status": "training"}], ["still going"])
    with pytest.raises(WaitTimeoutError) as info:
        run(mode, lambda c: c.training.wait("c1", "t1", timeout=60, interval=30), recorder)
    last = info.value.last
    assert isinstance(last, TrainingProgress)
    assert last.log_lines == ("still going",) and last.state is Status.ACTIVE


def test_wait_until_generation_ready(mode: str) -> None:
    recorder = Recorder(
        sequence(
            {"face_lora": {"status": "training"}, "generation_ready": False},
            {"face_lora": {"status": "ready"}, "body_lora": {"status": "ready"}},
            {"generation_ready": True},
        )
    )
    seen: list[Capabilities] = []
    result = run(
        mode, lambda c: c.generation.wait_until_ready("c1", on_progress=seen.append), recorder
    )
    assert result.generation_ready is True and len(seen) == 3
    assert recorder.paths == ["/v2/c1/generation/capabilities"] * 3


def test_wait_until_ready_stops_when_a_lora_failed(mode: str) -> None:
    recorder = Recorder(sequence({"face_lora": {"status": "failed"}, "generation_ready": False}))
    result = run(mode, lambda c: c.generation.wait_until_ready("c1"), recorder)
    assert result.generation_ready is False and result.face_lora.failed
    assert len(recorder.requests) == 1


def test_wait_for_generation(mode: str) -> None:
    recorder = Recorder(
        sequence(
            {"status": "generating", "progress": 50}, {"status": "success", "result_urls": ["u"]}
        )
    )
    result = run(mode, lambda c: c.generation.wait("g1"), recorder)
    assert isinstance(result, GenerationStatus) and result.result_urls == ("u",)


def test_zero_timeout_polls_once(mode: str) -> None:
    recorder = Recorder(sequence({"status": "queued"}))
    with pytest.raises(WaitTimeoutError):
        run(mode, lambda c: c.generation.wait("g1", timeout=0), recorder)
    assert len(recorder.requests) == 1


def test_invalid_wait_bounds() -> None:
    recorder = Recorder(sequence({}))
    with pytest.raises(ValueError, match="interval"):
        run("sync", lambda c: c.generation.wait("g1", interval=0), recorder)
    assert recorder.requests == []


def outage(failures: int, then: list[dict[str, Any]], status: int = 503) -> Recorder:
    """A server down for ``failures`` requests (``status``, or a reset for 0), then
    answering each of ``then`` in turn."""
    left = [failures]
    answers = sequence(*then)

    def handler(request: httpx.Request) -> httpx.Response:
        if left[0] > 0:
            left[0] -= 1
            if status == 0:
                raise httpx.ReadError("connection reset by peer", request=request)
            return respond_json({"detail": "down"}, status)
        return answers(request)

    return Recorder(handler)


@pytest.mark.parametrize("status", [0, 500, 503, 429])
def test_a_failed_poll_does_not_end_the_wait(mode: str, status: int) -> None:
    # Seven failures in a row outlast one poll's three attempts twice over.
    recorder = outage(
        7,
        [{"dataset_status": "reviewing", "total_images": 20, "generation_complete": True}],
        status,
    )
    seen: list[DatasetStatus] = []
    clock = FakeClock()
    result = run(
        mode,
        lambda c: c.dataset.wait_until_generated("c1", interval=10, on_progress=seen.append),
        recorder,
        clock=clock,
    )
    assert result.generation_complete is True
    assert len(recorder.requests) == 8 and len(seen) == 1
    assert clock.sleeps.count(10) == 2  # two failed polls, each followed by the interval


def test_a_wait_that_never_got_an_answer_raises_the_last_error(mode: str) -> None:
    recorder = outage(10_000, [{}], status=503)
    clock = FakeClock()
    with pytest.raises(ServerError):
        run(
            mode,
            lambda c: c.dataset.wait_until_generated("c1", timeout=120, interval=10),
            recorder,
            clock=clock,
        )
    assert clock.now >= 120  # it kept polling to the end of the wait


def test_a_wait_that_ends_in_an_outage_reports_the_last_state(mode: str) -> None:
    first = {"dataset_status": "generating", "total_images": 4}
    answers = iter([respond_json(first)])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers, None) or respond_json({"detail": "down"}, 502)

    clock = FakeClock()
    with pytest.raises(WaitTimeoutError) as info:
        run(
            mode,
            lambda c: c.dataset.wait_until_generated("c1", timeout=100, interval=10),
            Recorder(handler),
            clock=clock,
        )
    assert isinstance(info.value.last, DatasetStatus) and info.value.last.total_images == 4
    assert info.value.failed_polls >= 1
    assert isinstance(info.value.__cause__, ServerError)


def test_an_error_asking_again_cannot_cure_ends_the_wait(mode: str) -> None:
    recorder = outage(1, [{}], status=404)
    with pytest.raises(NotFoundError):
        run(mode, lambda c: c.dataset.wait_until_generated("c1"), recorder)
    assert len(recorder.requests) == 1


def test_a_failed_log_read_does_not_fail_the_training_poll(mode: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/logs"):
            return respond_json({"detail": "down"}, 503)
        return respond_json({"training_jobs": [{"job_id": "t1", "status": "succeeded"}]})

    result = run(mode, lambda c: c.training.wait("c1", "t1"), Recorder(handler))
    assert result.state is Status.SUCCEEDED and result.log_lines == ()
