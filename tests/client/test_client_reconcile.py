"""Creating calls whose answer was lost: the server's state decides whether to resend.

Each test prepares a character on an in-process sandbox, then serves the same data over
HTTP with one seeded fault on the call under test: ``lost`` (the server acts, the answer
never arrives) or ``reset`` (the connection drops before the server acts). The client
must end with the call done exactly once: never charged, rendered or regenerated twice,
and never stopped by a 409 from its own earlier attempt.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sandbox_support import CREDITS, KEY, START, Exchange, aw, run, seed_where

from animus_prep.client import RetryPolicy
from animus_prep.client.testing import FakeClock
from animus_prep.sandbox import close_app, create_app, serve_in_thread
from photos import textured

PATIENT = RetryPolicy(attempts=6, initial_wait=0.01, max_wait=0.05, timeout=60)


async def character(c: Any, faces: int = 5) -> str:
    cid: str = (await aw(c.characters.create("Chloe"))).character_id
    for i in range(faces):
        await aw(c.assets.upload_face(cid, textured(100 + i), filename=f"face-{i}.jpg"))
    await aw(
        c.assets.upload_body(cid, textured(200), filename="body.jpg", image_type="body_image_front")
    )
    return cid


async def rendered(c: Any) -> str:
    cid = await character(c)
    await aw(c.dataset.generate(cid, prompts=[f"pose {i}" for i in range(10)]))
    await aw(c.dataset.wait_until_generated(cid, interval=10, timeout=600))
    return cid


async def reviewed(c: Any) -> str:
    cid = await rendered(c)
    for image in (await aw(c.dataset.images(cid))).images:
        await aw(c.dataset.approve_image(cid, image.image_id))
    return cid


async def approved(c: Any) -> str:
    cid = await reviewed(c)
    await aw(c.dataset.approve(cid))
    return cid


def with_fault(
    tmp_path: Path,
    prepare: Callable[[Any], Any],
    scenario: Callable[[Any, str], Any],
    fault: str,
    pattern: list[bool],
) -> tuple[Any, list[Exchange]]:
    """Prepare state without faults, then run ``scenario(client, cid)`` over HTTP where
    the requests meet ``fault`` as ``pattern`` says (True: this request is hit)."""
    clock = FakeClock(START)  # the sandbox's time stands still: jobs stay where they are
    keys = {KEY: CREDITS}
    setup = create_app(data_dir=tmp_path, api_keys=keys, clock=clock)
    try:
        cid = run("sync", prepare, app=setup, clock=clock)
    finally:
        close_app(setup)
    spec = f"{fault}:0.5"
    app = create_app(
        data_dir=tmp_path, api_keys=keys, clock=clock, faults=spec, seed=seed_where(spec, pattern)
    )
    log: list[Exchange] = []

    async def go(c: Any) -> Any:
        return await scenario(c, cid)

    try:
        with serve_in_thread(app) as url:
            result = run("sync", go, base_url=url, clock=FakeClock(), retry=PATIENT, log=log)
    finally:
        close_app(app)
    return result, log


def charges(tmp_path: Path, reason: str) -> int:
    with sqlite3.connect(tmp_path / "sandbox.sqlite3") as db:
        (n,) = db.execute("SELECT COUNT(*) FROM ledger WHERE reason = ?", (reason,)).fetchone()
    db.close()
    return int(n)


def posts(log: list[Exchange]) -> list[Exchange]:
    return [e for e in log if e.method == "POST"]


# Starting a training: read the latest job, post (hit), read again [, post again].
@pytest.mark.parametrize(
    ("fault", "pattern", "sent"),
    [("lost", [False, True, False], 1), ("reset", [False, True, False, False], 2)],
)
def test_a_training_start_is_charged_once(
    tmp_path: Path, fault: str, pattern: list[bool], sent: int
) -> None:
    async def start(c: Any, cid: str) -> Any:
        return await aw(c.training.start_face_lora(cid))

    result, log = with_fault(tmp_path, approved, start, fault, pattern)
    assert len(posts(log)) == sent
    assert not isinstance(posts(log)[0].outcome, int)  # the first answer never came
    assert charges(tmp_path, "face_lora") == 1
    with sqlite3.connect(tmp_path / "sandbox.sqlite3") as db:
        (job_id,) = db.execute("SELECT job_id FROM jobs WHERE kind = 'face_lora'").fetchone()
    db.close()
    assert result.success is True and result.job_id == job_id


@pytest.mark.parametrize(
    ("fault", "pattern", "sent"),
    [("lost", [False, True, False], 1), ("reset", [False, True, False, False], 2)],
)
def test_the_dataset_is_rendered_once(
    tmp_path: Path, fault: str, pattern: list[bool], sent: int
) -> None:
    async def generate(c: Any, cid: str) -> Any:
        return await aw(c.dataset.generate(cid))

    result, log = with_fault(tmp_path, character, generate, fault, pattern)
    assert len(posts(log)) == sent
    assert result.success is True and result.total_images == 20
    with sqlite3.connect(tmp_path / "sandbox.sqlite3") as db:
        (jobs,) = db.execute("SELECT COUNT(*) FROM jobs WHERE kind = 'dataset'").fetchone()
    db.close()
    assert jobs == 1  # a second request would have thrown the renders away and started over


@pytest.mark.parametrize(
    ("fault", "pattern", "sent"),
    [("lost", [True, False], 1), ("reset", [True, False, False], 2)],
)
def test_a_dataset_approval_whose_answer_was_lost_is_not_refused_by_itself(
    tmp_path: Path, fault: str, pattern: list[bool], sent: int
) -> None:
    async def approve(c: Any, cid: str) -> Any:
        return await aw(c.dataset.approve(cid))

    result, log = with_fault(tmp_path, reviewed, approve, fault, pattern)
    assert len(posts(log)) == sent
    assert 409 not in [e.outcome for e in log]
    assert result.success is True and result.approved_images == 10


@pytest.mark.parametrize(
    ("fault", "pattern", "sent"),
    [("lost", [False, True, False], 1), ("reset", [False, True, False, False], 2)],
)
def test_a_render_is_regenerated_once(
    tmp_path: Path, fault: str, pattern: list[bool], sent: int
) -> None:
    async def regenerate(c: Any, cid: str) -> Any:
        image = (await aw(c.dataset.images(cid))).images[0]
        return await aw(c.dataset.regenerate_image(cid, image.image_id, last_seen=image))

    result, log = with_fault(tmp_path, rendered, regenerate, fault, pattern)
    assert len(posts(log)) == sent
    assert result.success is True
    with sqlite3.connect(tmp_path / "sandbox.sqlite3") as db:
        counts = [n for (n,) in db.execute("SELECT regenerated FROM dataset_images")]
    db.close()
    assert sorted(counts) == [0] * 9 + [1]
