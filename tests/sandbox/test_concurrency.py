"""Parallel requests against a served sandbox: a paid start is charged once, whatever races.

Each round fires the same request from many threads at once (a barrier releases them
together, each thread on its own connection) and then checks the database: exactly one
job and one charge per round, every other request refused with 409.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from animus_prep.sandbox import PRICE_FACE_LORA, close_app, create_app, serve_in_thread

from .support import (
    KEY,
    FakeClock,
    api_client,
    approve_all,
    generate_dataset,
    make_character,
)

ROUNDS = 20
PARALLEL = 30
CREDITS = 5000.0


@pytest.fixture
def served(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[FastAPI, str]]:
    app = create_app(
        data_dir=tmp_path / "data", api_keys={KEY: CREDITS}, seed=3, defect_rate=0.0, clock=clock
    )
    try:
        with serve_in_thread(app) as base_url:
            yield app, base_url
    finally:
        close_app(app)


def _database(app: FastAPI) -> sqlite3.Connection:
    path = app.state.sandbox.store.path
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def _fire(clients: list[httpx.Client], send: Callable[[httpx.Client], httpx.Response]) -> list[int]:
    """Send one request from every client at the same moment; the status codes."""
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = [0] * len(clients)

    def one(i: int) -> None:
        barrier.wait()
        statuses[i] = send(clients[i]).status_code

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return statuses


@pytest.fixture
def clients(served: tuple[FastAPI, str]) -> Iterator[list[httpx.Client]]:
    opened = [api_client(served[1]) for _ in range(PARALLEL)]
    try:
        yield opened
    finally:
        for c in opened:
            c.close()


def test_parallel_training_starts_charge_once_per_round(
    served: tuple[FastAPI, str], clients: list[httpx.Client], clock: FakeClock
) -> None:
    app, _ = served
    setup = clients[0]
    cid = make_character(setup)
    approve_all(setup, cid, generate_dataset(setup, clock, cid, n=10))
    doubled = []
    for n in range(ROUNDS):
        statuses = _fire(clients, lambda c: c.post(f"/{cid}/training/face-lora"))
        assert set(statuses) <= {200, 409}, statuses
        if statuses.count(200) != 1:
            doubled.append((n, statuses.count(200)))
        clock.advance(10_000)  # the round's training ends; the next round may start one
    with _database(app) as db:
        jobs = db.execute(
            "SELECT COUNT(*) FROM jobs WHERE character_id = ? AND kind = 'face_lora'", (cid,)
        ).fetchone()[0]
        charges = db.execute("SELECT COUNT(*) FROM ledger WHERE reason = 'face_lora'").fetchone()[0]
        balance = db.execute("SELECT balance_cents FROM orgs").fetchone()[0] / 100
    assert doubled == [], f"rounds (index, starts) with more than one start: {doubled}"
    assert jobs == charges == ROUNDS
    assert balance == CREDITS - ROUNDS * PRICE_FACE_LORA


def test_parallel_dataset_generations_start_one_job_per_round(
    served: tuple[FastAPI, str], clients: list[httpx.Client], clock: FakeClock
) -> None:
    app, _ = served
    cid = make_character(clients[0])
    doubled = []
    for n in range(ROUNDS):
        body = {"prompts": [f"p{n}"]}
        statuses = _fire(clients, lambda c, b=body: c.post(f"/{cid}/dataset/generate", json=b))
        assert set(statuses) <= {200, 409}, statuses
        if statuses.count(200) != 1:
            doubled.append((n, statuses.count(200)))
        clock.advance(3600)  # the round's render is due; the next round may regenerate
    with _database(app) as db:
        jobs = db.execute(
            "SELECT COUNT(*) FROM jobs WHERE character_id = ? AND kind = 'dataset'", (cid,)
        ).fetchone()[0]
        images = db.execute(
            "SELECT COUNT(*) FROM dataset_images WHERE character_id = ?", (cid,)
        ).fetchone()[0]
    assert doubled == [], f"rounds (index, starts) with more than one start: {doubled}"
    assert jobs == ROUNDS
    assert images == 1


def test_parallel_generations_after_training_are_each_charged_once(
    served: tuple[FastAPI, str], clients: list[httpx.Client], clock: FakeClock
) -> None:
    # Generations have no "already running" rule: every request is its own paid job.
    # The race to guard is between the charge and the job row (one of each per 200).
    app, _ = served
    setup = clients[0]
    cid = make_character(setup)
    approve_all(setup, cid, generate_dataset(setup, clock, cid, n=10))
    assert setup.post(f"/{cid}/training/face-lora").status_code == 200
    assert setup.post(f"/{cid}/training/body-lora").status_code == 200
    clock.advance(10_000)
    body = {"prompt": "x", "character_id": cid, "num_images": 1}
    statuses = _fire(clients, lambda c: c.post("/generation/create", json=body))
    with _database(app) as db:
        jobs = db.execute("SELECT COUNT(*) FROM jobs WHERE kind = 'generation'").fetchone()[0]
        charges = db.execute("SELECT COUNT(*) FROM ledger WHERE reason = 'generation'").fetchone()[
            0
        ]
    assert statuses == [200] * PARALLEL
    assert jobs == charges == PARALLEL


def test_parallel_face_augmentations_respect_the_face_cap(
    served: tuple[FastAPI, str], clients: list[httpx.Client]
) -> None:
    # 5 faces + 8 queued fit under the cap of 20; a second batch of 8 would not. Every
    # accepted request is charged, so the cap must be checked with the charge.
    app, _ = served
    cid = make_character(clients[0])
    body = {"source_image_url": "https://example.invalid/face.jpg"}
    statuses = _fire(
        clients, lambda c: c.post(f"/characters/{cid}/auto-generate-face-images", json=body)
    )
    with _database(app) as db:
        jobs = db.execute(
            "SELECT COUNT(*) FROM jobs WHERE character_id = ? AND kind = 'face_augment'", (cid,)
        ).fetchone()[0]
        charges = db.execute(
            "SELECT COUNT(*) FROM ledger WHERE reason = 'face_augmentation'"
        ).fetchone()[0]
    assert sorted(statuses) == [200] + [400] * (PARALLEL - 1)
    assert jobs == charges == 1


def test_parallel_gets_on_a_start_route_start_one_job(
    served: tuple[FastAPI, str], clients: list[httpx.Client], clock: FakeClock
) -> None:
    app, _ = served
    setup = clients[0]
    cid = make_character(setup)
    approve_all(setup, cid, generate_dataset(setup, clock, cid, n=10))
    for _ in range(3):
        statuses = _fire(clients, lambda c: c.get(f"/{cid}/training/body-lora"))
        assert statuses == [200] * PARALLEL
        clock.advance(10_000)
    with _database(app) as db:
        charges = db.execute("SELECT COUNT(*) FROM ledger WHERE reason = 'body_lora'").fetchone()[0]
    assert charges == 1
