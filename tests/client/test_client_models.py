"""Lenient parsing: unknown fields and statuses are kept, bad types never crash."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from client_support import Recorder, respond_json, run
from hypothesis import given
from hypothesis import strategies as st

from animus_prep.client import (
    Capabilities,
    Character,
    CharacterPage,
    DatasetStatus,
    Model,
    Status,
    TrainingJob,
    TrainingLogs,
    TrainingStatus,
    UploadJob,
    _models,
    normalize_status,
)

STATUS_TABLE = {
    Status.ACTIVE: [
        "queued",
        "pending",
        "starting",
        "processing",
        "running",
        "training",
        "uploading",
        "generating",
    ],
    Status.SUCCEEDED: ["completed", "succeeded", "success", "ready", "trained"],
    Status.FAILED: ["failed", "error", "timeout"],
    Status.CANCELLED: ["cancelled", "canceled"],
}


@pytest.mark.parametrize(
    ("raw", "expected"), [(raw, s) for s, raws in STATUS_TABLE.items() for raw in raws]
)
def test_contract_statuses_normalise_in_any_case(raw: str, expected: Status) -> None:
    assert normalize_status(raw) is expected
    assert normalize_status(raw.upper()) is expected
    assert normalize_status(f"  {raw.title()} ") is expected


@pytest.mark.parametrize("raw", ["warming_up", "", "done?", None])
def test_unknown_statuses_are_unknown(raw: str | None) -> None:
    assert normalize_status(raw) is Status.UNKNOWN


def test_terminal_states() -> None:
    assert {s for s in Status if s.is_terminal} == {
        Status.SUCCEEDED,
        Status.FAILED,
        Status.CANCELLED,
    }


def test_unknown_fields_and_status_are_kept(mode: str) -> None:
    payload = {
        "job_id": "j1",
        "status": "Warming_Up",
        "progress": "12.5",
        "brand_new": {"nested": [1, 2]},
    }
    recorder = Recorder(lambda r: respond_json({"training_jobs": [payload], "later": 1}))
    jobs = run(mode, lambda c: c.training.jobs("c1"), recorder)
    job = jobs.training_jobs[0]
    assert job.status == "Warming_Up"
    assert job.state is Status.UNKNOWN
    assert not (job.is_active or job.succeeded or job.failed or job.cancelled)
    assert job.progress == 12.5
    assert job.extra == {"brand_new": {"nested": [1, 2]}}
    assert job.raw["status"] == "Warming_Up"
    assert jobs.extra == {"later": 1}


def test_missing_fields_are_none() -> None:
    character = Character.from_dict({"character_id": "c1"})
    assert character.name is None and character.current_step is None
    assert character.state is Status.UNKNOWN
    assert character.extra == {}


def test_mistyped_fields_become_none_but_stay_in_raw() -> None:
    character = Character.from_dict(
        {"character_id": 12, "current_step": "three", "face_images_count": 4.0, "name": ["x"]}
    )
    assert character.character_id == "12"
    assert character.current_step is None
    assert character.face_images_count == 4
    assert character.name is None
    assert character.raw["current_step"] == "three"


def test_nested_models_and_tuples() -> None:
    status = TrainingStatus.from_dict(
        {
            "face_training": {"job_id": "f", "status": "completed"},
            "character_training": "not an object",
            "face_training_history": [{"job_id": "a"}, "junk", None, {"job_id": "b"}],
            "character_training_history": None,
        }
    )
    assert isinstance(status.face_training, TrainingJob) and status.face_training.succeeded
    assert status.character_training is None
    assert [j.job_id for j in status.face_training_history] == ["a", "b"]
    assert status.character_training_history == ()


@pytest.mark.parametrize(
    ("logs", "expected"),
    [("a\nb\n", ("a", "b")), (["a", "b"], ("a", "b")), (None, ()), (7, ())],
)
def test_logs_as_string_or_list(logs: Any, expected: tuple[str, ...]) -> None:
    parsed = TrainingLogs.from_dict({"logs": logs, "lines": 100})
    assert parsed.log_lines == expected and parsed.line_count == 100
    assert "logs" not in parsed.extra and "lines" not in parsed.extra


@pytest.mark.parametrize(
    ("value", "expected"), [(True, True), ("false", False), (1, True), ("maybe", None)]
)
def test_bool_coercion(value: Any, expected: bool | None) -> None:
    assert DatasetStatus.from_dict({"generation_complete": value}).generation_complete is expected


def test_models_are_frozen_and_compare_by_fields() -> None:
    a = UploadJob.from_dict({"job_id": "u", "status": "queued", "x": 1})
    b = UploadJob.from_dict({"job_id": "u", "status": "queued", "x": 2})
    assert a == b
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.job_id = "v"  # type: ignore[misc]


def test_raw_is_hidden_from_repr() -> None:
    job = UploadJob.from_dict({"job_id": "u", "secret_looking": "zzz"})
    assert "zzz" not in repr(job) and "job_id='u'" in repr(job)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=10,
)
MODELS = [getattr(_models, name) for name in _models.__all__]


@given(model=st.sampled_from(MODELS), data=JSON, fields=st.data())
def test_parsing_never_crashes(model: type[Model], data: Any, fields: st.DataObject) -> None:
    names = [f.name for f in dataclasses.fields(model)]
    payload = fields.draw(st.dictionaries(st.sampled_from(names), JSON, max_size=len(names)))
    assert isinstance(model.from_dict(data), model)
    parsed = model.from_dict(payload)
    assert parsed.raw == payload


def test_capabilities_lora_states() -> None:
    caps = Capabilities.from_dict({"face_lora": {"status": "READY", "v": 2}, "body_lora": None})
    assert caps.face_lora is not None and caps.face_lora.succeeded
    assert caps.face_lora.extra == {"v": 2}
    assert caps.body_lora is None


def test_character_page_pagination() -> None:
    page = CharacterPage.from_dict({"characters": [{"character_id": "x"}], "pagination": None})
    assert page.pagination is None and page.characters[0].character_id == "x"
