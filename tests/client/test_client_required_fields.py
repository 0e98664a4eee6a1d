"""A 200 answer without the field it exists for is an error, never a model of Nones.

Unknown and extra fields stay lenient: only the ids of created things, the lists that
were asked for and the statuses that waiters poll are required.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from client_support import Recorder, run
from hypothesis import given
from hypothesis import strategies as st

from animus_prep.client import APIResponseValidationError, Model, _models
from animus_prep.client._parse import missing_field

Action = Callable[[Any], Any]


# A call that cannot be resent blindly reads the state it starts from first; that read is
# answered properly, so the answer under test is the call's own.
STATE_READS = {"/v2/c1/dataset/status": {"character_id": "c1", "dataset_status": "pending"}}


def answer(body: Any, reads: dict[str, Any] | None = None) -> Recorder:
    """Answer 200 with `body` as JSON (`None` is the JSON null, not no body), but for the
    state reads a creating call makes before it is sent."""
    headers = {"content-type": "application/json"}

    def respond(request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode()
        if request.method == "GET" and path in (reads or {}):
            state = json.dumps((reads or {})[path]).encode()
            return httpx.Response(200, content=state, headers=headers)
        return httpx.Response(200, content=json.dumps(body).encode(), headers=headers)

    return Recorder(respond)


# (call, the field its answer must carry)
CALLS: dict[str, tuple[Action, str]] = {
    "create-character": (lambda c: c.characters.create("Chloe"), "character_id"),
    "get-character": (lambda c: c.characters.get("c1"), "character_id"),
    "update-character": (lambda c: c.characters.update("c1", name="C"), "character_id"),
    "list-characters": (lambda c: c.characters.list(), "characters"),
    "upload-face": (
        lambda c: c.assets.upload_face("c1", b"\xff\xd8x", filename="a.jpg"),
        "asset_id",
    ),
    "list-assets": (lambda c: c.assets.list("c1"), "assets"),
    "augment": (lambda c: c.face_augmentation.create("c1", "https://x/a.jpg"), "job_id"),
    "augment-status": (lambda c: c.face_augmentation.job_status("u1"), "status"),
    "generate-dataset": (lambda c: c.dataset.generate("c1"), "job_id"),
    "dataset-status": (lambda c: c.dataset.status("c1"), "dataset_status"),
    "dataset-images": (lambda c: c.dataset.images("c1"), "images"),
    "start-face": (lambda c: c.training.start_face_lora("c1"), "job_id"),
    "start-body": (lambda c: c.training.start_body_lora("c1"), "job_id"),
    "training-jobs": (lambda c: c.training.jobs("c1"), "training_jobs"),
    "create-generation": (lambda c: c.generation.create("c1", "a beach"), "generation_id"),
    "generation-status": (lambda c: c.generation.status("g1"), "status"),
}


@pytest.mark.parametrize("body", [{}, None, [], "ok", 7], ids=["{}", "null", "[]", "str", "num"])
@pytest.mark.parametrize("name", CALLS)
def test_an_answer_without_its_field_is_an_api_error(mode: str, name: str, body: Any) -> None:
    action, field = CALLS[name]
    recorder = answer(body, STATE_READS if name == "generate-dataset" else None)
    with pytest.raises(APIResponseValidationError) as info:
        run(mode, action, recorder)
    error = info.value
    assert error.status_code == 200
    # A success came back: a call that acts has acted, and must not be sent blindly again.
    assert error.may_have_run is any(r.method == "POST" for r in recorder.requests)
    if isinstance(body, dict):
        assert error.field == field
        assert repr(field) in str(error)
    else:
        assert "expected a JSON object" in str(error)


@pytest.mark.parametrize("name", ["create-character", "start-face", "generation-status"])
@pytest.mark.parametrize("empty", ["", None, {}, []], ids=["empty", "null", "object", "array"])
def test_an_empty_or_mistyped_value_counts_as_missing(mode: str, name: str, empty: Any) -> None:
    action, field = CALLS[name]
    with pytest.raises(APIResponseValidationError) as info:
        run(mode, action, answer({field: empty}))
    assert info.value.field == field


def test_a_malformed_answer_is_not_retried(mode: str) -> None:
    recorder = answer({})
    with pytest.raises(APIResponseValidationError):
        run(mode, lambda c: c.characters.get("c1"), recorder, max_retries=3)
    assert len(recorder.requests) == 1


def test_a_nested_item_without_its_id_is_named_by_its_path(mode: str) -> None:
    listing = {"assets": [{"asset_id": "a1"}, {"filename": "x.jpg"}], "total": 2}
    with pytest.raises(APIResponseValidationError) as info:
        run(mode, lambda c: c.assets.list("c1"), answer(listing))
    assert info.value.field == "assets[1].asset_id"
    status = {"face_training": {"status": "training"}, "character_training": None}
    with pytest.raises(APIResponseValidationError) as info:
        run(mode, lambda c: c.training.status("c1"), answer(status))
    assert info.value.field == "face_training.job_id"


def test_lenient_models_need_an_object_but_no_field(mode: str) -> None:
    assert run(mode, lambda c: c.dataset.approve("c1"), answer({}))
    with pytest.raises(APIResponseValidationError, match="expected a JSON object, got null"):
        run(mode, lambda c: c.dataset.approve("c1"), answer(None))
    # An empty body (e.g. 204 to a DELETE) is an empty object, as before.
    done = run(mode, lambda c: c.characters.delete("c1"), Recorder(lambda r: httpx.Response(204)))
    assert done.raw == {}


def test_extra_fields_stay_lenient(mode: str) -> None:
    payload = {"job_id": "j1", "brand_new": {"x": 1}, "credits_deducted": "30"}
    start = run(mode, lambda c: c.training.start_face_lora("c1"), answer(payload))
    assert start.job_id == "j1" and start.credits_deducted == 30.0
    assert start.extra == {"brand_new": {"x": 1}}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=10,
)
MODELS = [getattr(_models, name) for name in _models.__all__]


@given(model=st.sampled_from(MODELS), fields=st.data())
def test_missing_field_never_crashes_and_names_a_required_path(
    model: type[Model], fields: st.DataObject
) -> None:
    keys = [f.metadata.get("key", f.name) for f in dataclasses.fields(model)]
    payload = fields.draw(st.dictionaries(st.sampled_from(keys), JSON, max_size=len(keys)))
    missing = missing_field(model.from_dict(payload))
    # The path's last step names the field: "job_id", "assets[2].asset_id" -> "asset_id".
    assert missing is None or missing.rsplit(".", 1)[-1].split("[")[0] in {
        *model.required_fields,
        *(f for m in MODELS for f in m.required_fields),
    }


def test_missing_field_inside_a_list_names_its_full_path() -> None:
    status = _models.TrainingStatus.from_dict({"face_training_history": [{}]})
    assert missing_field(status) == "face_training_history[0].job_id"


@pytest.mark.parametrize("value", [None, {"id": 1}, ["c1"], True])
def test_an_id_typed_str_is_never_none(value: Any) -> None:
    # Built by hand from an answer without a usable id, a model holds "" there (its type
    # says str), and missing_field still names it.
    character = _models.Character.from_dict({"character_id": value, "name": "Chloe"})
    assert character.character_id == "" and character.name == "Chloe"
    assert missing_field(character) == "character_id"
    # An optional field given a mistyped value still becomes None.
    assert _models.Character.from_dict({"character_id": "c1", "name": ["x"]}).name is None
    assert _models.TrainingJob.from_dict({}).job_id == ""
