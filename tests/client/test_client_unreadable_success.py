"""A success whose answer cannot be read (a proxy's HTML page): the call ran.

A call that acts is never sent again for it, even when the server's state does not show
its effect yet; a call idempotent by itself is. A failure while settling is never taken
for a refusal of the call.
"""

from __future__ import annotations

from typing import Any

import httpx
from client_support import Recorder, run

from animus_prep.client import APIResponseValidationError, BadRequestError


def page() -> httpx.Response:
    """A proxy's page in place of the server's answer (a fresh response each time)."""
    return httpx.Response(
        200, content=b"<html>Bad gateway</html>", headers={"content-type": "text/html"}
    )


NO_TRAINING = {"character_id": "c1", "face_training": None, "character_training": None}


def test_a_paid_start_answered_by_a_page_is_never_sent_again_while_its_job_lags(
    mode: str,
) -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return page()
        return httpx.Response(200, json=NO_TRAINING)  # the new job is not listed yet

    recorder = Recorder(respond)
    try:
        run(mode, lambda c: c.training.start_face_lora("c1"), recorder)
    except APIResponseValidationError as error:
        assert error.may_have_run is True
    else:
        raise AssertionError("an unreadable answer must not pass for a start")
    assert [r.method for r in recorder.requests].count("POST") == 1


def test_a_failure_while_settling_a_call_that_ran_is_not_a_refusal(mode: str) -> None:
    posted: list[bool] = []

    def respond(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            posted.append(True)
            return page()
        if posted:
            return httpx.Response(400, json={"detail": "cannot list trainings now"})
        return httpx.Response(200, json=NO_TRAINING)

    try:
        run(mode, lambda c: c.training.start_face_lora("c1"), Recorder(respond))
    except APIResponseValidationError as error:
        assert error.may_have_run is True  # the start ran; the 400 was the status read's
    except BadRequestError as error:  # pragma: no cover - the defect this guards against
        raise AssertionError(f"taken for a refusal: {error}") from error
    else:
        raise AssertionError("an unreadable answer must not pass for a start")


def test_a_read_answered_by_a_page_once_is_read_again(mode: str) -> None:
    answers = [page(), httpx.Response(200, json={"character_id": "c1", "name": "Chloe"})]
    recorder = Recorder(lambda request: answers.pop(0))
    got: Any = run(mode, lambda c: c.characters.get("c1"), recorder)
    assert got.name == "Chloe" and len(recorder.requests) == 2
